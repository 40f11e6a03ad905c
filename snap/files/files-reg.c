// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files and directories opened with open(2): reopened by path with the
 * same flags at the same offset.
 *
 * A file deleted while open (a "ghost": its link reads "PATH (deleted)", no
 * links left) cannot be reopened by path: its contents are saved once per
 * inode, shared with the mappings of the same file (mem/ghost.h), and every
 * open file description of it names the ghost. Restore reopens the
 * recreated, unlinked ghost for each: the process sees one unlinked file
 * with the same data, size, holes, owner and mode, each fd at its own offset.
 *
 * A file under /proc/PID of a process of the tree (its own status, say)
 * only exists once that process does: it is opened in the task.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "log.h"
#include "files/link-remap.h"
#include "mem/ghost.h"

static bool reg_match(const struct fd_desc *d)
{
	/* Anonymous files (memfd) have no path to reopen. */
	return d->path[0] == '/' && strncmp(d->path, "/memfd:", 7);
}

/* The target may hold it write-only or O_PATH: the ghost is read through a fresh open. */
static int dump_ghost(struct dump_ctx *ctx, const struct fd_desc *d, const char *path, uint32_t *id)
{
	char what[4096 + 64];
	int fd, ret;

	snprintf(what, sizeof(what), "pid %d fd %d (%s)", d->pid, d->fd, path);
	fd = reopen_fd(d->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("%s: cannot reopen the deleted file to save it", what);
		return -1;
	}
	ret = ghost_note(ctx, fd, what, id);
	close(fd);
	return ret;
}

/* What a path ending in " (deleted)" is. */
enum unlinked {
	LINKED,		/* really named so, or no such ending */
	GHOST,		/* unlinked, no link left: saved as a ghost */
	OTHER_LINKS,	/* unlinked, with other links: --link-remap links it back */
};

/*
 * What @d's path is (enum unlinked); the ending taken off @path when it is
 * unlinked. An unlinked file that still has other links can be reached by
 * no path we know: an error without --link-remap.
 */
static int check_deleted(const struct dump_ctx *ctx, const struct fd_desc *d, char *path)
{
	struct stat st;

	if (d->st.st_nlink == 0) {
		if (!cut_deleted(path)) {
			pr_err("pid %d fd %d: %s has no links but is not shown as deleted; not "
			       "supported yet",
			       d->pid, d->fd, path);
			return -1;
		}
		return GHOST;
	}
	if (!files_stat_as(d->pid, path, &st) && st.st_dev == d->st.st_dev &&
	    st.st_ino == d->st.st_ino)
		return LINKED;
	if (!cut_deleted(path)) {
		pr_err("pid %d fd %d: %s now names another file (mounted over, or the process is "
		       "in another mount namespace); not supported yet",
		       d->pid, d->fd, path);
		return -1;
	}
	if (!ctx->opts->link_remap) {
		pr_err("pid %d fd %d: %s" DELETED_SUFFIX " was unlinked but has other hard links; "
		       "--link-remap links it back until the restore",
		       d->pid, d->fd, path);
		return -1;
	}
	return OTHER_LINKS;
}

static int reg_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	char path[sizeof(d->path)];
	char remap[sizeof(path) + 64], what[sizeof(path) + 64];
	RegFileEntry *re;
	int unlinked;

	(void)st;
	strcpy(path, d->path);
	unlinked = check_deleted(ctx, d, path);
	if (unlinked < 0)
		return -1;
	re = malloc(sizeof(*re));
	if (!re)
		goto oom;
	reg_file_entry__init(re);
	fe->reg = re;
	re->path = strdup(path);
	if (!re->path)
		goto oom;
	re->flags = d->flags;
	re->pos = d->pos;
	re->has_mode = true;
	re->mode = d->st.st_mode;
	re->has_size = true;
	re->size = d->st.st_size;
	if (unlinked == OTHER_LINKS) {
		snprintf(what, sizeof(what), "pid %d fd %d (%s)", d->pid, d->fd, path);
		if (link_remap_make(ctx, d->pid, d->local, path, remap, sizeof(remap), what))
			return -1;
		re->link_remap = strdup(remap);
		if (!re->link_remap)
			goto oom;
	}
	if (unlinked != GHOST)
		return 0;
	re->has_deleted = true;
	re->deleted = true;
	re->has_ghost_id = true;
	return dump_ghost(ctx, d, path, &re->ghost_id);
