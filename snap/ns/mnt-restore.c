// SPDX-License-Identifier: GPL-2.0
/*
 * The mount tree at restore. In snap, mnt_ns_load() reads mnt-ID.img and
 * checks it, the --external paths it needs and the mountpoints under the
 * root, so that a bad input fails before any process exists. In the root
 * process, already in its new mount namespace (a copy of snap's) and its
 * other new namespaces, mnt_ns_restore() makes everything private, clones
 * the root (--root, or snap's /) and mounts each entry on it in image order
 * with the new mount API: a file system anew (fsopen: proc then belongs to
 * the new pid namespace, mqueue to the new ipc one), a bind cloned from
 * its source mount's fd, an external one from the host path. Each mount is
 * attached to its parent's fd at the mountpoint resolved beneath it, never
 * through a symlink. Then flags and propagation, and pivot_root into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "pty-hunt.h"
#include "ns/mnt-rst.h"
#include "ns/ns-kind.h"
#include "ns/mnt.h"

static const char *root_dir(const struct restore_ctx *ctx)
{
	return ctx->opts->root ? ctx->opts->root : "/";
}

static ssize_t find(const struct mnt_rst *r, uint32_t id, size_t before)
{
	for (size_t i = 0; i < before; i++)
		if (r->e[i]->id == id)
			return i;
	return -1;
}

/* @mp under @parent_mp: the rest, relative ("" for the same); NULL if not under it. */
static const char *under(const char *mp, const char *parent_mp)
{
	size_t n = strlen(parent_mp);

	if (!strcmp(parent_mp, "/"))
		return mp + 1;
	if (strncmp(mp, parent_mp, n) || (mp[n] && mp[n] != '/'))
		return NULL;
	return mp[n] ? mp + n + 1 : mp + n;
}

static int check_entry(struct restore_ctx *ctx, struct mnt_rst *r, size_t i)
{
	const MntEntry *e = r->e[i];
	ssize_t p, b;

	if ((i == 0) != (e->kind == MNT_KIND__MNT_ROOT) || e->mountpoint[0] != '/') {
		const char *why = "the first entry is not the root";

		if (e->mountpoint[0] != '/')
			why = "the mountpoint is not absolute";
		else if (i)
			why = "a second root";
		pr_err("image mnt-%u.img: mount %u at %s: %s", r->ns_id, e->id, e->mountpoint, why);
		return -1;
	}
	if (!i)
		return 0;
	p = find(r, e->parent, i);
	if (p < 0 || !under(e->mountpoint, r->e[p]->mountpoint)) {
		pr_err("image mnt-%u.img: mount %u at %s: its parent %u %s", r->ns_id, e->id,
		       e->mountpoint, e->parent,
		       p < 0 ? "does not come before it" : "is not above its mountpoint");
		return -1;
	}
	r->parent[i] = p;
	switch (e->kind) {
	case MNT_KIND__MNT_FS:
		return 0;
	case MNT_KIND__MNT_BIND:
		b = e->has_bind_of ? find(r, e->bind_of, i) : -1;
		if (b < 0 || r->e[b]->kind == MNT_KIND__MNT_EXTERNAL || !e->bind_path ||
		    e->bind_path[0] == '/') {
			pr_err("image mnt-%u.img: mount %u at %s: a bind of mount %u, which does "
			       "not come before it or cannot be bound from",
			       r->ns_id, e->id, e->mountpoint, e->bind_of);
			return -1;
		}
		r->bind_of[i] = b;
		return 0;
	case MNT_KIND__MNT_EXTERNAL:
		r->ext_path[i] = e->ext_key ? mnt_ext_lookup(ctx->opts, e->ext_key) : NULL;
		if (!r->ext_path[i]) {
			pr_err("mount %s of the images is external (key %s): give its host path "
			       "with --external mnt[%s]:PATH",
			       e->mountpoint, e->ext_key ? e->ext_key : "(none)",
			       e->ext_key ? e->ext_key : "KEY");
			return -1;
		}
		if (r->ext_path[i][0] != '/' || access(r->ext_path[i], F_OK)) {
			pr_err("--external mnt[%s]:%s: the host path for %s is not there "
			       "(it must be absolute)",
			       e->ext_key, r->ext_path[i], e->mountpoint);
			return -1;
		}
		return 0;
	default:
		pr_err("image mnt-%u.img: mount %u at %s has an unknown kind %d", r->ns_id, e->id,
		       e->mountpoint, e->kind);
		return -1;
	}
}

