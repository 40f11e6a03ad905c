// SPDX-License-Identifier: GPL-2.0
/*
 * The tree's network namespace as a place snap's thread visits (net-ns.h):
 * sockets, sock_diag and nf_tables are per namespace, and a netlink or
 * inet socket belongs to the namespace of the thread that made it. setns()
 * with CLONE_NEWNET moves only the calling thread, so snap steps in for
 * the work on sockets and back out; its other threads and the processes it
 * forks (action scripts) stay in snap's namespace.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "ns/net-ns.h"

struct net_ns_scope {
	int fd;	   /* the tree's network namespace */
	int back;  /* where the entering thread was, while inside */
	int depth; /* nested net_ns_enter() calls */
	ino_t ino; /* for messages */
};

int net_ns_scope_from_fd(int fd, const char *what, struct net_ns_scope **out)
{
	struct net_ns_scope *s;
	struct stat st;

	*out = NULL;
	if (fstat(fd, &st)) {
		pr_perror("cannot read the network namespace of %s", what);
		close(fd);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		pr_err("out of memory for the network namespace of %s", what);
		close(fd);
		return -1;
	}
	s->fd = fd;
	s->back = -1;
	s->ino = st.st_ino;
	*out = s;
	return 0;
}

int net_ns_scope_open(pid_t pid, struct net_ns_scope **out)
{
	struct stat ours, its;
	char path[64], what[32];
	int fd;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &its) || stat("/proc/thread-self/ns/net", &ours)) {
		pr_perror("pid %d: cannot read its network namespace (%s)", pid, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (its.st_dev == ours.st_dev && its.st_ino == ours.st_ino) {
		close(fd);
		return 0;
	}
	snprintf(what, sizeof(what), "pid %d", pid);
	return net_ns_scope_from_fd(fd, what, out);
}

int net_ns_enter(struct net_ns_scope *s)
{
	if (!s || s->depth++)
		return 0;
	s->back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->back < 0) {
		pr_perror("cannot open snap's own network namespace");
		s->depth--;
		return -1;
	}
	if (setns(s->fd, CLONE_NEWNET)) {
		pr_perror("cannot enter the tree's network namespace (net:[%lu])",
			  (unsigned long)s->ino);
		close(s->back);
		s->back = -1;
		s->depth--;
		return -1;
	}
	return 0;
}

int net_ns_leave(struct net_ns_scope *s)
{
	if (!s || !s->depth || --s->depth)
		return 0;
	if (setns(s->back, CLONE_NEWNET)) {
		pr_perror("cannot go back to snap's network namespace from the tree's "
			  "(net:[%lu])",
			  (unsigned long)s->ino);
		return -1;
	}
	close(s->back);
	s->back = -1;
	return 0;
}

int net_ns_scope_fd(const struct net_ns_scope *s)
{
	return s->fd;
}

void net_ns_scope_free(struct net_ns_scope *s)
{
	if (!s)
		return;
	if (s->depth) {
		s->depth = 1;
		net_ns_leave(s);
	}
	if (s->back >= 0)
		close(s->back);
	close(s->fd);
	free(s);
}
