// SPDX-License-Identifier: GPL-2.0
/*
 * Work inside another ipc namespace (see ipc.h): a thread joins it and runs
 * the work, so that snap itself never leaves its own and nothing has to be
 * switched back, even on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ns/ipc.h"

struct ipc_call {
	int nsfd;
	pid_t pid;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *call_thread(void *p)
{
	struct ipc_call *c = p;

	if (setns(c->nsfd, CLONE_NEWIPC)) {
		pr_perror("pid %d: cannot join its ipc namespace", c->pid);
		c->ret = -1;
		return NULL;
	}
	c->ret = c->fn(c->arg);
	return NULL;
}

int ipc_ns_call(pid_t pid, int (*fn)(void *arg), void *arg)
{
	struct ipc_call c = { .pid = pid, .fn = fn, .arg = arg, .ret = -1 };
	char path[64];
	pthread_t t;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	c.nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.nsfd < 0) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	errno = pthread_create(&t, NULL, call_thread, &c);
	if (errno) {
		pr_perror("pid %d: cannot start a thread to work in its ipc namespace", pid);
		close(c.nsfd);
		return -1;
	}
	pthread_join(t, NULL);
	close(c.nsfd);
	return c.ret;
}
