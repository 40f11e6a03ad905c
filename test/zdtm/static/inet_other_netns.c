/*
 * A UDP socket of another network namespace, made by a child in a new one
 * and passed over: only bad/dump_inet_other_netns runs it (snap refuses
 * sockets of other network namespaces by name). The task runs on.
 */
#include <sched.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "inet-util.h"

static int recv_fd(int sk)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	int fd;

	if (recvmsg(sk, &mh, 0) != 1 || !CMSG_FIRSTHDR(&mh))
		fail("recvmsg: %m");
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	return fd;
}

int main(int argc, char **argv)
{
	int sv[2], fd, status;
	pid_t pid;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		fail("socketpair: %m");
	pid = fork();
	if (!pid) {
		char cbuf[CMSG_SPACE(sizeof(int))], c = 'x';
		struct iovec iov = { &c, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		int u;

		if (unshare(CLONE_NEWNET))
			_exit(2);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &u, sizeof(int));
		_exit(sendmsg(sv[1], &mh, 0) == 1 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		skip("cannot make a socket in a new network namespace");
	fd = recv_fd(sv[0]);
	close(sv[0]);
	close(sv[1]);

	test_daemon();
	test_waitsig();

	CHECK_EQ(in_getopt(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	pass();
	return 0;
}