oom:
	pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
	return -1;
}

static uint32_t ghost_id(const FileEntry *fe)
{
	return fe->reg->has_ghost_id ? fe->reg->ghost_id : fe->id;
}

/* Restore: the --link-remap links of the image, removed once the tree is restored. */
struct reg_rst {
	const char **remaps;
	size_t nr;
};

static int note_remap(struct reg_rst *rr, const FileEntry *fe)
{
	const char *path = fe->reg->link_remap, **p;

	if (path[0] != '/') {
		pr_err("files.img: file id %u: --link-remap path %s is not absolute", fe->id, path);
		return -1;
	}
	for (size_t i = 0; i < rr->nr; i++)
		if (!strcmp(rr->remaps[i], path))
			return 0;
	p = realloc(rr->remaps, (rr->nr + 1) * sizeof(*p));
	if (!p) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return -1;
	}
	rr->remaps = p;
	rr->remaps[rr->nr++] = path;
	return 0;
}

static int reg_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	char what[64];
	uint64_t size;

	if (!re) {
		pr_err("files.img: file id %u: a regular file without its reg part", fe->id);
		return -1;
	}
	if (re->path[0] != '/') {
		pr_err("files.img: file id %u: path %s is not absolute", fe->id, re->path);
		return -1;
	}
	if (re->link_remap && re->deleted) {
		pr_err("files.img: file id %u: both deleted and linked back", fe->id);
		return -1;
	}
	if (re->link_remap && note_remap(st, fe))
		return -1;
	if (!re->deleted)
		return 0;
	snprintf(what, sizeof(what), "files.img: file id %u", fe->id);
	if (ghost_use(ctx, ghost_id(fe), re->path, what, &size))
		return -1;
	/* A directory's size is its filesystem's business; a ghost one has none. */
	if (re->has_size && !S_ISDIR(re->mode) && size != re->size) {
		pr_err("%s: ghost-%u.img holds a file of %llu bytes, files.img says %llu", what,
		       ghost_id(fe), (unsigned long long)size, (unsigned long long)re->size);
		return -1;
	}
	return 0;
}

/* Check what was opened is still that kind of file, and seek to the offset. */
static int reg_finish(const FileEntry *fe, int fd)
{
	const RegFileEntry *re = fe->reg;
	struct stat st;

	if (fstat(fd, &st)) {
		pr_perror("files.img: file id %u: fstat %s", fe->id, re->path);
		goto err;
	}
	if (re->has_mode && ((st.st_mode ^ re->mode) & S_IFMT)) {
		pr_err("files.img: file id %u: %s is no longer a %s", fe->id, re->path,
		       S_ISDIR(re->mode) ? "directory" : "regular file");
		goto err;
	}
	if (re->has_size && !re->deleted && (uint64_t)st.st_size != re->size)
		pr_info("files.img: file id %u: %s changed size since the dump (%llu, now %lld)",
			fe->id, re->path, (unsigned long long)re->size, (long long)st.st_size);
	/* An O_PATH fd has no offset (and lseek on it fails). */
	if (!(re->flags & O_PATH) && lseek(fd, re->pos, SEEK_SET) != (off_t)re->pos) {
		pr_perror("files.img: file id %u: cannot seek %s to %llu", fe->id, re->path,
			  (unsigned long long)re->pos);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

static int ghost_open(struct restore_ctx *ctx, const FileEntry *fe)
{
	int gfd = ghost_fd(ctx, ghost_id(fe)), fd;

	if (gfd < 0) {
		pr_err("files.img: file id %u: ghost-%u.img was not recreated", fe->id,
		       ghost_id(fe));
		return -1;
	}
	fd = reopen_fd(gfd, files_reopen_flags(fe->reg->flags));
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open recreated deleted file %s", fe->id,
			  fe->reg->path);
		return -1;
	}
	return reg_finish(fe, fd);
}