/* The mountpoints of the root's children are under --root: say which is not, once. */
static int check_root(struct restore_ctx *ctx, const struct mnt_rst *r)
{
	int dfd = open(root_dir(ctx), O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0) {
		pr_perror("--root %s", root_dir(ctx));
		return -1;
	}
	for (size_t i = 1; i < r->nr; i++) {
		const char *rel = r->e[i]->mountpoint + 1;
		struct stat st;

		if (r->parent[i] || !*rel || !fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		pr_err("mountpoint %s of the %s mount (id %u) is missing under the root %s",
		       r->e[i]->mountpoint, r->e[i]->fstype, r->e[i]->id, root_dir(ctx));
		close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

void mnt_ns_free(void *state)
{
	struct mnt_rst *r = state;

	if (!r)
		return;
	for (size_t i = 0; i < r->nr; i++) {
		if (r->fd && r->fd[i] >= 0)
			close(r->fd[i]);
		if (r->master_fd && r->master_fd[i] >= 0)
			close(r->master_fd[i]);
		protobuf_c_message_free_unpacked(&r->e[i]->base, NULL);
	}
	free(r->e);
	free(r->parent);
	free(r->bind_of);
	free(r->ext_path);
	free(r->fd);
	free(r->master_fd);
	free(r);
}

int mnt_ns_load(struct restore_ctx *ctx, uint32_t id, void **state)
{
	struct mnt_rst *r = calloc(1, sizeof(*r));

	*state = r;
	if (!r) {
		pr_err("out of memory for mount namespace %u", id);
		return -1;
	}
	r->ns_id = id;
	if (img_load_all(ctx->dirfd, IMG_MNT, id, false, (void ***)&r->e, &r->nr))
		return -1;
	r->parent = calloc(r->nr, sizeof(*r->parent));
	r->bind_of = calloc(r->nr, sizeof(*r->bind_of));
	r->ext_path = calloc(r->nr, sizeof(*r->ext_path));
	r->fd = malloc(r->nr * sizeof(*r->fd));
	if (!r->parent || !r->bind_of || !r->ext_path || !r->fd) {
		pr_err("out of memory for mount namespace %u", id);
		return -1;
	}
	for (size_t i = 0; i < r->nr; i++)
		r->fd[i] = -1;
	if (!r->nr) {
		pr_err("image mnt-%u.img: no mounts", id);
		return -1;
	}
	for (size_t i = 0; i < r->nr; i++)
		if (check_entry(ctx, r, i))
			return -1;
	return check_root(ctx, r) || mnt_ext_masters_load(r, root_dir(ctx));
}

/* fsconfig() failed on option @what of @e: say so, with the file system's own words. */
static void fs_refused(int fsfd, const MntEntry *e, const char *what)
{
	int err = errno;
	char msg[512];
	ssize_t n = read(fsfd, msg, sizeof(msg) - 1);

	msg[n > 0 ? n : 0] = '\0';
	if (n > 0 && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	pr_err("mount %u at %s: %s (%s) refuses %s: %s%s%s", e->id, e->mountpoint, e->fstype,
	       e->source ? e->source : "", what, strerror(err), msg[0] ? ": " : "", msg);
}

/* A new file system as @e describes it: a detached mount, or -1 logged. */
static int fs_new(const MntEntry *e)
{
	int fsfd = fsopen(e->fstype, FSOPEN_CLOEXEC), mfd = -1;
	char *opts = strdup(e->sb_opts ? e->sb_opts : ""), *save, *o, *val;

	if (fsfd < 0 || !opts) {
		pr_perror("mount %u at %s: cannot make a %s file system", e->id, e->mountpoint,
			  e->fstype);
		goto out;
	}
	if (e->source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", e->source, 0)) {
		fs_refused(fsfd, e, "its source");
		goto out;
	}
	for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		val = strchr(o, '=');
		if (val)
			*val++ = '\0';
		if (val ? fsconfig(fsfd, FSCONFIG_SET_STRING, o, val, 0)
			: fsconfig(fsfd, FSCONFIG_SET_FLAG, o, NULL, 0)) {
			fs_refused(fsfd, e, o);
			goto out;
		}
	}
	/*
	 * Only a tmpfs or devpts super block is the mount's own: proc,
	 * sysfs, mqueue and cgroup ones may be shared with the host's, whose
	 * mounts a read-only super block would turn read-only too. A tmpfs
	 * with files becomes read-only after they are in (mnt_set_attrs).
	 */
	if (e->sb_ro && !strcmp(e->fstype, "devpts") &&
	    fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0)) {
		fs_refused(fsfd, e, "ro");
		goto out;
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		fs_refused(fsfd, e, "its options");
		goto out;
	}
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		pr_perror("mount %u at %s: cannot mount the new %s", e->id, e->mountpoint,
			  e->fstype);
out:
	free(opts);
	if (fsfd >= 0)
		close(fsfd);
	return mfd;
}

/*
 * A bind of pty slave N of a devpts mount (runc binds the console's slave on
 * /dev/console): the new instance has no pty N yet, the files come later.
 * Made here, with index N, and held for the file that was that pty
 * (ctx->held_ptys).
 */
static int hold_pty(struct restore_ctx *ctx, const struct mnt_rst *r, size_t i)
{
	const MntEntry *e = r->e[i], *src = r->e[r->bind_of[i]];
	const char *p = e->bind_path;
	struct held_pty *h;
	char who[160];
	uint32_t got;
	int fd;

	if (strcmp(src->fstype, "devpts") || !*p || p[strspn(p, "0123456789")] ||
	    !faccessat(r->fd[r->bind_of[i]], p, F_OK, 0))
		return 0;
	snprintf(who, sizeof(who), "mount %u at %s (pty %s of %s)", e->id, e->mountpoint, p,
		 src->mountpoint);
	h = realloc(ctx->held_ptys, (ctx->nr_held_ptys + 1) * sizeof(*h));
	if (!h) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	ctx->held_ptys = h;
	fd = pty_hunt(r->fd[r->bind_of[i]], "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, atoi(p), &got,
		      who);
	if (fd < 0)
		return -1;
	if (got != (uint32_t)atoi(p) || unlockpt(fd)) {
		pr_err("%s: the new devpts instance gave pty %u", who, got);
		close(fd);
		return -1;
	}
	ctx->held_ptys[ctx->nr_held_ptys++] = (struct held_pty){ got, fd };
	return 0;
}

/* A detached mount for entry @i: new, cloned from its source, or from the host. */
static int make(struct restore_ctx *ctx, const struct mnt_rst *r, size_t i)
{
	const MntEntry *e = r->e[i];
	const char *p;
	int fd;

	switch (e->kind) {
	case MNT_KIND__MNT_FS:
		return fs_new(e);
	case MNT_KIND__MNT_BIND:
		p = e->bind_path;
		if (hold_pty(ctx, r, i))
			return -1;
		fd = open_tree(r->fd[r->bind_of[i]], p,
			       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (*p ? 0 : AT_EMPTY_PATH));
		if (fd < 0)
			pr_perror("mount %u at %s: cannot bind %s of mount %u (%s)", e->id,
				  e->mountpoint, *p ? p : "all", r->e[r->bind_of[i]]->id,
				  r->e[r->bind_of[i]]->mountpoint);
		return fd;
	default:
		fd = open_tree(AT_FDCWD, r->ext_path[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fd < 0)
			pr_perror("mount %u at %s: cannot bind the host's %s (--external key %s)",
				  e->id, e->mountpoint, r->ext_path[i], e->ext_key);
		return fd;
	}
}

/* Where entry @i goes: its mountpoint beneath its parent mount, no symlink followed. */
static int target(struct restore_ctx *ctx, const struct mnt_rst *r, size_t i)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
	};
	const MntEntry *e = r->e[i], *pe = r->e[r->parent[i]];
	const char *rel = under(e->mountpoint, pe->mountpoint);
	int fd = syscall(SYS_openat2, r->fd[r->parent[i]], *rel ? rel : ".", &how, sizeof(how));

	if (fd >= 0)
		return fd;
	if (errno == ENOENT && !r->parent[i])
		pr_err("mountpoint %s of the %s mount (id %u) is missing under the root %s",
		       e->mountpoint, e->fstype, e->id, root_dir(ctx));
	else
		pr_perror("mountpoint %s of the %s mount (id %u): cannot reach it in the %s "
			  "mount at %s",
			  e->mountpoint, e->fstype, e->id, pe->fstype, pe->mountpoint);
	return -1;
}

static int mount_one(struct restore_ctx *ctx, struct mnt_rst *r, size_t i)
{
	const MntEntry *e = r->e[i];
	int to = target(ctx, r, i), fd = to < 0 ? -1 : make(ctx, r, i);

	if (fd < 0)
		goto fail;
	if (move_mount(fd, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)) {
		pr_perror("mount %u (%s): cannot attach it at %s", e->id, e->fstype, e->mountpoint);
		goto fail;
	}
	close(to);
	r->fd[i] = fd;
	if (e->tmpfs_data)
		return mnt_tmpfs_restore(ctx->dirfd, fd, e->id, e->mountpoint);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (to >= 0)
		close(to);
	return -1;
}

/* Into the tree at r->fd[0]: it becomes / and the old root goes away. */
static int pivot(struct restore_ctx *ctx, const struct mnt_rst *r)
{
	if (fchdir(r->fd[0]) || syscall(SYS_pivot_root, ".", ".")) {
		pr_perror("cannot pivot_root into the restored mounts on %s", root_dir(ctx));
		return -1;
	}
	/* The old root is stacked on the new one now: detach it, with all under it. */
	if (umount2(".", MNT_DETACH) || chdir("/")) {
		pr_perror("cannot detach the old root after pivot_root");
		return -1;
	}
	return 0;
}

int mnt_ns_restore(struct restore_ctx *ctx, void *state)
{
	struct mnt_rst *r = state;
	const char *src = root_dir(ctx);
	uint64_t t0 = now_ns();

	/* Nothing done here may reach the host's mounts, nor theirs here. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		pr_perror("cannot make the restored mount namespace private");
		return -1;
	}
	r->fd[0] = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (r->fd[0] < 0 || move_mount(r->fd[0], "", AT_FDCWD, src, MOVE_MOUNT_F_EMPTY_PATH)) {
		pr_perror("cannot bind the root %s for the restored mounts", src);
		return -1;
	}
	for (size_t i = 1; i < r->nr; i++)
		if (mount_one(ctx, r, i))
			return -1;
	if (mnt_set_attrs(r) || mnt_set_propagation(r) || pivot(ctx, r))
		return -1;
	for (size_t i = 0; i < r->nr; i++) {
		close(r->fd[i]);
		r->fd[i] = -1;
		if (r->master_fd[i] >= 0)
			close(r->master_fd[i]);
		r->master_fd[i] = -1;
	}
	pr_info("mount namespace %u: %zu mounts restored on %s in %.1f ms", r->ns_id, r->nr, src,
		(now_ns() - t0) / 1e6);
	return 0;
}

const struct ns_kind_ops ns_mnt_ops = {
	.kind = NS_KIND__NS_MNT,
	.dump = mnt_ns_dump,
	.load = mnt_ns_load,
	.restore = mnt_ns_restore,
	.free = mnt_ns_free,
};
