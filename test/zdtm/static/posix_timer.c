/*
 * POSIX timers survive with their ids, clocks, sigevents and times:
 *   tick:    MONOTONIC, every 10 ms, SIGRTMIN to a handler: keeps firing;
 *   blocked: REALTIME, every 10 ms, SIGRTMIN+1 blocked all along: its one
 *            queued signal reports every expiry since the first as overrun;
 *   far:     MONOTONIC, once in 1000 s: the time left is kept;
 *   off:     REALTIME, never armed;
 *   none:    MONOTONIC, SIGEV_NONE, every 1 s starting in 500 s;
 *   thread:  BOOTTIME, SIGEV_THREAD_ID to this thread, once in 2000 s;
 *   last:    REALTIME, every 100 s, started 350 s in the past: its one
 *            signal, taken before the dump, had overrun 3, which
 *            timer_getoverrun() must still say.
 * A timer deleted before the dump leaves a hole in the ids that must stay.
 * /proc/self/timers (ids, signals, values, notify, clocks) must read the same.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define TICK_NS	       10000000L
#define TICK_VAL       0x7157
#define BLOCKED_SIG    (SIGRTMIN + 1)
#define BEFORE_DUMP_MS 1000
#define LAST_SIG       (SIGRTMIN + 2)
#define LAST_IV_S      100
#define LAST_OVERRUN   3

enum { TICK, BLOCKED, HOLE, FAR, OFF, NONE, THREAD, LAST, NR };

static int ids[NR];
static volatile sig_atomic_t ticks, tick_bad;
static char timers_before[4096];

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code != SI_TIMER || si->si_value.sival_int != TICK_VAL ||
	    si->si_timerid != ids[TICK])
		tick_bad = 1;
	/* Expiries, not deliveries: on a busy machine signals merge into overruns. */
	ticks += 1 + si->si_overrun;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Raw syscalls: glibc's timer_t is not the kernel's id for every notify kind. */
static int create(int i, clockid_t clock, int notify, int sig, int val)
{
	struct sigevent sev = {.sigev_notify = notify, .sigev_signo = sig};

	sev.sigev_value.sival_int = val;
	if (notify & SIGEV_THREAD_ID)
		sev._sigev_un._tid = syscall(SYS_gettid);
	if (syscall(SYS_timer_create, clock, &sev, &ids[i]))
		fail("timer_create %d: %m", i);
	return ids[i];
}

static void arm(int i, long value_ns, long interval_ns)
{
	struct itimerspec it = {
		{interval_ns / 1000000000L, interval_ns % 1000000000L},
		{value_ns / 1000000000L, value_ns % 1000000000L},
	};

	if (syscall(SYS_timer_settime, ids[i], 0, &it, NULL))
		fail("timer_settime %d: %m", i);
}

static void get(int i, struct itimerspec *it)
{
	if (syscall(SYS_timer_gettime, ids[i], it))
		fail("timer_gettime %d (id %d): %m", i, ids[i]);
}

static double ts_s(const struct timespec *ts)
{
	return ts->tv_sec + ts->tv_nsec / 1e9;
}