/* The pid of a /proc/PID path of @fe, or 0. */
static long proc_pid(const FileEntry *fe)
{
	const char *p;
	char *end;
	long pid;

	if (!fe->reg || strncmp(fe->reg->path, "/proc/", 6))
		return 0;
	p = fe->reg->path + 6;
	pid = strtol(p, &end, 10);
	return end == p || (*end && *end != '/') ? 0 : pid;
}

static int reg_inflight(const struct dump_ctx *ctx, const FileEntry *fe)
{
	long pid = proc_pid(fe);

	for (size_t i = 0; pid && i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid) {
			pr_err("a message queued in a unix socket carries %s, which restore can "
			       "only open once pid %ld exists, not send again; not supported",
			       fe->reg->path, pid);
			return -1;
		}
	return 0;
}

/*
 * Its own /proc/PID, or another's of the tree: opened once that process
 * exists. In a tree with its own mount namespace, every other path is the
 * tree's: opened by the root once it has pivoted, before its children, so
 * that tasks sharing an open file description (an offset) share it again.
 * A deleted one too: the root recreates it there (shmem_create_in_root()).
 */
static enum fd_where reg_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	long pid = proc_pid(fe);

	/* Its /proc shows the tree's pids: any /proc/PID waits for its task. */
	if (files_paths_in_task(ctx))
		return pid && !fe->reg->deleted ? FD_IN_TASK : FD_IN_ROOT;
	for (size_t i = 0; pid && i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return FD_IN_TASK;
	return FD_IN_SNAP;
}

/*
 * --link-remap: the file through its link, under its old name for the
 * moment of the open when that is free, so that the fd reads "PATH
 * (deleted)" again.
 */
static int remap_open(const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	bool named = !link(re->link_remap, re->path);
	int fd = open(named ? re->path : re->link_remap, files_reopen_flags(re->flags));

	if (named && unlink(re->path)) {
		pr_perror("files.img: file id %u: cannot unlink %s again", fe->id, re->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open %s, --link-remap's link of %s",
			  fe->id, re->link_remap, re->path);
		return -1;
	}
	return reg_finish(fe, fd);
}

/* The restore can no longer fail: the links --link-remap made go. */
static int reg_tree_restored(struct restore_ctx *ctx, void *st)
{
	struct reg_rst *rr = st;
	char path[4200];

	for (size_t i = 0; i < rr->nr; i++) {
		/* In the tree's own mount namespace, through its root's. */
		if (files_paths_in_task(ctx))
			snprintf(path, sizeof(path), "/proc/%d/root%s", ctx->tasks[0].real,
				 rr->remaps[i]);
		else
			snprintf(path, sizeof(path), "%s", rr->remaps[i]);
		if (unlink(path))
			pr_warn("cannot remove %s, made by --link-remap: %s", rr->remaps[i],
				strerror(errno));
	}
	return 0;
}

static void reg_restore_free(void *st)
{
	free(((struct reg_rst *)st)->remaps);
}

static int reg_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	int fd;

	(void)st;
	if (re->deleted)
		return ghost_open(ctx, fe);
	if (re->link_remap)
		return remap_open(fe);
	fd = open(re->path, files_reopen_flags(re->flags));
	if (fd < 0) {
		pr_err("files.img: file id %u: cannot open %s: %s", fe->id, re->path,
		       strerror(errno));
		return -1;
	}
	return reg_finish(fe, fd);
}

static int reg_inherit_key(const FileEntry *fe, char *buf, size_t len)
{
	if (!fe->reg)
		return -1;
	snprintf(buf, len, "%s", fe->reg->path);
	return 0;
}

const struct fd_ops reg_fd_ops = {
	.type = FD_TYPE__FD_REG,
	.name = "regular file",
	.fmts = FD_FMT(S_IFREG) | FD_FMT(S_IFDIR),
	.match = reg_match,
	.dump = reg_dump,
	.restore_state = sizeof(struct reg_rst),
	.prepare = reg_prepare,
	.where = reg_where,
	.inflight = reg_inflight,
	.open = reg_open,
	.inherit_key = reg_inherit_key,
	.tree_restored = reg_tree_restored,
	.restore_free = reg_restore_free,
};
