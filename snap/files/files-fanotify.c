// SPDX-License-Identifier: GPL-2.0
/*
 * fanotify groups. Dump, from the fdinfo: the fanotify_init() flags and
 * event flags ("fanotify flags:F event-flags:E"), then each mark: on an
 * inode ("fanotify ino:X sdev:Y mflags:F mask:M ignored_mask:I f_handle:H",
 * found by its file handle and saved as its path, files-fhandle.c), on a
 * mount ("fanotify mnt_id:N ...", saved as its mount point) or on a whole
 * filesystem ("fanotify sdev:Y ...", saved as a mount of it). Restore, in
 * snap: fanotify_init() with the same flags, and each mark added again by
 * path: its mask, then its ignore mask, with the flags that shaped it.
 * A mount mark on a mount of the tree's own mount namespace (not in snap's
 * mount table) is saved as the tree sees its mount point, and added again
 * by the tree's root once it has pivoted into the restored mounts
 * (root_opened), on the group it inherited from snap.
 *
 * Queued events are not saved (reading them takes them from the process);
 * the dump warns. Permission events waiting for an answer are lost too: the
 * kernel answers them itself when the group goes away.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-fhandle.h"
#include "files/files-kind.h"
#include "log.h"

/* The mark flags fdinfo shows (fanotify_mark_user_flags()). */
#define MARK_FLAGS (FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)

struct fanotify_dump_state {
	struct mount_table *mt; /* read at the first group */
	struct mount_table *tree_mt; /* the tree's, read at the first mount snap's lacks */
};

/* Restore: the groups with marks the tree's root adds (in_tree), by files.img id. */
struct fanotify_restore_state {
	uint32_t *ids;
	size_t nr;
};

static int add_mark(FanotifyEntry *fa, FanotifyMarkEntry *me)
{
	FanotifyMarkEntry **n = realloc(fa->marks, (fa->n_marks + 1) * sizeof(*n));

	if (!n)
		return -1;
	fa->marks = n;
	fa->marks[fa->n_marks++] = me;
	return 0;
}

/* The object of a mark line: an inode, a mount or a filesystem, as a path. */
/*
 * A mount of the tree's own mount namespace: its mount point as the tree
 * sees it. (Every task of a tree shares its root's mount namespace.)
 */
static int tree_mount(struct fanotify_dump_state *fs, pid_t pid, int mnt_id, const char *what,
		      FanotifyMarkEntry *me)
{
	if (!fs->tree_mt && !(fs->tree_mt = mount_table_read(pid)))
		return -1;
	me->has_in_tree = me->in_tree = true;
	return fsn_tree_mount_path(fs->tree_mt, pid, mnt_id, what, &me->path);
}

static int mark_object(struct fanotify_dump_state *fs, pid_t pid, const char *line,
		       const char *what, FanotifyMarkEntry *me)
{
	unsigned long long v;
	struct fsn_inode in;
	bool symlink;

	if (fdinfo_hex(line, "mnt_id", &v)) {
		me->kind = FANOTIFY_MARK_KIND__FAN_KIND_MOUNT;
		if (!fsn_mount_known(fs->mt, v))
			return tree_mount(fs, pid, v, what, me);
		return fsn_mount_path(fs->mt, v, what, &me->path);
	}
	if (fdinfo_hex(line, "ino", &v)) {
		if (!fdinfo_inode(line, &in))
			goto bad;
		me->kind = FANOTIFY_MARK_KIND__FAN_KIND_INODE;
		me->has_ino = me->has_dev = true;
		me->ino = in.ino;
		me->dev = in.dev;
		if (fsn_inode_path(fs->mt, &in, what, &me->path, &symlink))
			return -1;
		me->has_symlink = me->symlink = symlink;
		return 0;
	}
	if (fdinfo_hex(line, "sdev", &v)) {
		me->kind = FANOTIFY_MARK_KIND__FAN_KIND_FILESYSTEM;
		me->has_dev = true;
		me->dev = fsn_dev(v);
		return fsn_sb_path(fs->mt, me->dev, what, &me->path);
	}
	if (strstr(line, "mnt_ns:")) {
		pr_err("%s: a mark on a mount namespace is not supported yet", what);
		return -1;
	}
bad:
	pr_err("%s: cannot parse '%s'", what, line);
	return -1;
}

