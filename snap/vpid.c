// SPDX-License-Identifier: GPL-2.0
/*
 * Host pids to the pids of the tree's root's pid namespace, at dump (see
 * vpid.h). The fast path, a tree in snap's namespace, translates nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ns/pid-nest.h"
#include "vpid.h"

#define MAX_LEVELS 33 /* the kernel nests pid namespaces 32 deep */

/* The numbers after @key ("NSpid:") in @buf: how many, the last in *@last, the i-th in @at. */
static int ns_field(const char *buf, const char *key, pid_t *last, pid_t *at, int nat)
{
	const char *p = strstr(buf, key);
	int n = 0;

	if (!p)
		return -1;
	p += strlen(key);
	for (;;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (at && n < nat)
			at[n] = v;
		*last = v;
		n++;
		p = end;
		if (*p == '\n' || !*p)
			break;
	}
	return n;
}

/* The status file fits: a few hundred bytes, NSpid and the like in the first kilobyte. */
static int read_status(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int proc_nspids(pid_t pid, pid_t tid, struct nspids *n)
{
	char buf[4096];

	if (read_status(pid, tid, buf, sizeof(buf)))
		return -1;
	n->levels = ns_field(buf, "\nNSpid:", &n->pid, NULL, 0);
	if (n->levels <= 0 || ns_field(buf, "\nNSpgid:", &n->pgid, NULL, 0) != n->levels ||
	    ns_field(buf, "\nNSsid:", &n->sid, NULL, 0) != n->levels) {
		errno = ENODATA;
		return -1;
	}
	return 0;
}

int proc_nspid_all(pid_t pid, pid_t tid, pid_t *at, int max)
{
	char buf[4096];
	pid_t last;

	if (read_status(pid, tid, buf, sizeof(buf)))
		return -1;
	return ns_field(buf, "\nNSpid:", &last, at, max);
}

/* @host's pid at namespace level @level (1: /proc's), 0 if it has none there. */
static pid_t pid_at_level(pid_t host, int level)
{
	pid_t at[MAX_LEVELS], last;
	char buf[4096];
	int n;

	if (read_status(host, 0, buf, sizeof(buf)))
		return 0;
	n = ns_field(buf, "\nNSpid:", &last, at, MAX_LEVELS);
	return n >= level && level <= MAX_LEVELS ? at[level - 1] : 0;
}

pid_t dump_vpid(const struct dump_ctx *ctx, pid_t host)
{
	if (ctx->pidns_level <= 1 || host <= 0)
		return host;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		if (t->pid == host)
			return t->vpid;
		for (size_t k = 0; t->vtids && k < t->nr_threads; k++)
			if (t->threads[k] == host)
				return t->vtids[k];
	}
	/* A group or session whose leader has exited is known by its members. */
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		if (t->pgid == host)
			return t->vpgid;
		if (t->sid == host)
			return t->vsid;
	}
	return pid_at_level(host, ctx->pidns_level);
}

/*
 * @t's pid, group and session at its root's level, its threads' ids there
 * (in snap's own namespace they are the host's: no vtids), and in a pid
 * namespace nested below the root's, its pid and its threads' ids at each
 * level below (dump_task nest, nspid, nstids). One status read each.
 */
static int task_vpids(struct dump_ctx *ctx, struct dump_task *t)
{
	int root = ctx->pidns_level, levels, nest;
	pid_t pid[MAX_LEVELS], pgid[MAX_LEVELS], sid[MAX_LEVELS], last;
	char buf[4096];

	if (read_status(t->pid, 0, buf, sizeof(buf)) ||
	    (levels = ns_field(buf, "\nNSpid:", &last, pid, MAX_LEVELS)) < root ||
	    levels > MAX_LEVELS || ns_field(buf, "\nNSpgid:", &last, pgid, MAX_LEVELS) != levels ||
	    ns_field(buf, "\nNSsid:", &last, sid, MAX_LEVELS) != levels) {
		pr_perror("pid %d: cannot read its pids in its pid namespace (NSpid)", t->pid);
		return -1;
	}
	t->vpid = pid[root - 1];
	t->vpgid = pgid[root - 1];
	t->vsid = sid[root - 1];
	nest = levels - root;
	if (root == 1 && !nest)
		return 0;
	t->vtids = calloc(t->nr_threads + 1, sizeof(pid_t));
	t->nspid = calloc(nest + 1, sizeof(pid_t));
	t->nstids = calloc(t->nr_threads * nest + 1, sizeof(pid_t));
	if (!t->vtids || !t->nspid || !t->nstids) {
		pr_err("pid %d: out of memory for its thread ids", t->pid);
		return -1;
	}
	t->nest = nest;
	memcpy(t->nspid, pid + root, nest * sizeof(pid_t));
	for (size_t k = 0; k < t->nr_threads; k++) {
		pid_t at[MAX_LEVELS];

		if (proc_nspid_all(t->pid, t->threads[k], at, MAX_LEVELS) != levels) {
			pr_perror("pid %d: cannot read the pids of its thread %d in its pid "
				  "namespaces",
				  t->pid, t->threads[k]);
			return -1;
		}
		t->vtids[k] = at[root - 1];
		memcpy(t->nstids + k * nest, at + root, nest * sizeof(pid_t));
	}
	return 0;
}

/* Only the root may be in a session or group outside the namespace, or share one with it. */
static int check_outside(struct dump_ctx *ctx, const struct dump_task *t)
{
	const struct dump_task *p = NULL;

	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == t->ppid)
			p = &ctx->tasks[i];
	if (!p)
		return 0;
	if ((!t->vsid && t->sid != p->sid) || (!t->vpgid && t->pgid != p->pgid)) {
		pr_err("pid %d: its %s %d is outside its pid namespace and not its parent's; "
		       "cannot dump it",
		       t->pid, !t->vsid ? "session" : "process group", !t->vsid ? t->sid : t->pgid);
		return -1;
	}
	return 0;
}

int tree_vpids(struct dump_ctx *ctx)
{
	struct nspids root;

	if (proc_nspids(ctx->tasks[0].pid, 0, &root)) {
		pr_perror("pid %d: cannot read its pids in its pid namespace (NSpid)",
			  ctx->tasks[0].pid);
		return -1;
	}
	ctx->pidns_level = root.levels;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (task_vpids(ctx, &ctx->tasks[i]))
			return -1;
	for (size_t i = 1; root.levels > 1 && i < ctx->nr_tasks; i++)
		if (check_outside(ctx, &ctx->tasks[i]))
			return -1;
	return pidns_nest_check(ctx);
}