static void read_timers(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/timers", "r");
	size_t n;

	if (!f)
		fail("/proc/self/timers: %m");
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void sleep_s(double s)
{
	double end = now_s() + s;

	while (now_s() < end) {
		struct timespec ts = {0, 1000000};

		nanosleep(&ts, NULL);
	}
}

/* Start it 3.5 intervals ago and take its signal: overrun 3, next expiry in 50 s. */
static void start_last(void)
{
	struct itimerspec it = {.it_interval = {LAST_IV_S, 0}};
	struct timespec zero = {0, 0};
	sigset_t set;
	siginfo_t si;

	clock_gettime(CLOCK_REALTIME, &it.it_value);
	it.it_value.tv_sec -= LAST_IV_S * LAST_OVERRUN + LAST_IV_S / 2;
	if (syscall(SYS_timer_settime, ids[LAST], TIMER_ABSTIME, &it, NULL))
		fail("timer_settime: %m");
	sigemptyset(&set);
	sigaddset(&set, LAST_SIG);
	if (sigtimedwait(&set, &si, NULL) != LAST_SIG)
		fail("sigtimedwait: %m");
	CHECK_EQ(si.si_overrun, LAST_OVERRUN);
	CHECK_EQ(syscall(SYS_timer_getoverrun, ids[LAST]), LAST_OVERRUN);
	if (sigtimedwait(&set, &si, &zero) != -1)
		fail("a second signal of the last timer");
}

/* The one blocked signal: overrun = expiries since the first, dump time not counted. */
static void check_blocked(double t_armed, double frozen_max)
{
	sigset_t set;
	siginfo_t si;
	struct timespec zero = {0, 0};
	double elapsed = now_s() - t_armed;
	long expected_min = (elapsed - frozen_max) * 1e9 / TICK_NS - 5;
	int got;

	sigpending(&set);
	if (!sigismember(&set, BLOCKED_SIG))
		fail("the blocked timer's signal is not pending");
	sigemptyset(&set);
	sigaddset(&set, BLOCKED_SIG);
	got = sigtimedwait(&set, &si, &zero);
	if (got != BLOCKED_SIG)
		fail("sigtimedwait: %d %m", got);
	if (si.si_code != SI_TIMER || si.si_timerid != ids[BLOCKED])
		fail("blocked signal: code %d timer %d, expected %d %d", si.si_code, si.si_timerid,
		     SI_TIMER, ids[BLOCKED]);
	test_msg("blocked timer: overrun %d after %.3f s\n", si.si_overrun, elapsed);
	if (si.si_overrun < expected_min || si.si_overrun > elapsed * 1e9 / TICK_NS + 1)
		fail("blocked timer: overrun %d after %.3f s, expected at least %ld", si.si_overrun,
		     elapsed, expected_min);
	CHECK_EQ(syscall(SYS_timer_getoverrun, ids[BLOCKED]), si.si_overrun);
	/*
	 * A single signal for all of those expiries. Disarmed, the timer sends
	 * no more, and drops any later one it had queued: what is left would be
	 * a copy not tied to the timer.
	 */
	arm(BLOCKED, 0, 0);
	got = sigtimedwait(&set, &si, &zero);
	CHECK_EQ(got, -1);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART};
	double t0, t_armed, frozen_max;
	struct itimerspec it;
	char timers_after[4096];
	sigset_t set;
	long t_before;

	test_init(argc, argv);
	test_daemon();

	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, BLOCKED_SIG);
	sigaddset(&set, LAST_SIG);
	sigprocmask(SIG_BLOCK, &set, NULL);

	create(TICK, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, TICK_VAL);
	create(BLOCKED, CLOCK_REALTIME, SIGEV_SIGNAL, BLOCKED_SIG, 2);
	create(HOLE, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 3);
	create(FAR, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 4);
	create(OFF, CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR2, 5);
	create(NONE, CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	create(THREAD, CLOCK_BOOTTIME, SIGEV_SIGNAL | SIGEV_THREAD_ID, SIGUSR2, 7);
	create(LAST, CLOCK_REALTIME, SIGEV_SIGNAL, LAST_SIG, 8);
	start_last();
	if (syscall(SYS_timer_delete, ids[HOLE]))
		fail("timer_delete: %m");

	t0 = now_s();
	arm(FAR, 1000 * 1000000000L, 0);
	arm(NONE, 500 * 1000000000L, 1000000000L);
	arm(THREAD, 2000 * 1000000000L, 0);
	arm(TICK, TICK_NS, TICK_NS);
	t_armed = now_s();
	arm(BLOCKED, TICK_NS, TICK_NS);
	/* Let the blocked timer pile up overruns before the dump. */
	sleep_s(BEFORE_DUMP_MS / 1000.0);
	read_timers(timers_before, sizeof(timers_before));

	test_waitsig();

	/* The time spent frozen and dumped does not count for the timers. */
	frozen_max = test_restored() ? now_s() - t0 - BEFORE_DUMP_MS / 1000.0 : 0;
	check_blocked(t_armed, frozen_max);

	read_timers(timers_after, sizeof(timers_after));
	if (strcmp(timers_before, timers_after))
		fail("/proc/self/timers differs:\n%s---\n%s", timers_before, timers_after);

	t_before = ticks;
	sleep_s(0.2);
	if (ticks - t_before < 10)
		fail("the 10 ms timer expired %ld times in 200 ms", (long)(ticks - t_before));
	CHECK_EQ(tick_bad, 0);

	get(FAR, &it);
	if (ts_s(&it.it_interval) != 0 || ts_s(&it.it_value) <= 0 || ts_s(&it.it_value) > 1000 ||
	    ts_s(&it.it_value) < 1000 - (now_s() - t0) - 0.5)
		fail("far timer: %.6f s left after %.3f s", ts_s(&it.it_value), now_s() - t0);
	get(THREAD, &it);
	if (ts_s(&it.it_value) > 2000 || ts_s(&it.it_value) < 2000 - (now_s() - t0) - 0.5)
		fail("thread timer: %.6f s left", ts_s(&it.it_value));
	get(NONE, &it);
	if (ts_s(&it.it_interval) != 1 || ts_s(&it.it_value) > 500 ||
	    ts_s(&it.it_value) < 500 - (now_s() - t0) - 0.5)
		fail("SIGEV_NONE timer: %.6f s left, interval %.6f", ts_s(&it.it_value),
		     ts_s(&it.it_interval));
	get(OFF, &it);
	if (ts_s(&it.it_value) != 0 || ts_s(&it.it_interval) != 0)
		fail("disarmed timer is armed: %.6f s", ts_s(&it.it_value));
	CHECK_EQ(syscall(SYS_timer_getoverrun, ids[LAST]), LAST_OVERRUN);
	get(LAST, &it);
	if (ts_s(&it.it_interval) != LAST_IV_S || ts_s(&it.it_value) <= 0 ||
	    ts_s(&it.it_value) > LAST_IV_S / 2)
		fail("last timer: %.6f s left, interval %.6f", ts_s(&it.it_value),
		     ts_s(&it.it_interval));
	sigpending(&set);
	if (sigismember(&set, LAST_SIG))
		fail("the last timer's signal is pending");
	if (syscall(SYS_timer_gettime, ids[HOLE], &it) != -1)
		fail("deleted timer %d is back", ids[HOLE]);
	pass();
	return 0;
}
