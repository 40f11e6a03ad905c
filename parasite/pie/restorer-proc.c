// SPDX-License-Identifier: GPL-2.0
/*
 * Restorer steps for per-process state beyond memory, signals and creds:
 * POSIX timers, prctl() settings, seccomp. Freestanding, like restorer.c.
 */
#include <linux/prctl.h>
#include <linux/seccomp.h>

#include "kcompat.h"
#include "pie-lib.h"
#include "pie-syscall.h"
#include "pie-timer.h"
#include "restorer-proc.h"

#define SIGEV_NONE_ 1

struct k_sigevent {
	__u64 value;
	__s32 signo, notify, tid;
	__s32 pad[11];
};

struct k_sock_fprog {
	unsigned short len;
	__u64 filter;
};

/* The kernel queues timer signals from its timer interrupt: wait for it. */
static void wait_queued(const struct rst_timer *t)
{
	struct k_timespec pause = {0, 10000};
	__u64 set;
	int i;

	for (i = 0; i < 10000; i++) {
		if (!sys2(__NR_rt_sigpending, &set, 8) && (set & (1ULL << (t->signo - 1))))
			return;
		sys2(__NR_nanosleep, &pause, 0);
	}
}

/*
 * timer_getoverrun() tells the overrun of the last signal delivered: a
 * periodic timer whose signal is not queued gets it back by sending one
 * that carries it (see arm_timer()), which the restorer takes at once.
 */
static int replays_overrun(const struct rst_timer *t)
{
	return !t->pending && t->overrun && t->notify != SIGEV_NONE_ && ts_ns(&t->val.interval) &&
	       ts_ns(&t->val.value);
}

/*
 * A timer whose signal was queued expires again at once, so that the kernel
 * queues its own signal (a copy queued by rt_sigqueueinfo would not be tied
 * to the timer), with the overrun it had (timer_refire()). Others get their
 * remaining time, relative: the time between dump and restore does not count.
 */
static long arm_timer(struct restorer_args *a, const struct rst_timer *t, int refire)
{
	long ret;

	if (refire)
		ret = timer_refire(t->id, t->clock, &t->val, t->overrun);
	else if (!ts_ns(&t->val.value))
		return 0; /* disarmed */
	else
		ret = sys4(__NR_timer_settime, t->id, 0, &t->val, 0);
	if (ret)
		return fail(a, "timer_settime", t->id, ret), -1;
	if (refire && t->notify != SIGEV_NONE_)
		wait_queued(t);
	return 0;
}

static long replay_overrun(struct restorer_args *a, const struct rst_timer *t)
{
	__u64 set = 1ULL << (t->signo - 1);
	struct k_timespec zero = {0, 0};
	int info[32];
	long ret;

	if (arm_timer(a, t, 1))
		return -1;
	ret = sys4(__NR_rt_sigtimedwait, &set, info, &zero, 8);
	if (ret != (long)t->signo || info[SI_CODE] != SI_TIMER_ || info[SI_TIMERID] != t->id)
		return fail(a, "taking the overrun signal of timer", t->id, ret < 0 ? ret : -5), -1;
	return 0;
}

/* Each timer gets its dumped id: timer_create() takes it from *id while this is on. */
static long create_timers(struct restorer_args *a, const struct rst_timer *t)
{
	unsigned int i;
	long ret;

	ret = sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0);
	if (ret)
		return fail(a, "PR_TIMER_CREATE_RESTORE_IDS (needs Linux 6.15 or later)", 0, ret),
		       -1;
	for (i = 0; i < a->nr_timers; i++) {
		struct k_sigevent sev = {.value = t[i].sigval,
					 .signo = t[i].signo,
					 .notify = t[i].notify,
					 .tid = t[i].notify_tid};
		int id = t[i].id;

		ret = sys3(__NR_timer_create, t[i].clock, &sev, &id);
		if (ret)
			return fail(a, "timer_create", t[i].id, ret), -1;
	}
	sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
	return 0;
}

long restore_timers(struct restorer_args *a)
{
	const struct rst_timer *t = (void *)a->timers;
	unsigned int i;

	if (!a->nr_timers)
		return 0;
	if (create_timers(a, t))
		return -1;
	/* Nothing else is queued yet that the replays could take instead. */
	for (i = 0; i < a->nr_timers; i++)
		if (replays_overrun(&t[i]) && replay_overrun(a, &t[i]))
			return -1;
	for (i = 0; i < a->nr_timers; i++)
		if (!replays_overrun(&t[i]) && arm_timer(a, &t[i], t[i].pending))
			return -1;
	return 0;
}

