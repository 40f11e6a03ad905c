/*
 * Files in flight: fds sent with SCM_RIGHTS and not yet received, most of
 * them closed by the sender. A pipe's read end (the pipe holds data, its
 * write end closed too), a regular file at an offset (also still held: it
 * must stay one open file description with the fd that holds it), one end
 * of a socketpair with data queued (the other end held), and a socket
 * whose own queue holds it. After restore each arrives with the bytes it
 * came with, and is what it was.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "zdtmtst.h"
#include "unix-util.h"

static void send_fds(int sk, const char *data, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { (void *)data, strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	if (sendmsg(sk, &mh, 0) != (ssize_t)iov.iov_len)
		fail("sendmsg: %m");
}

/* Receive @len bytes, which must be @data, and the fds that come with them. */
static int recv_fds(int sk, const char *data, int *fds, int max)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))], buf[64];
	size_t len = strlen(data);
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int n = 0;

	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sk, &mh, MSG_DONTWAIT) != (ssize_t)len || memcmp(buf, data, len))
		fail("'%s' did not come (%m)", data);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (n > max)
				fail("%d fds came, at most %d expected", n, max);
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	int sv[2], dg[2], self[2], pair[2], p[2], file, fds[4], got[4];
	char path[256], buf[64];
	struct stat st;

	test_init(argc, argv);
	test_path(path, sizeof(path), "file");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, self) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, pair) || pipe(p))
		fail("socketpair: %m");
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file < 0 || write(file, path, strlen(path)) < 0 || ftruncate(file, 8192) ||
	    lseek(file, 1234, SEEK_SET) != 1234)
		fail("file: %m");
	if (write(p[1], "pipe-data", 9) != 9)
		fail("write: %m");
	sk_send(pair[1], 300, 3);
	sk_send(pair[0], 301, 4);

	/*
	 * Stream: plain bytes, bytes with fds, plain bytes. The fds come with
	 * the bytes up to theirs (snap cannot tell where before them they may
	 * start), not with the bytes after.
	 */
	if (send(sv[0], "aaa", 3, 0) != 3 || send(sv[0], "bbb", 3, 0) != 3)
		fail("send: %m");
	fds[0] = p[0];
	fds[1] = file;
	send_fds(sv[0], "ccc", fds, 2);
	send(sv[0], "ddd", 3, 0);
	fds[0] = pair[1];
	send_fds(dg[0], "socket", fds, 1);
	send_fds(dg[0], "none", fds, 0);
	fds[0] = self[1];
	send_fds(self[0], "myself", fds, 1);
	close(p[0]);
	close(p[1]);
	close(pair[1]);

	test_daemon();
	test_waitsig();

	if (recv_fds(sv[1], "aaabbbccc", got, 4) != 2)
		fail("the pipe and the file did not come");
	if (read(got[0], buf, sizeof(buf)) != 9 || memcmp(buf, "pipe-data", 9))
		fail("the pipe lost its data (%m)");
	if (read(got[0], buf, 1) != 0)
		fail("the pipe's write end is open somewhere (%m)");
	if (fstat(got[1], &st) || st.st_size != 8192 || lseek(got[1], 0, SEEK_CUR) != 1234)
		fail("the file is not at offset 1234 of 8192 bytes (%m)");
	if (lseek(got[1], 5000, SEEK_SET) != 5000 || lseek(file, 0, SEEK_CUR) != 5000)
		fail("the file in flight is no longer the one held");
	if (recv_fds(sv[1], "ddd", got, 4) != 0)
		fail("fds came twice");
	sk_expect_empty(sv[1]);

	if (recv_fds(dg[1], "socket", got, 4) != 1)
		fail("the socket did not come");
	sk_expect_bytes(got[0], 301, 4);
	sk_expect_bytes(pair[0], 300, 3);
	sk_check_pair(pair[0], got[0]);
	if (recv_fds(dg[1], "none", got, 4) != 0)
		fail("fds came with a message that had none");

	if (recv_fds(self[1], "myself", got, 4) != 1)
		fail("the socket in its own queue did not come");
	sk_check_pair(self[0], got[0]);
	sk_check_pair(self[0], self[1]);
	pass();
	return 0;
}
