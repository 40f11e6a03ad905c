/*
 * An epoll knows a file by (file, fd number it was added with); that number
 * may be closed since, or hold another file. After restore each file is
 * still watched under its original number, found wherever the tree holds
 * it:
 *   MOVED   added as fd 40, now only at fd 41
 *   REUSED  added as fd 42, now at 43; fd 42 is another eventfd, not watched
 *   D44/D45 one eventfd added under two numbers (D45 edge-triggered)
 *   E/F     two files added as the same number 46 (kcmp's toff 0 and 1)
 *   HIGH    added as fd 900, above every fd the tree has now, now at 50
 *   CHILD   added as fd 48, which only the child holds now
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "anon-fdinfo.h"

enum { MOVED = 0x2001, REUSED, D44, D45, E, F, HIGH, CHILD };

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		fail("EPOLL_CTL_ADD fd %d: %m", fd);
}

/* A new eventfd at fd @at. */
static void efd_at(int at, unsigned int count)
{
	int fd = eventfd(count, EFD_NONBLOCK);

	if (fd < 0 || dup2(fd, at) != at)
		fail("eventfd at %d: %m", at);
	close(fd);
}

static void move_fd(int from, int to)
{
	if (dup2(from, to) != to)
		fail("dup2: %m");
	close(from);
}

static void bump(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		fail("write fd %d: %m", fd);
}

static void expect(int ep, unsigned long long want, const char *when)
{
	unsigned long long got[64];
	int n = epoll_ready(ep, got, 64);

	if (want ? n != 1 || got[0] != want : n != 0)
		fail("%s: %d events ready (first %#llx), expected %#llx", when, n, n ? got[0] : 0,
		     want);
}

int main(int argc, char **argv)
{
	struct epoll_tfd before[64];
	unsigned long long got[64];
	int ep, n, status;
	uint64_t v;
	pid_t child;

	test_init(argc, argv);
	test_daemon();
	ep = epoll_create1(0);
	if (ep < 0)
		fail("epoll_create1: %m");
	efd_at(40, 0);
	add(ep, 40, EPOLLIN, MOVED);
	move_fd(40, 41);
	efd_at(42, 0);
	add(ep, 42, EPOLLIN, REUSED);
	if (dup2(42, 43) != 43)
		fail("dup2: %m");
	efd_at(42, 0);
	efd_at(44, 1);
	if (dup2(44, 45) != 45)
		fail("dup2: %m");
	add(ep, 44, EPOLLIN, D44);
	add(ep, 45, EPOLLIN | EPOLLET, D45);
	efd_at(46, 0);
	add(ep, 46, EPOLLIN, E);
	if (dup2(46, 47) != 47)
		fail("dup2: %m");
	efd_at(46, 0);
	add(ep, 46, EPOLLIN, F);
	efd_at(900, 0);
	add(ep, 900, EPOLLIN, HIGH);
	move_fd(900, 50);
	efd_at(48, 0);
	add(ep, 48, EPOLLIN, CHILD);
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (child == 0) {
		while (!test_sigterm)
			pause();
		uint64_t one = 1;

		if (write(48, &one, sizeof(one)) != sizeof(one))
			_exit(1);
		/* Holding fd 48: its last close would take it out of the epoll. */
		for (;;)
			pause();
	}
	close(48);
	n = epoll_tfds(ep, before, 64);
	CHECK_EQ(n, 8);

	test_waitsig();

	epoll_tfds_same(ep, before, n);
	CHECK(fcntl(40, F_GETFD) < 0 && fcntl(48, F_GETFD) < 0 && fcntl(900, F_GETFD) < 0);
	CHECK(!same_file(getpid(), 42, getpid(), 43));
	CHECK(same_file(getpid(), 44, getpid(), 45));
	/* D is ready through both numbers; the edge-triggered one is reported once. */
	n = epoll_ready(ep, got, 64);
	CHECK_EQ(n, 2);
	CHECK(got[0] == D44 && got[1] == D45);
	if (read(44, &v, sizeof(v)) != sizeof(v))
		fail("read: %m");
	expect(ep, 0, "D read");

	bump(41);
	expect(ep, MOVED, "fd 41 written");
	if (read(41, &v, sizeof(v)) != sizeof(v))
		fail("read: %m");
	bump(42);
	expect(ep, 0, "fd 42 (not watched) written");
	bump(43);
	expect(ep, REUSED, "fd 43 written");
	if (read(43, &v, sizeof(v)) != sizeof(v))
		fail("read: %m");
	/* Known as number 42: fd 43 is not its key, and 42 is another file now. */
	if (!epoll_ctl(ep, EPOLL_CTL_DEL, 43, NULL) || errno != ENOENT)
		fail("EPOLL_CTL_DEL of fd 43: %m, expected ENOENT");
	bump(47);
	expect(ep, E, "fd 47 written");
	if (read(47, &v, sizeof(v)) != sizeof(v))
		fail("read: %m");
	bump(46);
	expect(ep, F, "fd 46 written");
	if (epoll_ctl(ep, EPOLL_CTL_DEL, 46, NULL))
		fail("EPOLL_CTL_DEL of fd 46: %m");
	bump(50);
	expect(ep, HIGH, "fd 50 written");
	if (read(50, &v, sizeof(v)) != sizeof(v))
		fail("read: %m");

	kill(child, SIGTERM);
	for (int i = 0; !(n = epoll_ready(ep, got, 64)) && i < 5000; i++) {
		if (waitpid(child, &status, WNOHANG) == child)
			fail("the child could not write its fd 48 (status %#x)", status);
		usleep(1000);
	}
	if (n != 1 || got[0] != CHILD)
		fail("the child's fd 48 written: %d events ready (first %#llx), expected %#x", n,
		     n ? got[0] : 0, CHILD);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	pass();
	return 0;
}
