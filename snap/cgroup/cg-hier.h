/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the cgroup files share (not for the rest of snap): the hierarchies
 * mounted here, a task's membership as /proc/PID/cgroup says, and cgroup
 * path arithmetic.
 */
#ifndef SNAP_CG_HIER_H
#define SNAP_CG_HIER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A hierarchy as mounted here. */
struct cg_hier {
	char *controllers; /* sorted, comma-separated; "" for cgroup2 */
	char *mnt;	   /* where it is mounted */
	char *mnt_root;	   /* the cgroup at that mountpoint, "/" for the whole */
};

struct cg_hosts {
	struct cg_hier *h;
	size_t nr;
};

/* One line of /proc/PID/cgroup. */
struct cg_member {
	char *controllers; /* as cg_hier.controllers */
	char *path;	   /* absolute, as snap sees it */
};

struct cg_members {
	struct cg_member *m;
	size_t nr;
};

/* The hierarchies in snap's /proc/self/mountinfo. Logged. */
int cg_hosts_read(struct cg_hosts *hs);
void cg_hosts_free(struct cg_hosts *hs);
const struct cg_hier *cg_host_find(const struct cg_hosts *hs, const char *controllers);
/* "cpu,cpuacct", or "cgroup2" for the unified hierarchy: for messages. */
const char *cg_hier_name(const char *controllers);

/*
 * /proc/@pid/cgroup (@pid 0: snap's own), controllers sorted. -1 with
 * errno, nothing logged: the caller knows whose it is.
 */
int cg_members_read(pid_t pid, struct cg_members *ms);
void cg_members_free(struct cg_members *ms);
const char *cg_members_path(const struct cg_members *ms, const char *controllers);

/*
 * Where cgroup @path (absolute) of hierarchy @h is: @buf gets the
 * directory, with "/@file" appended if @file. -1 if the mount does not
 * show it, or too long, nothing logged.
 */
int cg_fs_path(const struct cg_hier *h, const char *path, const char *file, char *buf, size_t size);

/*
 * @to as a path relative to @from (both absolute, normalised): "" for the
 * same, "a/b" below, "../x" elsewhere. malloc'd, NULL if out of memory.
 */
char *cg_path_rel(const char *from, const char *to);
/*
 * @base (absolute) and @rel joined and normalised into @buf. -1 if it
 * climbs above "/", has an empty or "." component, or does not fit.
 */
int cg_path_join(const char *base, const char *rel, char *buf, size_t size);
/* Whether relative path @rel stays at or below where it starts from. */
bool cg_rel_below(const char *rel);

#endif