int timer_resends(const struct restorer_args *a, const void *info)
{
	const struct rst_timer *t = (void *)a->timers;
	const int *si = info;
	unsigned int i;

	if (si[SI_CODE] != SI_TIMER_)
		return 0;
	for (i = 0; i < a->nr_timers; i++)
		if (t[i].id == si[SI_TIMERID] && t[i].pending)
			return 1;
	return 0;
}

long restore_prctl(struct restorer_args *a)
{
	const struct rst_prctl *p = &a->prctl;
	long ret;

	if (!p->valid)
		return 0;
	ret = sys_prctl(PR_SET_CHILD_SUBREAPER, p->child_subreaper, 0, 0, 0);
	if (ret)
		return fail(a, "PR_SET_CHILD_SUBREAPER", p->child_subreaper, ret), -1;
	/* Bit 0 disables THP, the bits above are the PR_THP_DISABLE_* flags. */
	ret = sys_prctl(PR_SET_THP_DISABLE, p->thp_disable & 1, p->thp_disable & ~1U, 0, 0);
	if (ret)
		return fail(a, "PR_SET_THP_DISABLE", p->thp_disable, ret), -1;
	ret = sys_prctl(PR_SET_PDEATHSIG, p->pdeath_signal, 0, 0, 0);
	if (ret)
		return fail(a, "PR_SET_PDEATHSIG", p->pdeath_signal, ret), -1;
	ret = sys_prctl(PR_SET_TIMERSLACK, p->timerslack_ns, 0, 0, 0);
	if (ret)
		return fail(a, "PR_SET_TIMERSLACK", p->timerslack_ns, ret), -1;
	/* Last: it is a one-way switch. */
	if (p->no_new_privs) {
		ret = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (ret)
			return fail(a, "PR_SET_NO_NEW_PRIVS", 1, ret), -1;
	}
	return 0;
}

/*
 * The filters must not act on the rest of the restore, which snap's
 * PTRACE_O_SUSPEND_SECCOMP sees to; but snap seizes a process once it sees
 * it exist, and that may be later than this. Wait for it (10 s at most)
 * to say so in our args.
 */
static long wait_traced(struct restorer_args *a)
{
	struct k_timespec pause = {0, 1000000};
	int i;

	for (i = 0; i < 10000; i++) {
		if (__atomic_load_n(&a->traced, __ATOMIC_ACQUIRE))
			return 0;
		sys2(__NR_nanosleep, &pause, 0);
	}
	return fail(a, "waiting for snap to trace us before installing seccomp filters", 0, -110),
	       -1;
}

/* The filters of @s, oldest first, the first @tsync of them synced to every thread. */
static long install_filters(struct restorer_args *a, const struct rst_seccomp *s,
			    unsigned int tsync)
{
	const struct rst_seccomp_filter *f = (void *)s->filters;
	unsigned int i;
	long ret;

	for (i = 0; i < s->nr_filters; i++) {
		struct k_sock_fprog prog = {.len = f[i].len, .filter = f[i].insns};
		unsigned long flags = f[i].flags | (i < tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0);

		ret = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
		if (ret)
			return fail(a, "installing seccomp filter", i, ret), -1;
	}
	return 0;
}

long restore_seccomp_filters(struct restorer_args *a, const struct rst_seccomp *s)
{
	if (s->mode != SECCOMP_MODE_FILTER)
		return 0;
	if (wait_traced(a))
		return -1;
	/*
	 * The filters every thread has alike go to the other threads too, all
	 * made and set up by now, as the one chain they shared.
	 */
	return install_filters(a, s, a->nr_threads > 1 ? s->nr_tsync : 0);
}

long restore_seccomp_thread(struct restorer_args *a, const struct rst_seccomp *s)
{
	if (s->mode != SECCOMP_MODE_FILTER)
		return 0;
	return install_filters(a, s, 0);
}

long restore_seccomp_strict(struct restorer_args *a, const struct rst_seccomp *s)
{
	long ret;

	if (s->mode != SECCOMP_MODE_STRICT)
		return 0;
	ret = sys_prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
	if (ret)
		return fail(a, "PR_SET_SECCOMP strict", 0, ret), -1;
	return 0;
}
