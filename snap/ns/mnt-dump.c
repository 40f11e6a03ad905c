// SPDX-License-Identifier: GPL-2.0
/*
 * The mount tree at dump: each mount of the namespace's mountinfo is the
 * root (rebuilt on --root at restore), a file system mounted from inside
 * (mounted anew), a bind of another mount of the tree, or a bind from
 * outside that the user named with --external. Anything else cannot be
 * rebuilt and is refused by name. The entries are written in an order
 * restore can follow: every mount after its parent and its bind source.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "image.h"
#include "log.h"
#include "mnt.pb-c.h"
#include "ns/mnt.h"

/* File systems restore mounts anew, in the namespaces the root is given. */
static const char *const fs_anew[] = {
	"proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "tmpfs",
};

struct mnt_dump {
	struct mnt_info *m;
	size_t nr;
	MntEntry *e;		 /* as m */
	bool *done;		 /* written */
	struct mnt_tmpfs *tmpfs; /* the tmpfs mounts whose files are saved */
	size_t nr_tmpfs;
};

static bool anew(const char *fstype)
{
	for (size_t i = 0; i < ARRAY_SIZE(fs_anew); i++)
		if (!strcmp(fs_anew[i], fstype))
			return true;
	return false;
}

static ssize_t find(const struct mnt_dump *d, uint32_t id)
{
	for (size_t i = 0; i < d->nr; i++)
		if (d->m[i].id == id)
			return i;
	return -1;
}

/* @path inside @root, component-wise: "" for root itself, NULL if outside. */
static const char *inside(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return path + 1;
	if (strncmp(path, root, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path[n] ? path + n + 1 : path + n;
}

/*
 * The mount @i can be bound from: an earlier one (not external) of the same
 * file system that shows at least what @i does; the widest, then the first.
 */
static ssize_t bind_source(const struct mnt_dump *d, size_t i)
{
	const struct mnt_info *m = &d->m[i];
	ssize_t best = -1;

	for (size_t j = 0; j < i; j++) {
		const struct mnt_info *s = &d->m[j];

		if (s->major != m->major || s->minor != m->minor ||
		    d->e[j].kind == MNT_KIND__MNT_EXTERNAL || !inside(m->root, s->root))
			continue;
		if (best < 0 || strlen(s->root) < strlen(d->m[best].root))
			best = j;
	}
	return best;
}

/*
 * A proc is mounted anew by the tree's root, for its pid namespace: one
 * that a task in a nested pid namespace mounted for its own (its pid 1's)
 * would come back showing the wrong processes. Refused by name; a mount
 * hidden under another at the same place is not looked into.
 */
static int proc_of_other_pidns(pid_t pid, const struct mnt_info *m)
{
	char path[PATH_MAX + 64];
	struct stat mp, init, own;

	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->mountpoint);
	if (stat(path, &mp) || mp.st_dev != makedev(m->major, m->minor))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root%s/1/ns/pid", pid, m->mountpoint);
	if (stat(path, &init))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &own) || (init.st_dev == own.st_dev && init.st_ino == own.st_ino))
		return 0;
	pr_err("pid %d: mount %u at %s is the proc of another pid namespace (pid:[%llu]) than "
	       "the tree's (pid:[%llu]), a nested one's maybe; snap mounts proc anew for the "
	       "tree's: cannot dump it",
	       pid, m->id, m->mountpoint, (unsigned long long)init.st_ino,
	       (unsigned long long)own.st_ino);
	return -1;
}

static int classify(struct dump_ctx *ctx, pid_t pid, struct mnt_dump *d, size_t i)
{
	const struct mnt_info *m = &d->m[i];
	MntEntry *e = &d->e[i];
	const char *key = mnt_ext_lookup(ctx->opts, m->mountpoint);
	ssize_t src;

	if (key) {
		e->kind = MNT_KIND__MNT_EXTERNAL;
		e->ext_key = (char *)key;
		return 0;
	}
	src = bind_source(d, i);
	if (src >= 0) {
		e->kind = MNT_KIND__MNT_BIND;
		e->has_bind_of = true;
		e->bind_of = d->m[src].id;
		e->bind_path = (char *)inside(m->root, d->m[src].root);
		return 0;
	}
	if (anew(m->fstype) && !strcmp(m->root, "/")) {
		if (!strcmp(m->fstype, "proc") && proc_of_other_pidns(pid, m))
			return -1;
		e->kind = MNT_KIND__MNT_FS;
		e->has_tmpfs_data = e->tmpfs_data = !strcmp(m->fstype, "tmpfs");
		return 0;
	}
	pr_err("pid %d: mount %u at %s (%s %s, showing %s of it) is neither a file system "
	       "snap mounts anew nor a bind of another mount of the tree: name it with "
	       "--external mnt[%s]:KEY at dump, and give --external mnt[KEY]:HOSTPATH at restore",
	       pid, m->id, m->mountpoint, m->fstype, m->source, m->root, m->mountpoint);
	return -1;
}

