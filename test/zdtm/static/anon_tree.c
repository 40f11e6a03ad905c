/*
 * Anon-inode files shared across a process tree stay shared: an eventfd, a
 * timerfd, a signalfd, an epoll and a dead process's pidfd that a child
 * inherited are one open file description in both again (kcmp), the
 * eventfd counts for both, and a file the child adds to the shared epoll
 * shows in the parent's. A pidfd child D opened of its younger sibling C
 * (made after D, so restored after D's fds wait for it) names C again.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "anon-fdinfo.h"

#define SIBLING_FD 70

static int efd, tfd, sfd, ep, dead;

static void child_d(int pipe_rd)
{
	pid_t c;
	int pfd;

	if (read(pipe_rd, &c, sizeof(c)) != sizeof(c))
		_exit(10);
	pfd = syscall(SYS_pidfd_open, c, 0);
	if (pfd < 0 || dup2(pfd, SIBLING_FD) != SIBLING_FD)
		_exit(11);
	close(pfd);
	while (!test_sigterm)
		pause();
	if (fdinfo_ull(SIBLING_FD, "Pid:", 10) != (unsigned long long)c)
		_exit(12);
	/* Its own: counts for the parent too, and the epoll is the parent's. */
	uint64_t two = 2;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 };

	if (write(efd, &two, sizeof(two)) != sizeof(two))
		_exit(13);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev))
		_exit(14);
	_exit(0);
}

static void wait_ok(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s failed (status %#x)", what, status);
}

int main(int argc, char **argv)
{
	struct itimerspec hour = { { 0, 0 }, { 3600, 0 } };
	int p[2], fds[5], n;
	struct epoll_tfd tf[8];
	sigset_t usr1;
	uint64_t v;
	pid_t d, c, gone;

	test_init(argc, argv);
	test_daemon();
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	efd = eventfd(5, EFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	sfd = signalfd(-1, &usr1, SFD_NONBLOCK);
	ep = epoll_create1(0);
	gone = fork();
	if (gone == 0)
		_exit(0);
	dead = syscall(SYS_pidfd_open, gone, 0);
	if (efd < 0 || tfd < 0 || sfd < 0 || ep < 0 || dead < 0 || pipe(p) ||
	    timerfd_settime(tfd, 0, &hour, NULL) || waitpid(gone, NULL, 0) != gone)
		fail("setup: %m");
	fds[0] = efd, fds[1] = tfd, fds[2] = sfd, fds[3] = ep, fds[4] = dead;

	d = fork();
	if (d == 0)
		child_d(p[0]);
	c = fork();
	if (c == 0) {
		while (!test_sigterm)
			pause();
		_exit(0);
	}
	if (write(p[1], &c, sizeof(c)) != sizeof(c))
		fail("write: %m");

	test_waitsig();

	for (int i = 0; i < 5; i++)
		if (!same_file(getpid(), fds[i], d, fds[i]))
			fail("fd %d is not shared with the child any more", fds[i]);
	CHECK(!same_file(getpid(), efd, getpid(), tfd));
	CHECK_EQ((long long)fdinfo_ull(dead, "Pid:", 10), -1);

	kill(d, SIGTERM);
	wait_ok(d, "child D");
	/* D's write and D's EPOLL_CTL_ADD, seen here. */
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		fail("read: %m");
	CHECK_EQ(v, 7);
	n = epoll_tfds(ep, tf, 8);
	CHECK_EQ(n, 1);
	CHECK_EQ(tf[0].data, 77);
	kill(c, SIGTERM);
	wait_ok(c, "child C");
	(void)errno;
	pass();
	return 0;
}
