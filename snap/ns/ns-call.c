// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a namespace from inside it. Much of what a namespace holds shows
 * only to its members (uname(), /proc/sys, SysV ids, netlink), and snap must
 * not move itself: a short-lived child joins the namespace, does the job
 * and sends the result back through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "ns/ns.h"

static int join(pid_t pid, NsKind kind)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns_kind_name(kind));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	ret = setns(fd, 0);
	if (ret)
		pr_perror("pid %d: cannot join its %s namespace", pid, ns_kind_name(kind));
	close(fd);
	return ret;
}

ssize_t ns_call(pid_t pid, NsKind kind, int (*fn)(void *arg, int fd), void *arg, void *buf,
		size_t len)
{
	int p[2], status;
	size_t got = 0;
	pid_t child;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("pid %d: pipe for reading its %s namespace", pid, ns_kind_name(kind));
		return -1;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		pr_perror("pid %d: fork for reading its %s namespace", pid, ns_kind_name(kind));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!child) {
		close(p[0]);
		_exit(join(pid, kind) || fn(arg, p[1]) ? 1 : 0);
	}
	close(p[1]);
	while (got < len) {
		ssize_t n = read(p[0], (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(p[0]);
	/* More than @len: the caller's buffer is too small; the child gets SIGPIPE. */
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("pid %d: waiting for its %s namespace reader", pid,
				  ns_kind_name(kind));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/* The child logged why, unless a signal killed it. */
		if (!WIFEXITED(status))
			pr_err("pid %d: the reader of its %s namespace died (signal %d)", pid,
			       ns_kind_name(kind), WTERMSIG(status));
		return -1;
	}
	return got;
}
