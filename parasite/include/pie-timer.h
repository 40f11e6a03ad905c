/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Re-firing a POSIX timer so that its signal carries a given overrun: the
 * parasite does it to put back a timer signal it dequeued, the restorer to
 * bring one back. Freestanding.
 */
#ifndef SNAP_PIE_TIMER_H
#define SNAP_PIE_TIMER_H

#include "pie-syscall.h"
#include "protocol.h"

#define SI_TIMER_ (-2)
#define TIMER_ABSTIME_ 1
#define NSEC 1000000000LL

/* siginfo_t as ints: si_signo, si_errno, si_code, (pad), si_timerid, si_overrun */
#define SI_CODE 2
#define SI_TIMERID 4
#define SI_OVERRUN 5

static inline __s64 ts_ns(const struct k_timespec *ts)
{
	return ts->sec * NSEC + ts->nsec;
}

/*
 * Make timer @id expire now, so that the kernel queues its own signal, and
 * have that signal report @overrun: with @val as timer_gettime() gave it
 * (time to the next expiry, interval), a periodic timer is set to expire
 * overrun + 1 intervals before its next expiry. The dequeue then counts
 * @overrun missed expiries and forwards the timer to that next expiry. A
 * one-shot timer just expires at once.
 */
static inline long timer_refire(int id, int clock, const struct k_itimerspec *val, __u32 overrun)
{
	struct k_itimerspec v = { .interval = val->interval, .value = { 0, 1 } };
	__s64 at, iv = ts_ns(&val->interval);
	struct k_timespec now;
	long ret;

	if (!iv)
		return sys4(__NR_timer_settime, id, 0, &v, 0);
	ret = sys2(__NR_clock_gettime, clock, &now);
	if (ret)
		return ret;
	at = ts_ns(&now) + ts_ns(&val->value) - (overrun + 1LL) * iv;
	if (at <= 0)
		at = 1;
	v.value = (struct k_timespec){ at / NSEC, at % NSEC };
	return sys4(__NR_timer_settime, id, TIMER_ABSTIME_, &v, 0);
}

#endif