static int dump_mark(struct fanotify_dump_state *fs, const struct fd_desc *d, const char *line,
		     FanotifyEntry *fa)
{
	unsigned long long mflags, mask, ignored;
	FanotifyMarkEntry *me;
	char what[96];

	snprintf(what, sizeof(what), "pid %d fd %d: fanotify mark %zu", d->pid, d->fd,
		 fa->n_marks + 1);
	if (!fdinfo_hex(line, "mflags", &mflags) || !fdinfo_hex(line, "mask", &mask) ||
	    !fdinfo_hex(line, "ignored_mask", &ignored)) {
		pr_err("%s: cannot parse '%s'", what, line);
		return -1;
	}
	if (mflags & ~MARK_FLAGS) {
		pr_err("%s: unknown mark flags %#llx", what, mflags);
		return -1;
	}
	me = malloc(sizeof(*me));
	if (!me || add_mark(fa, me)) {
		free(me);
		pr_err("%s: out of memory", what);
		return -1;
	}
	fanotify_mark_entry__init(me);
	me->mflags = mflags;
	me->mask = mask;
	me->ignored_mask = ignored;
	return mark_object(fs, d->pid, line, what, me);
}

static int fanotify_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct fanotify_dump_state *fs = st;
	unsigned long long flags, eflags;
	bool have_flags = false;
	char *text, *p, *line;
	FanotifyEntry *fa;
	int queued = 0, ret = -1;

	(void)ctx;
	fa = malloc(sizeof(*fa));
	if (!fa) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	fanotify_entry__init(fa);
	fe->fanotify = fa;
	fa->flags = d->flags;
	if (!fs->mt && !(fs->mt = mount_table_read(0)))
		return -1;
	text = fdinfo_read(d->pid, d->fd);
	if (!text)
		return -1;
	for (p = text; (line = fdinfo_next_line(&p));) {
		if (strncmp(line, "fanotify ", 9))
			continue;
		if (fdinfo_hex(line, "flags", &flags) && fdinfo_hex(line, "event-flags", &eflags)) {
			fa->init_flags = flags;
			fa->event_flags = eflags;
			have_flags = true;
		} else if (dump_mark(fs, d, line, fa)) {
			goto out;
		}
	}
	if (!have_flags) {
		pr_err("pid %d fd %d: fanotify: its fdinfo has no 'fanotify flags:' line", d->pid,
		       d->fd);
		goto out;
	}
	/* FIONREAD only counts: the events stay for the process. */
	if (ioctl(d->local, FIONREAD, &queued)) {
		pr_perror("pid %d fd %d: fanotify: FIONREAD", d->pid, d->fd);
		goto out;
	}
	if (queued > 0) {
		pr_warn("pid %d fd %d: fanotify: %d bytes of queued events are not saved", d->pid,
			d->fd, queued);
		fa->has_queued = true;
		fa->queued = queued;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

static void fanotify_dump_free(void *st)
{
	mount_table_free(((struct fanotify_dump_state *)st)->mt);
	mount_table_free(((struct fanotify_dump_state *)st)->tree_mt);
}

/* A group with marks on the tree's own mounts: its root adds them (root_opened). */
static int note_in_tree(struct restore_ctx *ctx, struct fanotify_restore_state *rs,
			const FileEntry *fe)
{
	uint32_t *n;

	if (!files_paths_in_task(ctx)) {
		pr_err("files.img: file id %u: fanotify marks a mount of the tree's own mount "
		       "namespace, but the tree is restored in snap's",
		       fe->id);
		return -1;
	}
	n = realloc(rs->ids, (rs->nr + 1) * sizeof(*n));
	if (!n) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return -1;
	}
	rs->ids = n;
	rs->ids[rs->nr++] = fe->id;
	return 0;
}

static int fanotify_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const FanotifyEntry *fa = fe->fanotify;
	bool in_tree = false;

	if (!fa) {
		pr_err("files.img: file id %u: a fanotify without its fanotify part", fe->id);
		return -1;
	}
	for (size_t i = 0; i < fa->n_marks; i++) {
		const FanotifyMarkEntry *me = fa->marks[i];

		const char *bad = NULL;

		if (me->in_tree && me->kind != FANOTIFY_MARK_KIND__FAN_KIND_MOUNT)
			bad = "in_tree (not a mount mark)";
		in_tree |= me->in_tree;

		if (me->kind < FANOTIFY_MARK_KIND__FAN_KIND_INODE ||
		    me->kind > FANOTIFY_MARK_KIND__FAN_KIND_FILESYSTEM)
			bad = "kind";
		else if (me->path[0] != '/')
			bad = "path (not absolute)";
		else if (me->mflags & ~MARK_FLAGS)
			bad = "mark flags";
		if (bad) {
			pr_err("files.img: file id %u: fanotify mark %zu: bad %s (kind %d, path "
			       "'%s', flags %#x)",
			       fe->id, i + 1, bad, me->kind, me->path, me->mflags);
			return -1;
		}
	}
	return in_tree ? note_in_tree(ctx, st, fe) : 0;
}

