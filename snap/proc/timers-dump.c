// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX timers. snap lists them from /proc/PID/timers (id, clock, sigevent)
 * and finds which have their signal queued (PTRACE_PEEKSIGINFO); the
 * parasite reads what only the process can: timer_gettime(), the overrun.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "log.h"
#include "proc/proc.h"
#include "proc/procstate.h"

#define SIGINFO_SIZE 128
#define PEEK_BATCH   64

/* "ID:", "signal: SIGNO/SIGVAL", "notify: KIND/pid.N" or "/tid.N", "ClockID:". */
static int parse_timer_line(const char *line, struct parasite_timers *m, pid_t pid)
{
	struct parasite_timer *t = m->nr ? &m->t[m->nr - 1] : NULL;
	char kind[16], who[8];
	unsigned long long val;
	int n;

	if (sscanf(line, "ID: %d", &n) == 1) {
		if (m->nr == PARASITE_MAX_TIMERS) {
			pr_err("pid %d has more than %d POSIX timers", pid, PARASITE_MAX_TIMERS);
			return -1;
		}
		t = &m->t[m->nr++];
		memset(t, 0, sizeof(*t));
		t->id = n;
	} else if (!t) {
		return 0;
	} else if (sscanf(line, "signal: %d/%llx", &n, &val) == 2) {
		t->signo = n;
		t->sigval = val;
	} else if (sscanf(line, "notify: %15[a-z]/%7[a-z].%d", kind, who, &n) == 3) {
		if (!strcmp(kind, "none")) {
			t->notify = SIGEV_NONE;
		} else if (!strcmp(kind, "signal")) {
			t->notify = SIGEV_SIGNAL;
		} else {
			pr_err("pid %d: POSIX timer %d notifies by %s; only signal and none are "
			       "supported",
			       pid, t->id, kind);
			return -1;
		}
		if (!strcmp(who, "tid")) {
			t->notify |= SIGEV_THREAD_ID;
			t->notify_tid = n;
		}
	} else if (sscanf(line, "ClockID: %d", &n) == 1) {
		/* Negative ids are the CPU clocks of other processes and threads. */
		if (n < 0) {
			pr_err("pid %d: POSIX timer %d runs on clock %d (a CPU clock of a given "
			       "process or thread), which cannot be restored yet",
			       pid, t->id, n);
			return -1;
		}
		t->clock = n;
	}
	return 0;
}

static int cmp_timer(const void *a, const void *b)
{
	return ((const struct parasite_timer *)a)->id - ((const struct parasite_timer *)b)->id;
}

static struct parasite_timer *find_timer(struct parasite_timers *m, int id)
{
	for (unsigned int i = 0; i < m->nr; i++)
		if (m->t[i].id == id)
			return &m->t[i];
	return NULL;
}

/*
 * Mark the timers whose signal is queued. The parasite dequeues one to read
 * its overrun only if it comes first among the signals of its number (the
 * thread queue is dequeued before the shared one), so nothing else is taken.
 */
static int mark_queued(pid_t pid, struct parasite_timers *m)
{
	uint8_t buf[PEEK_BATCH * SIGINFO_SIZE];
	uint64_t seen = 0; /* signal numbers met so far, in dequeue order */
	int q;

	for (q = 0; q < 2; q++) {
		struct __ptrace_peeksiginfo_args a = {.flags = q ? PTRACE_PEEKSIGINFO_SHARED : 0};
		long n;

		for (;;) {
			a.nr = PEEK_BATCH;
			n = ptrace(PTRACE_PEEKSIGINFO, pid, &a, buf);
			if (n < 0) {
				pr_perror("pid %d: cannot read pending signals", pid);
				return -1;
			}
			if (n == 0)
				break;
			for (long i = 0; i < n; i++) {
				const siginfo_t *si = (const siginfo_t *)(buf + i * SIGINFO_SIZE);
				uint64_t bit = 1ULL << (si->si_signo - 1);
				struct parasite_timer *t;

				t = si->si_code == SI_TIMER ? find_timer(m, si->si_timerid) : NULL;
				if (t) {
					t->flags |= TIMER_QUEUED;
					if (!(seen & bit))
						t->flags |= TIMER_DEQUEUE;
				}
				seen |= bit;
			}
			a.off += n;
		}
	}
	return 0;
}

int timers_prepare(pid_t pid, struct parasite_timers *m)
{
	char *buf, *line, *save;
	size_t size = 1 << 20;
	int ret = -1;

	m->nr = 0;
	buf = malloc(size);
	if (!buf)
		return -1;
	if (proc_read_file(pid, "timers", buf, size) < 0)
		goto out;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (parse_timer_line(line, m, pid))
			goto out;
	/* Restore creates them in this order. */
	qsort(m->t, m->nr, sizeof(m->t[0]), cmp_timer);
	ret = mark_queued(pid, m);
out:
	free(buf);
	return ret;
}

int timers_fill(struct procstate_dump *d, const struct parasite_misc *m, CoreEntry *core)
{
	unsigned int i;

	if (!m->timers.nr)
		return 0;
	d->timers = calloc(m->timers.nr, sizeof(*d->timers));
	d->timerp = calloc(m->timers.nr, sizeof(*d->timerp));
	if (!d->timers || !d->timerp)
		return -1;
	for (i = 0; i < m->timers.nr; i++) {
		const struct parasite_timer *t = &m->timers.t[i];
		PosixTimerEntry *e = &d->timers[i];

		posix_timer_entry__init(e);
		e->id = t->id;
		e->clock = t->clock;
		e->notify = t->notify;
		e->signo = t->signo;
		e->sigval = t->sigval;
		e->has_notify_tid = t->notify & SIGEV_THREAD_ID;
		e->notify_tid = t->notify_tid;
		e->interval_sec = t->val.interval.sec;
		e->interval_nsec = t->val.interval.nsec;
		e->value_sec = t->val.value.sec;
		e->value_nsec = t->val.value.nsec;
		e->overrun = t->overrun;
		e->pending = t->flags & TIMER_QUEUED;
		d->timerp[i] = e;
	}
	core->posix_timers = d->timerp;
	core->n_posix_timers = m->timers.nr;
	return 0;
}
