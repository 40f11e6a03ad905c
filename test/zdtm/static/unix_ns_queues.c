/*
 * Queues whose messages need the tree's own namespaces (in the ns flavour,
 * snap refills them from the tree's root):
 *   a stream socket whose peer is closed holds a regular file in flight
 *     (a path of the tree's mount namespace, at an offset): it comes with
 *     its bytes and offset, then the socket reads the end at once;
 *   a dgram socket with SO_PASSCRED holds a message from a child that is
 *     alive (the tree's pid) and one from a child that exited (the pid it
 *     had): each reads with its sender's pid;
 *   a pidfd of the exited child, in flight: it reads as dead, with the
 *     child's exit status.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "pidfd-info.h"
#include "unix-util.h"


static void send_msg(int sk, const char *data, int fd, const struct ucred *uc)
{
	char cbuf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(*uc))];
	struct iovec iov = { (void *)data, strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf };
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_controllen = (fd >= 0 ? CMSG_SPACE(sizeof(int)) : 0) +
			    (uc ? CMSG_SPACE(sizeof(*uc)) : 0);
	c = CMSG_FIRSTHDR(&mh);
	if (fd >= 0) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		c = CMSG_NXTHDR(&mh, c);
	}
	if (uc) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*uc));
		memcpy(CMSG_DATA(c), uc, sizeof(*uc));
	}
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	if (sendmsg(sk, &mh, 0) != (ssize_t)iov.iov_len)
		fail("sendmsg '%s': %m", data);
}

/* @data must come next on @sk: its fd (or -1), its sender's pid in *@pid. */
static int recv_msg(int sk, const char *data, pid_t *pid)
{
	char cbuf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))], buf[64];
	size_t len = strlen(data);
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	struct ucred uc;
	int fd = -1;

	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sk, &mh, MSG_DONTWAIT) != (ssize_t)len || memcmp(buf, data, len))
		fail("'%s' did not come (%m)", data);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		if (c->cmsg_type == SCM_CREDENTIALS && pid) {
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			*pid = uc.pid;
		}
	}
	return fd;
}

int main(int argc, char **argv)
{
	int st[2], dg[2], file, pfd, one = 1, got, status, go[2];
	pid_t alive, dead, from;
	struct pidfd_info_v0 info = { .mask = PIDFD_INFO_EXIT };
	char path[256], buf[16];

	test_init(argc, argv);
	test_path(path, sizeof(path), "file");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
	    setsockopt(dg[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) || pipe(go))
		fail("socketpair: %m");
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file < 0 || write(file, "in-the-tree", 11) != 11 || lseek(file, 3, SEEK_SET) != 3)
		fail("file %s: %m", path);
	send_msg(st[0], "with-file", file, NULL);
	close(file);
	close(st[0]);

	test_daemon();
	dead = fork();
	if (dead < 0)
		fail("fork: %m");
	if (!dead) {
		send_msg(dg[0], "from-dead", -1, NULL);
		_exit(7);
	}
	pfd = syscall(SYS_pidfd_open, dead, 0);
	if (pfd < 0 || waitpid(dead, &status, 0) != dead)
		fail("pidfd_open/waitpid: %m");
	send_msg(dg[0], "pidfd", pfd, NULL);
	close(pfd);
	alive = fork();
	if (alive < 0)
		fail("fork: %m");
	if (!alive) {
		send_msg(dg[0], "from-alive", -1, NULL);
		close(go[1]);
		/* Until the parent is done: its read of our pid must find us. */
		if (read(go[0], buf, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	test_waitsig();

	got = recv_msg(st[1], "with-file", NULL);
	if (got < 0 || lseek(got, 0, SEEK_CUR) != 3 || pread(got, buf, 11, 0) != 11 ||
	    memcmp(buf, "in-the-tree", 11))
		fail("the file in flight is not the one sent, at offset 3 (%m)");
	sk_expect_eof(st[1]);
	from = -1;
	if (recv_msg(dg[1], "from-dead", &from) >= 0 || from != dead)
		fail("'from-dead' came from pid %d, not %d", from, dead);
	got = recv_msg(dg[1], "pidfd", &from);
	if (got < 0 || from != getpid())
		fail("the pidfd did not come, from pid %d", from);
	if (ioctl(got, GET_INFO, &info) || !(info.mask & PIDFD_INFO_EXIT) ||
	    info.exit_code != 7 << 8)
		fail("the pidfd of the exited child has no exit status 7 (%m, mask %#llx, %#x)",
		     (unsigned long long)info.mask, info.exit_code);
	from = -1;
	if (recv_msg(dg[1], "from-alive", &from) >= 0 || from != alive)
		fail("'from-alive' came from pid %d, not %d", from, alive);
	sk_expect_empty(dg[1]);
	close(go[1]);
	if (waitpid(alive, &status, 0) != alive || status)
		fail("the live sender: status %#x", status);
	pass();
	return 0;
}