/* FAN_MARK_ADD of @mask on @me's object, with @flags. */
static int mark(const FileEntry *fe, size_t i, int fd, const FanotifyMarkEntry *me,
		unsigned int flags, uint64_t mask)
{
	static const unsigned int kind_flags[] = {
		[FANOTIFY_MARK_KIND__FAN_KIND_INODE] = FAN_MARK_INODE,
		[FANOTIFY_MARK_KIND__FAN_KIND_MOUNT] = FAN_MARK_MOUNT,
		[FANOTIFY_MARK_KIND__FAN_KIND_FILESYSTEM] = FAN_MARK_FILESYSTEM,
	};

	flags |= FAN_MARK_ADD | kind_flags[me->kind] | (me->symlink ? FAN_MARK_DONT_FOLLOW : 0);
	if (!fanotify_mark(fd, flags, mask, AT_FDCWD, me->path))
		return 0;
	pr_perror("files.img: file id %u: fanotify mark %zu: cannot mark %s again (flags %#x, "
		  "mask %#llx)",
		  fe->id, i + 1, me->path, flags, (unsigned long long)mask);
	return -1;
}

/* Its marks on the tree's own mounts (@in_tree), or the others. */
static int add_marks(const FileEntry *fe, int fd, bool in_tree)
{
	const FanotifyEntry *fa = fe->fanotify;

	for (size_t i = 0; i < fa->n_marks; i++) {
		const FanotifyMarkEntry *me = fa->marks[i];
		unsigned int keep = me->mflags & FAN_MARK_EVICTABLE;
		/* FAN_MARK_IGNORE holds FAN_MARK_IGNORED_MASK: the newer ignore semantics. */
		unsigned int ign =
			(me->mflags & FAN_MARK_IGNORE) ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK;

		if (me->in_tree != in_tree)
			continue;
		if (me->mask && mark(fe, i, fd, me, keep, me->mask))
			return -1;
		ign |= keep | (me->mflags & FAN_MARK_IGNORED_SURV_MODIFY);
		if (me->ignored_mask && mark(fe, i, fd, me, ign, me->ignored_mask))
			return -1;
	}
	return 0;
}

static int fanotify_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const FanotifyEntry *fa = fe->fanotify;
	int fd;

	(void)ctx;
	(void)st;
	fd = fanotify_init(fa->init_flags | FAN_CLOEXEC, fa->event_flags);
	if (fd < 0) {
		pr_perror("files.img: file id %u: fanotify_init(%#x, %#x)", fe->id, fa->init_flags,
			  fa->event_flags);
		return -1;
	}
	if (add_marks(fe, fd, false))
		goto err;
	if (fcntl(fd, F_SETFL, fa->flags) < 0) {
		pr_perror("files.img: file id %u: fanotify: cannot set flags %#o", fe->id,
			  fa->flags);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

/* In the tree's root, pivoted: the group, opened in snap, is inherited at its number. */
static int fanotify_root_opened(struct restore_ctx *ctx, void *st)
{
	struct fanotify_restore_state *rs = st;

	for (size_t i = 0; i < rs->nr; i++) {
		int fd = files_fd_of(ctx, rs->ids[i]);

		if (fd < 0) {
			pr_err("files.img: file id %u: fanotify: not open in the tree's root to "
			       "mark its mounts",
			       rs->ids[i]);
			return -1;
		}
		if (add_marks(files_entry(ctx, rs->ids[i]), fd, true))
			return -1;
	}
	return 0;
}

static void fanotify_restore_free(void *st)
{
	free(((struct fanotify_restore_state *)st)->ids);
}

static const char *const fanotify_names[] = {"[fanotify]", NULL};

const struct fd_ops fanotify_fd_ops = {
	.type = FD_TYPE__FD_FANOTIFY,
	.name = "fanotify",
	.anon = fanotify_names,
	.dump_state = sizeof(struct fanotify_dump_state),
	.dump = fanotify_dump,
	.dump_free = fanotify_dump_free,
	.restore_state = sizeof(struct fanotify_restore_state),
	.prepare = fanotify_prepare,
	.open = fanotify_open,
	.root_opened = fanotify_root_opened,
	.restore_free = fanotify_restore_free,
};
