// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer's arguments for prctl() settings, POSIX timers and seccomp
 * (parasite/pie/restorer-proc.c applies them). Timers and filters go into
 * an area of the bootstrap mapping: [rst_timer...], then per thread, the
 * leader first, [rst_seccomp_filter...][insns].
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>

#include "log.h"
#include "proc/procstate.h"

/* The seccomp state of thread @i: its own, or in older images the main thread's. */
static const SeccompEntry *thread_seccomp(const CoreEntry *core, size_t i)
{
	if (!core->n_threads)
		return NULL;
	return core->threads[core->seccomp_per_thread ? i : 0]->seccomp;
}

static bool filter_equal(const SeccompFilterEntry *x, const SeccompFilterEntry *y)
{
	return x->flags == y->flags && x->insns.len == y->insns.len &&
	       !memcmp(x->insns.data, y->insns.data, x->insns.len);
}

/*
 * How many of the oldest filters every thread has alike. The leader installs
 * them once, synced to every thread (TSYNC), so that they are one chain the
 * threads share as they did (a chain is shared by the threads made after it
 * was installed, or that it was synced to): a later TSYNC by any thread
 * needs the others' filters to be part of its own chain. What follows in a
 * thread's chain it installs itself, as a copy of its own even where other
 * threads have the same filters next: the kernel can share a filter between
 * threads only through TSYNC, which gives it to every thread, or clone().
 */
static size_t shared_filters(const CoreEntry *core)
{
	const SeccompEntry *l = thread_seccomp(core, 0);
	size_t n;

	if (!l || l->mode != SECCOMP_MODE_FILTER)
		return 0;
	n = l->n_filters;
	for (size_t i = 1; i < core->n_threads && n; i++) {
		const SeccompEntry *e = thread_seccomp(core, i);
		size_t k = 0;

		if (!e || e->mode != SECCOMP_MODE_FILTER)
			return 0;
		while (k < n && k < e->n_filters && filter_equal(l->filters[k], e->filters[k]))
			k++;
		n = k;
	}
	return n;
}

static bool timer_ok(const PosixTimerEntry *e)
{
	bool signals = e->notify != SIGEV_NONE;

	if (e->notify != SIGEV_NONE && e->notify != SIGEV_SIGNAL &&
	    e->notify != (SIGEV_SIGNAL | SIGEV_THREAD_ID))
		return false;
	if (signals && (e->signo < 1 || e->signo > 64))
		return false;
	return e->id >= 0 && e->clock >= 0 && e->interval_nsec < 1000000000 &&
	       e->value_nsec < 1000000000;
}

static bool seccomp_ok(const SeccompEntry *s)
{
	if (s->mode != SECCOMP_MODE_STRICT && s->mode != SECCOMP_MODE_FILTER)
		return false;
	if (s->mode == SECCOMP_MODE_STRICT && s->n_filters)
		return false;
	for (size_t i = 0; i < s->n_filters; i++) {
		size_t len = s->filters[i]->insns.len;

		if (!len || len % sizeof(struct sock_filter) ||
		    len / sizeof(struct sock_filter) > BPF_MAXINSNS)
			return false;
	}
	return true;
}

int restore_proc_check(const CoreEntry *core, pid_t pid)
{
	for (size_t i = 0; i < core->n_posix_timers; i++)
		if (!timer_ok(core->posix_timers[i]) ||
		    (i && core->posix_timers[i]->id <= core->posix_timers[i - 1]->id)) {
			pr_err("image core-%d.img: bad POSIX timer %zu", pid, i);
			return -1;
		}
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->seccomp && !seccomp_ok(core->threads[i]->seccomp)) {
			pr_err("image core-%d.img: bad seccomp state of thread %zu", pid, i);
			return -1;
		}
	return 0;
}

size_t restore_proc_size(const CoreEntry *core)
{
	size_t len = core->n_posix_timers * sizeof(struct rst_timer), shared = shared_filters(core);

	for (size_t t = 0; t < core->n_threads; t++) {
		const SeccompEntry *s = thread_seccomp(core, t);

		for (size_t i = t ? shared : 0; s && i < s->n_filters; i++)
			len += sizeof(struct rst_seccomp_filter) + s->filters[i]->insns.len;
	}
	return len;
}

static void fill_prctl(struct rst_prctl *p, const PrctlEntry *e)
{
	if (!e)
		return;
	p->valid = 1;
	p->no_new_privs = e->no_new_privs;
	p->child_subreaper = e->child_subreaper;
	p->thp_disable = e->thp_disable;
	p->pdeath_signal = e->pdeath_signal;
	p->timerslack_ns = e->timerslack_ns;
}

static void fill_timer(struct rst_timer *t, const PosixTimerEntry *e)
{
	*t = (struct rst_timer){
		.id = e->id,
		.clock = e->clock,
		.notify = e->notify,
		.signo = e->signo,
		.notify_tid = e->notify_tid,
		.pending = e->pending,
		.sigval = e->sigval,
		.overrun = e->overrun,
		.val = {{e->interval_sec, e->interval_nsec}, {e->value_sec, e->value_nsec}},
	};
}

/* One thread's state from @e, its filters from @from on, into @area; returns where they end. */
static void *fill_seccomp(struct rst_seccomp *s, const SeccompEntry *e, size_t from, void *area)
{
	struct rst_seccomp_filter *f = area;
	size_t n = e && e->n_filters > from ? e->n_filters - from : 0;
	uint8_t *insns = (uint8_t *)(f + n);

	if (!e)
		return area;
	s->mode = e->mode;
	s->nr_filters = n;
	s->filters = (uintptr_t)f;
	for (size_t i = 0; i < n; i++) {
		const SeccompFilterEntry *fe = e->filters[from + i];

		memcpy(insns, fe->insns.data, fe->insns.len);
		f[i] = (struct rst_seccomp_filter){.insns = (uintptr_t)insns,
						   .len = fe->insns.len /
							  sizeof(struct sock_filter),
						   .flags = fe->has_flags ? fe->flags : 0};
		insns += fe->insns.len;
	}
	return insns;
}

void restore_proc_fill(struct restorer_args *a, const CoreEntry *core, void *area)
{
	struct rst_thread *th = (void *)(uintptr_t)a->threads;
	size_t shared = shared_filters(core);
	struct rst_timer *t = area;

	fill_prctl(&a->prctl, core->prctl);
	a->timers = (uintptr_t)t;
	a->nr_timers = core->n_posix_timers;
	for (size_t i = 0; i < core->n_posix_timers; i++)
		fill_timer(&t[i], core->posix_timers[i]);
	/* The leader's whole chain, its first @shared filters synced to every thread. */
	area = fill_seccomp(&a->seccomp, thread_seccomp(core, 0), 0, t + core->n_posix_timers);
	a->seccomp.nr_tsync = shared;
	for (size_t i = 1; i < core->n_threads; i++)
		area = fill_seccomp(&th[i].seccomp, thread_seccomp(core, i), shared, area);
}

/*
 * The restorer installs the filters before it gives up its privileges, and
 * snap still injects a syscall after its rt_sigreturn: neither may be
 * filtered. Lifted when snap detaches.
 */
long restore_proc_seize_opts(const CoreEntry *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->seccomp &&
		    core->threads[i]->seccomp->mode != SECCOMP_MODE_DISABLED)
			return PTRACE_O_SUSPEND_SECCOMP;
	return 0;
}
