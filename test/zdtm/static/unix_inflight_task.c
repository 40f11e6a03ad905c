/*
 * A target for bad/dump_unix_inflight_*: a message queued in a socketpair
 * carries a file restore could only open inside a process of the tree (a
 * pidfd of a live child, or the process's own /proc/PID/status), so the dump
 * is refused. After the refused dump the message is still there, intact.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static void send_fd(int sk, int fd)
{
	char c = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sk, &mh, 0) != 1)
		fail("sendmsg: %m");
}

static int recv_fd(int sk)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sk, &mh, 0) != 1 || !(cm = CMSG_FIRSTHDR(&mh)) || cm->cmsg_type != SCM_RIGHTS)
		fail("the queued message lost its fd");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

int main(int argc, char **argv)
{
	int sk[2], fd, pidfd = -1;
	pid_t child = -1;
	char path[64];
	struct stat a, b;

	test_init(argc, argv);
	test_daemon();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sk))
		fail("socketpair: %m");
	if (test_argc > 1 && !strcmp(test_argv[1], "proc")) {
		fd = open("/proc/self/status", O_RDONLY);
	} else {
		child = fork();
		if (child < 0)
			fail("fork: %m");
		if (!child) {
			pause();
			_exit(0);
		}
		fd = pidfd = syscall(SYS_pidfd_open, child, 0);
	}
	if (fd < 0)
		fail("open: %m");
	send_fd(sk[0], fd);
	test_waitsig();

	fd = recv_fd(sk[1]);
	if (pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0))
			fail("the pidfd in flight does not reach the child: %m");
		waitpid(child, NULL, 0);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/status", getpid());
		if (fstat(fd, &a) || stat(path, &b) || a.st_ino != b.st_ino)
			fail("the file in flight is not our /proc/PID/status");
	}
	pass();
	return 0;
}
