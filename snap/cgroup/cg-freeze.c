// SPDX-License-Identifier: GPL-2.0
/*
 * --freeze-cgroup PATH: a tree that forks all the time can outrun the
 * walk that seizes it task by task. The cgroup freezer stops everything in
 * the cgroup at once (v1 freezer.state, v2 cgroup.freeze); frozen, every
 * thread listed there and below is seized and told to stop
 * (PTRACE_INTERRUPT), then the cgroup is thawed: each thread stops in its
 * ptrace trap on its way out of the freezer, before it can run a single
 * instruction, let alone fork. tree_seize() then finds them seized by snap
 * already (proc/seize.c) and collects their stops. The cgroup is thawed
 * before cgroup_freeze_seize() returns, whatever happens.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "log.h"

#define FREEZE_TIMEOUT_MS 10000

struct cg_freeze {
	pid_t *tids; /* seized here, not yet handed to the tree */
	size_t nr, cap;
};

struct freezer {
	const char *dir;
	bool v2;
	char state[PATH_MAX]; /* freezer.state or cgroup.freeze */
};

/* Whether the freeze is complete: v1 says FROZEN, v2 "frozen 1" in cgroup.events. */
static int frozen(const struct freezer *f)
{
	char path[PATH_MAX + 16], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, f->v2 ? "cgroup.events" : "freezer.state");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return f->v2 ? strstr(buf, "frozen 1") != NULL : !strncmp(buf, "FROZEN", 6);
}

static int freeze(const struct freezer *f)
{
	int waited, ret;

	if (write_str(f->state, f->v2 ? "1" : "FROZEN")) {
		pr_perror("--freeze-cgroup: cannot freeze %s", f->dir);
		return -1;
	}
	for (waited = 0; waited < FREEZE_TIMEOUT_MS; waited++) {
		ret = frozen(f);
		if (ret < 0) {
			pr_perror("--freeze-cgroup: cannot read the state of %s", f->dir);
			return -1;
		}
		if (ret)
			return 0;
		usleep(1000);
	}
	pr_err("--freeze-cgroup: %s is not frozen after %d ms", f->dir, FREEZE_TIMEOUT_MS);
	return -1;
}

static void thaw(const struct freezer *f)
{
	if (write_str(f->state, f->v2 ? "0" : "THAWED"))
		pr_perror("--freeze-cgroup: cannot thaw %s", f->dir);
}

static bool gone(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return !p || p[2] == 'Z' || p[2] == 'X';
}

static int seize(struct cg_freeze *fz, pid_t tid)
{
	if (tid == getpid()) {
		pr_err("--freeze-cgroup: snap itself is in the cgroup it freezes");
		return -1;
	}
	if (ptrace(PTRACE_SEIZE, tid, NULL, PTRACE_O_TRACESYSGOOD)) {
		if (errno == ESRCH || gone(tid))
			return 0;
		pr_perror("--freeze-cgroup: cannot seize thread %d", tid);
		return -1;
	}
	if (fz->nr == fz->cap) {
		size_t cap = fz->cap ? 2 * fz->cap : 64;
		pid_t *n = realloc(fz->tids, cap * sizeof(*n));

		if (!n) {
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
			pr_err("out of memory for the threads of the frozen cgroup");
			return -1;
		}
		fz->tids = n;
		fz->cap = cap;
	}
	fz->tids[fz->nr++] = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) && errno != ESRCH) {
		pr_perror("--freeze-cgroup: cannot stop thread %d", tid);
		return -1;
	}
	return 0;
}

/* Every thread of cgroup directory @dir and of those below it. */
static int seize_dir(struct cg_freeze *fz, const char *dir, bool v2)
{
	char path[PATH_MAX];
	struct dirent *de;
	int ret = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "cgroup.threads" : "tasks");
	f = fopen(path, "re");
	if (!f) {
		pr_perror("--freeze-cgroup: cannot list the threads of %s", dir);
		return -1;
	}
	for (int tid; !ret && fscanf(f, "%d", &tid) == 1;)
		ret = seize(fz, tid);
	fclose(f);
	d = ret ? NULL : opendir(dir);
	if (!ret && !d) {
		pr_perror("--freeze-cgroup: cannot list %s", dir);
		return -1;
	}
	while (d && !ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = seize_dir(fz, path, v2);
	}
	if (d)
		closedir(d);
	return ret;
}

/* Let go of thread @tid, seized here, once it has stopped (or exited). */
static void release(pid_t tid)
{
	int status;

	if (waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status))
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
}

static bool tree_has(const struct dump_ctx *ctx, pid_t tid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		for (size_t j = 0; t->seized && j < t->nr_threads; j++)
			if (t->threads[j] == tid)
				return true;
	}
	return false;
}

void cgroup_freeze_release(struct dump_ctx *ctx)
{
	struct cg_freeze *fz = ctx->cg_freeze;

	if (!fz)
		return;
	for (size_t i = 0; i < fz->nr; i++)
		if (!tree_has(ctx, fz->tids[i]))
			release(fz->tids[i]);
	free(fz->tids);
	free(fz);
	ctx->cg_freeze = NULL;
}

int cgroup_freeze_seize(struct dump_ctx *ctx)
{
	struct freezer f = {.dir = ctx->opts->freeze_cgroup};
	struct cg_freeze *fz;
	struct stat st;
	int ret;

	if (!f.dir)
		return 0;
	snprintf(f.state, sizeof(f.state), "%s/freezer.state", f.dir);
	if (stat(f.state, &st)) {
		f.v2 = true;
		snprintf(f.state, sizeof(f.state), "%s/cgroup.freeze", f.dir);
		if (stat(f.state, &st)) {
			pr_err("--freeze-cgroup %s: no freezer.state (v1 freezer) or cgroup.freeze "
			       "(cgroup2) there",
			       f.dir);
			return -1;
		}
	}
	fz = calloc(1, sizeof(*fz));
	if (!fz) {
		pr_err("out of memory for the frozen cgroup");
		return -1;
	}
	ctx->cg_freeze = fz;
	if (freeze(&f)) {
		thaw(&f);
		return -1;
	}
	ret = seize_dir(fz, f.dir, f.v2);
	thaw(&f);
	if (!ret)
		pr_info("--freeze-cgroup %s: %zu threads seized frozen", f.dir, fz->nr);
	return ret;
}
