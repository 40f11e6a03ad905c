/*
 * timerfds keep their clock, flags, interval, time left and the
 * expirations counted but not read yet:
 *   mono      CLOCK_MONOTONIC, 60 s left of a 7 s period, O_NONBLOCK
 *   expired   a one-shot that expired, its 1 tick not read
 *   periodic  CLOCK_BOOTTIME, expired once, next in about an hour
 *   ticks     disarmed, 7 ticks put there with TFD_IOC_SET_TICKS
 *   abs       CLOCK_REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET:
 *             the same absolute expiry, whenever the restore happens
 *   alarm     CLOCK_BOOTTIME_ALARM, 90 s left (where the machine has one)
 * fdinfo (ticks included) is checked before anything reads the timers.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>

#include "anon-fdinfo.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#define NSEC	1000000000LL
#define HOUR	3600

static long long ns(struct timespec ts)
{
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int make(int clock, int flags, int how, time_t value, long value_ns, time_t interval)
{
	struct itimerspec its = { { interval, 0 }, { value, value_ns } };
	int fd = timerfd_create(clock, flags);

	if (fd < 0)
		return -1;
	if (timerfd_settime(fd, how, &its, NULL))
		fail("timerfd_settime: %m");
	return fd;
}

static uint64_t rd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		fail("read timerfd %d: %m", fd);
	return v;
}

static struct itimerspec get(int fd)
{
	struct itimerspec its;

	if (timerfd_gettime(fd, &its))
		fail("timerfd_gettime: %m");
	return its;
}

static void check_fdinfo(int fd, int clock, unsigned long long ticks, int how)
{
	CHECK_EQ(fdinfo_ull(fd, "clockid:", 10), clock);
	CHECK_EQ(fdinfo_ull(fd, "ticks:", 10), ticks);
	CHECK_EQ(fdinfo_ull(fd, "settime flags:", 8), how);
}

int main(int argc, char **argv)
{
	int mono, expired, periodic, ticks, abs, alarm;
	uint64_t seven = 7, v;
	struct timespec now;
	struct itimerspec its;
	long long deadline, left;

	test_init(argc, argv);
	mono = make(CLOCK_MONOTONIC, TFD_NONBLOCK, 0, 60, 0, 7);
	expired = make(CLOCK_MONOTONIC, 0, 0, 0, 1000, 0);
	periodic = make(CLOCK_BOOTTIME, TFD_NONBLOCK, 0, 0, 1000, HOUR);
	ticks = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	clock_gettime(CLOCK_REALTIME, &now);
	deadline = ns(now) / NSEC + 100;
	abs = make(CLOCK_REALTIME, 0, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, deadline, 0,
		   0);
	alarm = make(CLOCK_BOOTTIME_ALARM, 0, 0, 90, 0, 0);
	if (mono < 0 || expired < 0 || periodic < 0 || ticks < 0 || abs < 0)
		fail("timerfd_create: %m");
	if (ioctl(ticks, TFD_IOC_SET_TICKS, &seven))
		skip("TFD_IOC_SET_TICKS: %m (no CONFIG_CHECKPOINT_RESTORE)");
	usleep(20000);

	test_daemon();
	test_waitsig();

	check_fdinfo(mono, CLOCK_MONOTONIC, 0, 0);
	check_fdinfo(expired, CLOCK_MONOTONIC, 1, 0);
	check_fdinfo(ticks, CLOCK_MONOTONIC, 7, 0);
	check_fdinfo(abs, CLOCK_REALTIME, 0, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);
	/* Ticks only show once a look at the timer brings them up to date. */
	get(periodic);
	check_fdinfo(periodic, CLOCK_BOOTTIME, 1, 0);
	if (alarm >= 0)
		check_fdinfo(alarm, CLOCK_BOOTTIME_ALARM, 0, 0);

	CHECK(fcntl(mono, F_GETFL) & O_NONBLOCK);
	CHECK(!(fcntl(expired, F_GETFL) & O_NONBLOCK));
	its = get(mono);
	CHECK_EQ(ns(its.it_interval), 7 * NSEC);
	CHECK(ns(its.it_value) > 40 * NSEC && ns(its.it_value) <= 60 * NSEC);
	if (read(mono, &v, sizeof(v)) >= 0 || errno != EAGAIN)
		fail("mono expired already");

	CHECK_EQ(rd(expired), 1);
	its = get(expired);
	CHECK_EQ(ns(its.it_value) + ns(its.it_interval), 0);

	CHECK_EQ(rd(periodic), 1);
	its = get(periodic);
	CHECK_EQ(ns(its.it_interval), HOUR * NSEC);
	CHECK(ns(its.it_value) > (HOUR - 100) * NSEC && ns(its.it_value) <= HOUR * NSEC);

	CHECK_EQ(rd(ticks), 7);

	its = get(abs);
	clock_gettime(CLOCK_REALTIME, &now);
	left = deadline * NSEC - ns(now);
	if (llabs(ns(its.it_value) - left) > NSEC / 2)
		fail("abs: %lld ns left, expected %lld", ns(its.it_value), left);

	if (alarm >= 0) {
		its = get(alarm);
		CHECK(ns(its.it_value) > 70 * NSEC && ns(its.it_value) <= 90 * NSEC);
	}
	pass();
	return 0;
}
