/* ITIMER_REAL keeps its 1000 s interval and a remaining time 0 < left <= 1000 s. */
#include <sys/time.h>
#include <time.h>

#include "zdtmtst.h"

#define PERIOD_S 1000

static volatile sig_atomic_t alarms;

static void alarm_handler(int sig)
{
	(void)sig;
	alarms++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct itimerval it = { { PERIOD_S, 0 }, { PERIOD_S, 0 } }, got;
	struct sigaction sa = { .sa_handler = alarm_handler };
	double t0, left;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	/* Timers are not inherited over fork: arm it in the child. */
	test_daemon();
	t0 = now_s();
	if (setitimer(ITIMER_REAL, &it, NULL))
		fail("setitimer: %m");

	test_waitsig();

	if (getitimer(ITIMER_REAL, &got))
		fail("getitimer: %m");
	if (got.it_interval.tv_sec != PERIOD_S || got.it_interval.tv_usec != 0)
		fail("interval is %ld.%06ld s, expected %d s", (long)got.it_interval.tv_sec,
		     (long)got.it_interval.tv_usec, PERIOD_S);
	left = got.it_value.tv_sec + got.it_value.tv_usec / 1e6;
	if (left <= 0 || left > PERIOD_S)
		fail("%.6f s left, expected 0 < left <= %d", left, PERIOD_S);
	/* It may have stood still while checkpointed, but never run fast. */
	if (left < PERIOD_S - (now_s() - t0) - 0.5)
		fail("%.6f s left after %.3f s", left, now_s() - t0);
	CHECK_EQ(alarms, 0);
	pass();
	return 0;
}
