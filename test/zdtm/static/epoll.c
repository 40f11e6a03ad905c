/*
 * An epoll watching eventfds, both ends of a pipe, a timerfd and another
 * epoll, with level- and edge-triggered, EPOLLONESHOT (armed, and one
 * already reported: disarmed) and EPOLLEXCLUSIVE events and their data.
 * After restore its fdinfo lists the same files with the same events and
 * data, exactly what was ready is ready (the edge-triggered pipe, not yet
 * reported, included), and each file is still watched: a write wakes the
 * epoll with that file's data, EPOLL_CTL_MOD re-arms the one-shot, and
 * EPOLL_CTL_DEL finds a file by its fd number.
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "anon-fdinfo.h"

enum { READY = 0x1001, IDLE, PIPE_R, PIPE_W, TIMER, ONESHOT, FIRED, EXCL, NESTED };

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		fail("EPOLL_CTL_ADD fd %d: %m", fd);
	return fd;
}

static int efd(unsigned int count)
{
	int fd = eventfd(count, EFD_NONBLOCK);

	if (fd < 0)
		fail("eventfd: %m");
	return fd;
}

static void bump(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		fail("write: %m");
}

static void expect(int ep, const unsigned long long *want, int n, const char *when)
{
	unsigned long long got[64];
	int m = epoll_ready(ep, got, 64);

	for (int i = 0; i < n || i < m; i++)
		if (i >= n || i >= m || got[i] != want[i])
			fail("%s: %d events ready (first %#llx), expected %d (first %#llx)", when,
			     m, m ? got[0] : 0, n, n ? want[0] : 0);
}

int main(int argc, char **argv)
{
	int ep, inner, ready, idle, p[2], timer, oneshot, fired, excl, n;
	struct itimerspec hour = { { 0, 0 }, { 3600, 0 } };
	struct epoll_tfd before[64], ib[64];
	struct epoll_event ev;
	int ni;

	test_init(argc, argv);
	test_daemon();
	ep = epoll_create1(EPOLL_CLOEXEC);
	inner = epoll_create1(0);
	if (ep < 0 || inner < 0 || pipe(p))
		fail("epoll_create1/pipe: %m");
	/* Reported once, so disarmed: before anything else can be ready. */
	fired = add(ep, efd(1), EPOLLIN | EPOLLONESHOT, FIRED);
	if (epoll_wait(ep, &ev, 1, 0) != 1 || ev.data.u64 != FIRED)
		fail("the one-shot did not fire");
	ready = add(ep, efd(1), EPOLLIN, READY);
	idle = add(ep, efd(0), EPOLLIN, IDLE);
	if (write(p[1], "x", 1) != 1)
		fail("write: %m");
	add(ep, p[0], EPOLLIN | EPOLLET, PIPE_R);
	add(ep, p[1], EPOLLOUT, PIPE_W);
	timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (timer < 0 || timerfd_settime(timer, 0, &hour, NULL))
		fail("timerfd: %m");
	add(ep, timer, EPOLLIN, TIMER);
	oneshot = add(ep, efd(0), EPOLLIN | EPOLLONESHOT, ONESHOT);
	excl = add(ep, efd(0), EPOLLIN | EPOLLEXCLUSIVE, EXCL);
	add(inner, efd(1), EPOLLIN, 1);
	add(ep, inner, EPOLLIN, NESTED);
	n = epoll_tfds(ep, before, 64);
	ni = epoll_tfds(inner, ib, 64);
	CHECK_EQ(n, 9);

	test_waitsig();

	epoll_tfds_same(ep, before, n);
	epoll_tfds_same(inner, ib, ni);
	CHECK(fcntl(ep, F_GETFD) & FD_CLOEXEC);
	CHECK(!(fcntl(inner, F_GETFD) & FD_CLOEXEC));
	{
		const unsigned long long want[] = { READY, PIPE_R, PIPE_W, NESTED };

		expect(ep, want, 4, "after the restore");
	}
	{
		/* Edge-triggered: reported once. Level-triggered: again. */
		const unsigned long long want[] = { READY, PIPE_W, NESTED };

		expect(ep, want, 3, "the second look");
	}
	/* Each watched file still wakes the epoll with its data. */
	if (epoll_ctl(ep, EPOLL_CTL_DEL, ready, NULL) || epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL) ||
	    epoll_ctl(ep, EPOLL_CTL_DEL, inner, NULL))
		fail("EPOLL_CTL_DEL: %m");
	expect(ep, NULL, 0, "after EPOLL_CTL_DEL");
	bump(idle);
	bump(oneshot);
	bump(excl);
	{
		const unsigned long long want[] = { IDLE, ONESHOT, EXCL };

		expect(ep, want, 3, "after writes");
	}
	/* The one-shot fired now, the disarmed one comes back with EPOLL_CTL_MOD. */
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = FIRED };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fired, &ev))
		fail("EPOLL_CTL_MOD: %m");
	{
		const unsigned long long want[] = { IDLE, FIRED, EXCL };

		expect(ep, want, 3, "after EPOLL_CTL_MOD");
	}
	if (write(p[1], "y", 1) != 1)
		fail("write: %m");
	{
		const unsigned long long want[] = { IDLE, PIPE_R, EXCL };

		expect(ep, want, 3, "after a new pipe write");
	}
	(void)errno;
	pass();
	return 0;
}
