/* ITIMER_VIRTUAL/ITIMER_PROF keep interval and remaining time; ITIMER_PROF still fires. */
#include <sys/time.h>
#include <time.h>

#include "zdtmtst.h"

#define VIRT_VALUE_US	(30 * 1000000L)
#define VIRT_IVAL_US	(20 * 1000000L)
#define PROF_VALUE_US	(500 * 1000L)
#define PROF_IVAL_US	(20 * 1000L)
#define SLACK_US	(20 * 1000L)	/* the kernel adds a tick when arming */

static volatile sig_atomic_t profs;

static void prof_handler(int sig)
{
	(void)sig;
	profs++;
}

static long us(const struct timeval *tv)
{
	return tv->tv_sec * 1000000L + tv->tv_usec;
}

static struct itimerval itv(long value, long interval)
{
	return (struct itimerval){ { interval / 1000000, interval % 1000000 },
				   { value / 1000000, value % 1000000 } };
}

static void check_timer(int which, const char *name, long value, long interval)
{
	struct itimerval got;

	if (getitimer(which, &got))
		fail("getitimer(%s): %m", name);
	if (us(&got.it_interval) != interval)
		fail("%s interval is %ld us, expected %ld", name, us(&got.it_interval), interval);
	if (us(&got.it_value) <= 0 || us(&got.it_value) > value + SLACK_US)
		fail("%s has %ld us left, expected 0 < left <= %ld", name, us(&got.it_value),
		     value);
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct itimerval virt = itv(VIRT_VALUE_US, VIRT_IVAL_US);
	struct itimerval prof = itv(PROF_VALUE_US, PROF_IVAL_US);
	struct sigaction sa = { .sa_handler = prof_handler };
	struct itimerval before;
	struct timespec t0, t;
	volatile unsigned long spin = 0;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
	signal(SIGVTALRM, SIG_IGN);

	test_daemon();
	if (setitimer(ITIMER_VIRTUAL, &virt, NULL) || setitimer(ITIMER_PROF, &prof, NULL))
		fail("setitimer: %m");
	getitimer(ITIMER_PROF, &before);

	test_waitsig();

	CHECK_EQ(profs, 0);	/* a sleeping process uses no CPU time */
	check_timer(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", VIRT_VALUE_US, VIRT_IVAL_US);
	check_timer(ITIMER_PROF, "ITIMER_PROF", us(&before.it_value), PROF_IVAL_US);

	/* Burn CPU: the profiling timer fires, first after <= 0.5 s, then every 20 ms. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		spin++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (profs < 3 && t.tv_sec - t0.tv_sec < 10);
	if (profs < 3)
		fail("ITIMER_PROF fired %d times in 10 s (%.3f s of CPU)", (int)profs, cpu_s());
	pass();
	return 0;
}
