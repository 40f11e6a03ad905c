// SPDX-License-Identifier: GPL-2.0
/*
 * The guard of a lazy-pages server: a process of its own that holds a dup
 * of every uffd being served. Should the server die before a process has
 * all its pages, the uffds would close with it and the process would read
 * zeros where its memory was. The guard keeps them open, so that faults
 * wait, kills every such process (SIGKILL through its pidfd) and says so
 * in one line each, then exits. A server that finishes says goodbye first.
 * Chosen over UFFD_FEATURE_SIGBUS, which would refuse every fault, not
 * only those after the server died.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lazy/lazy-int.h"
#include "log.h"

enum { GUARD_ADD = 1, GUARD_DONE, GUARD_BYE, GUARD_CAUSE };

struct guard_msg {
	int op;
	pid_t pid;
	char why[400]; /* GUARD_CAUSE: why the server is about to give up */
};

struct held {
	pid_t pid;
	int uffd, pidfd;
};

static void guard_kill(struct held *h, size_t n, pid_t server, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		if (h[i].pidfd < 0)
			continue;
		if (syscall(SYS_pidfd_send_signal, h[i].pidfd, SIGKILL, NULL, 0) && errno == ESRCH)
			continue;
		if (*why)
			fprintf(stderr,
				"snap lazy-pages: %s, before pid %d had all its memory; pid %d "
				"killed\n",
				why, h[i].pid, h[i].pid);
		else
			fprintf(stderr,
				"snap lazy-pages: the page server (pid %d) died before pid %d had "
				"all its memory; pid %d killed\n",
				server, h[i].pid, h[i].pid);
	}
}

static void __attribute__((noreturn)) guard_main(int sock, pid_t server)
{
	struct held *h = NULL;
	char why[sizeof(((struct guard_msg *)0)->why)] = "";
	size_t n = 0;

	/* Only the server's end going away ends us: not a signal meant for the group. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	setpgid(0, 0);
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))] = {0};
		struct guard_msg m = {0};
		struct iovec iov = {&m, sizeof(m)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		struct held *nh;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			guard_kill(h, n, server, why);
			_exit(1);
		}
		if (m.op == GUARD_BYE)
			_exit(0);
		if (m.op == GUARD_CAUSE) {
			memcpy(why, m.why, sizeof(why) - 1);
			continue;
		}
		if (m.op == GUARD_DONE) {
			for (size_t i = 0; i < n; i++)
				if (h[i].pid == m.pid && h[i].uffd >= 0) {
					close(h[i].uffd);
					close(h[i].pidfd);
					h[i].uffd = h[i].pidfd = -1;
				}
			continue;
		}
		nh = realloc(h, (n + 1) * sizeof(*h));
		if (!nh || !cm || cm->cmsg_type != SCM_RIGHTS)
			continue;
		h = nh;
		h[n].pid = m.pid;
		memcpy(&h[n].uffd, CMSG_DATA(cm), sizeof(int));
		h[n].pidfd = syscall(SYS_pidfd_open, m.pid, 0);
		n++;
	}
}

int lz_guard_start(void)
{
	int sv[2];
	pid_t server = getpid(), pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("cannot make the guard's socket");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot start the guard");
		return -1;
	}
	if (!pid) {
		close(sv[0]);
		guard_main(sv[1], server);
	}
	close(sv[1]);
	return sv[0];
}

ssize_t lz_send_fd(int sk, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sk, &mh, MSG_NOSIGNAL);
}

static int guard_send(int g, int op, pid_t pid, int fd)
{
	struct guard_msg m = {.op = op, .pid = pid};

	if (lz_send_fd(g, &m, sizeof(m), fd) != sizeof(m)) {
		pr_perror("the guard is gone (pid %d)", pid);
		return -1;
	}
	return 0;
}

int lz_guard_add(int g, pid_t pid, int uffd)
{
	return guard_send(g, GUARD_ADD, pid, uffd);
}

int lz_guard_done(int g, pid_t pid)
{
	return guard_send(g, GUARD_DONE, pid, -1);
}

void lz_guard_cause(int g, const char *why)
{
	struct guard_msg m = {.op = GUARD_CAUSE};

	snprintf(m.why, sizeof(m.why), "%s", why);
	if (lz_send_fd(g, &m, sizeof(m), -1) != sizeof(m))
		pr_err("%s", why);
}

void lz_guard_bye(int g)
{
	guard_send(g, GUARD_BYE, 0, -1);
	close(g);
}