/* The tree's root: at "/", its parent not in the namespace's view. */
static ssize_t find_root(pid_t pid, const struct mnt_dump *d)
{
	ssize_t root = -1;

	for (size_t i = 0; i < d->nr; i++) {
		if (find(d, d->m[i].parent) >= 0 && d->m[i].parent != d->m[i].id)
			continue;
		if (strcmp(d->m[i].mountpoint, "/") || root >= 0) {
			pr_err("pid %d: mount %u at %s has no parent in its namespace and is not "
			       "its only root",
			       pid, d->m[i].id, d->m[i].mountpoint);
			return -1;
		}
		root = i;
	}
	if (root < 0)
		pr_err("pid %d: no mount of its namespace is its root", pid);
	return root;
}

static void fill(struct mnt_dump *d, size_t i)
{
	const struct mnt_info *m = &d->m[i];
	MntEntry *e = &d->e[i];

	e->id = m->id;
	e->parent = e->kind == MNT_KIND__MNT_ROOT ? 0 : m->parent;
	e->mountpoint = m->mountpoint;
	e->root = m->root;
	e->fstype = m->fstype;
	e->source = m->source;
	e->attrs = m->attrs;
	e->sb_opts = m->sb_opts;
	e->has_sb_ro = e->sb_ro = m->sb_ro;
	e->has_shared = !!m->shared;
	e->shared = m->shared;
	e->has_master = !!m->master;
	e->master = m->master;
	e->has_unbindable = e->unbindable = m->unbindable;
}

static bool written(const struct mnt_dump *d, uint32_t id)
{
	ssize_t j = find(d, id);

	return j >= 0 && d->done[j];
}

/* Mountinfo order, held back until the parent and the bind source are out. */
static int write_ordered(pid_t pid, struct mnt_dump *d, struct image *img)
{
	size_t left = d->nr;

	while (left) {
		size_t before = left;

		for (size_t i = 0; i < d->nr; i++) {
			const MntEntry *e = &d->e[i];

			if (d->done[i] || (e->parent && !written(d, e->parent)) ||
			    (e->has_bind_of && !written(d, e->bind_of)))
				continue;
			if (img_write(img, &e->base))
				return -1;
			d->done[i] = true;
			left--;
		}
		if (left == before) {
			pr_err("pid %d: the mounts of its namespace have no order parents come "
			       "first in",
			       pid);
			return -1;
		}
	}
	return 0;
}

int mnt_ns_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id)
{
	uint64_t t0 = now_ns();
	struct mnt_dump d = {0};
	struct image *img = NULL;
	ssize_t root;
	int ret = -1;

	if (mnt_parse(pid, &d.m, &d.nr))
		return -1;
	d.e = calloc(d.nr, sizeof(*d.e));
	d.done = calloc(d.nr, sizeof(*d.done));
	d.tmpfs = calloc(d.nr, sizeof(*d.tmpfs));
	if (!d.e || !d.done || !d.tmpfs) {
		pr_err("out of memory for the mounts of pid %d", pid);
		goto out;
	}
	for (size_t i = 0; i < d.nr; i++)
		mnt_entry__init(&d.e[i]);
	root = find_root(pid, &d);
	if (root < 0)
		goto out;
	d.e[root].kind = MNT_KIND__MNT_ROOT;
	for (size_t i = 0; i < d.nr; i++) {
		if ((ssize_t)i != root && classify(ctx, pid, &d, i))
			goto out;
		fill(&d, i);
	}
	for (size_t i = 0; i < d.nr; i++)
		if (d.e[i].tmpfs_data)
			d.tmpfs[d.nr_tmpfs++] = (struct mnt_tmpfs){d.m[i].mountpoint, d.m[i].id};
	if (mnt_tmpfs_dump(ctx, pid, d.tmpfs, d.nr_tmpfs))
		goto out;
	img = img_open_write(ctx->dirfd, IMG_MNT, id);
	if (!img || write_ordered(pid, &d, img))
		goto out;
	ret = img_close(img);
	img = NULL;
	pr_info("pid %d: mount namespace %u: %zu mounts saved, %zu tmpfs with their files, in "
		"%.1f ms",
		pid, id, d.nr, d.nr_tmpfs, (now_ns() - t0) / 1e6);
out:
	if (img)
		img_abort(img);
	free(d.e);
	free(d.done);
	free(d.tmpfs);
	mnt_info_free(d.m, d.nr);
	return ret;
}
