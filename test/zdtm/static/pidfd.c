/*
 * pidfds of a child (and a dup of it), of the process itself (PIDFD_THREAD,
 * PIDFD_NONBLOCK), of a zombie child, of a child that exited with 42 and
 * was reaped, and one a child holds of its parent. After restore each
 * names its process again (fdinfo Pid:), the zombie is reaped through its
 * pidfd with its status, and the dead one reads as dead: Pid: -1, the same
 * poll() bits, waitid(P_PIDFD) ECHILD, and its exit status where the
 * kernel keeps it (PIDFD_GET_INFO).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "anon-fdinfo.h"
#include "pidfd-info.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#define DUP_FD	60

static int pidfd_open(pid_t pid, unsigned int flags)
{
	int fd = syscall(SYS_pidfd_open, pid, flags);

	if (fd < 0)
		fail("pidfd_open(%d, %#x): %m", pid, flags);
	return fd;
}

static short revents(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) < 0)
		fail("poll: %m");
	return p.revents;
}

/* Exit status the kernel keeps for a dead pidfd, or -1. */
static int exit_info(int fd)
{
	struct pidfd_info_v0 info = { .mask = PIDFD_INFO_EXIT };

	if (ioctl(fd, GET_INFO, &info) || !(info.mask & PIDFD_INFO_EXIT))
		return -1;
	return info.exit_code;
}

/* A child that holds a pidfd of its parent and checks it after SIGTERM. */
static void child(void)
{
	int pfd = pidfd_open(getppid(), 0);

	while (!test_sigterm)
		pause();
	if (fdinfo_ull(pfd, "Pid:", 10) != (unsigned long long)getppid())
		_exit(2);
	if (syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0))
		_exit(3);
	_exit(0);
}

/* A child that exits with @code once told (so that we hold its pidfd first). */
static pid_t exiting(int code, int *pidfd, int *go)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(1);
		_exit(code);
	}
	close(p[0]);
	*pidfd = pidfd_open(pid, 0);
	*go = p[1];
	return pid;
}

int main(int argc, char **argv)
{
	int cfd, self, zfd, dfd, zgo, dgo, dead_info, status, thread = PIDFD_THREAD;
	short dead_poll;
	siginfo_t si;
	pid_t c, z, d;

	test_init(argc, argv);
	test_daemon();
	c = fork();
	if (c < 0)
		fail("fork: %m");
	if (c == 0)
		child();
	cfd = pidfd_open(c, 0);
	if (dup2(cfd, DUP_FD) != DUP_FD)
		fail("dup2: %m");
	self = syscall(SYS_pidfd_open, getpid(), PIDFD_THREAD | O_NONBLOCK);
	if (self < 0 && errno == EINVAL) {
		thread = 0;
		self = pidfd_open(getpid(), O_NONBLOCK);
	}
	if (self < 0)
		fail("pidfd_open(self): %m");

	z = exiting(7, &zfd, &zgo);
	d = exiting(42, &dfd, &dgo);
	close(zgo);
	close(dgo);
	if (waitid(P_PID, z, &si, WEXITED | WNOWAIT) || waitpid(d, &status, 0) != d)
		fail("waiting for the children: %m");
	dead_poll = revents(dfd);
	dead_info = exit_info(dfd);
	test_waitsig();

	CHECK_EQ(fdinfo_ull(cfd, "Pid:", 10), c);
	CHECK(same_file(getpid(), cfd, getpid(), DUP_FD));
	CHECK_EQ(fdinfo_ull(self, "Pid:", 10), getpid());
	CHECK_EQ(fcntl(self, F_GETFL) & (O_NONBLOCK | PIDFD_THREAD), O_NONBLOCK | thread);
	CHECK(!(fcntl(cfd, F_GETFL) & O_NONBLOCK));
	CHECK_EQ(revents(cfd), 0);
	CHECK_EQ(fdinfo_ull(zfd, "Pid:", 10), z);
	CHECK_EQ((long long)fdinfo_ull(dfd, "Pid:", 10), -1);

	/* The dead one. */
	CHECK_EQ(revents(dfd), dead_poll);
	CHECK(dead_poll & POLLIN);
	if (!syscall(SYS_waitid, P_PIDFD, dfd, &si, WEXITED | WNOHANG, NULL) || errno != ECHILD)
		fail("waitid on the dead child's pidfd: %m, expected ECHILD");
	CHECK_EQ(exit_info(dfd), dead_info);

	/* The zombie: readable, and reaped through its pidfd with its status. */
	CHECK(revents(zfd) & POLLIN);
	memset(&si, 0, sizeof(si));
	if (syscall(SYS_waitid, P_PIDFD, zfd, &si, WEXITED, NULL))
		fail("waitid(P_PIDFD) of the zombie: %m");
	CHECK_EQ(si.si_pid, z);
	CHECK_EQ(si.si_status, 7);

	/* The child: signalled through its pidfd, reaped through it. */
	if (syscall(SYS_pidfd_send_signal, DUP_FD, SIGTERM, NULL, 0))
		fail("pidfd_send_signal: %m");
	memset(&si, 0, sizeof(si));
	if (syscall(SYS_waitid, P_PIDFD, cfd, &si, WEXITED, NULL))
		fail("waitid(P_PIDFD) of the child: %m");
	if (si.si_code != CLD_EXITED || si.si_status)
		fail("the child's pidfd of its parent is wrong (exit %d)", si.si_status);
	pass();
	return 0;
}
