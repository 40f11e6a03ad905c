/*
 * SCM_CREDENTIALS of queued messages, on receivers with SO_PASSCRED: sent
 * by the test itself, by a child that exited since (its pid exists no
 * more), and with credentials named explicitly (uid 1234, gid 5678), on a
 * dgram and a stream socket. Each message comes back with the pid, uid and
 * gid it was sent with.
 */
#include <string.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "unix-util.h"

static void send_creds(int sk, const char *data, const struct ucred *uc)
{
	char cbuf[CMSG_SPACE(sizeof(*uc))];
	struct iovec iov = { (void *)data, strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (uc) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*uc));
		memcpy(CMSG_DATA(c), uc, sizeof(*uc));
	}
	if (sendmsg(sk, &mh, 0) != (ssize_t)iov.iov_len)
		fail("sendmsg: %m");
}

static void expect_creds(int sk, const char *data, pid_t pid, uid_t uid, gid_t gid)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred))], buf[64];
	size_t len = strlen(data);
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ucred uc = { 0, 0, 0 };
	struct cmsghdr *c;

	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sk, &mh, MSG_DONTWAIT) != (ssize_t)len || memcmp(buf, data, len))
		fail("'%s' did not come (%m)", data);
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_CREDENTIALS)
		fail("'%s' came without credentials", data);
	memcpy(&uc, CMSG_DATA(c), sizeof(uc));
	if (uc.pid != pid || uc.uid != uid || uc.gid != gid)
		fail("'%s' came from pid %d uid %u gid %u, not pid %d uid %u gid %u", data, uc.pid,
		     uc.uid, uc.gid, pid, uid, gid);
}

/* A child sends on @sk and exits: its pid is free afterwards. */
static pid_t child_sends(int sk, const char *data)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		fail("fork: %m");
	if (!pid) {
		send_creds(sk, data, NULL);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status)
		fail("child: %#x", status);
	return pid;
}

int main(int argc, char **argv)
{
	struct ucred named = { getpid(), 1234, 5678 };
	int dg[2], st[2], one = 1;
	pid_t me = getpid(), dkid, skid;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || socketpair(AF_UNIX, SOCK_STREAM, 0, st) ||
	    setsockopt(dg[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(st[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		fail("socketpair: %m");
	/* The test_daemon() child sends the rest: it is the one dumped. */
	dkid = child_sends(dg[0], "from-child");
	skid = child_sends(st[0], "child-bytes");

	test_daemon();
	me = getpid();
	named.pid = me;
	send_creds(dg[0], "from-me", NULL);
	send_creds(dg[0], "named", &named);
	send_creds(st[0], "my-bytes", NULL);
	send_creds(st[0], "named-bytes", &named);
	test_waitsig();

	expect_creds(dg[1], "from-child", dkid, 0, 0);
	expect_creds(dg[1], "from-me", me, 0, 0);
	expect_creds(dg[1], "named", me, 1234, 5678);
	sk_expect_empty(dg[1]);
	expect_creds(st[1], "child-bytes", skid, 0, 0);
	expect_creds(st[1], "my-bytes", me, 0, 0);
	expect_creds(st[1], "named-bytes", me, 1234, 5678);
	sk_expect_empty(st[1]);
	pass();
	return 0;
}
