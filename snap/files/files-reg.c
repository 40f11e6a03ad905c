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

/*
 * Is @d's path ending in " (deleted)" an unlinked file (true), or really
 * named so (false)? An unlinked file that still has other links can be
 * reached by no path we know: that is an error.
 */
static int check_deleted(const struct fd_desc *d, char *path, bool *deleted)
{
	size_t plen = strlen(path), slen = strlen(DELETED_SUFFIX);
	struct stat st;

	*deleted = false;
	if (d->st.st_nlink == 0) {
		if (plen < slen || strcmp(path + plen - slen, DELETED_SUFFIX)) {
			pr_err("pid %d fd %d: %s has no links but is not shown as deleted; not "
			       "supported yet",
			       d->pid, d->fd, path);
			return -1;
		}
		path[plen - slen] = '\0';
		*deleted = true;
		return 0;
	}
	if (files_stat_as(d->pid, path, &st) || st.st_dev != d->st.st_dev ||
	    st.st_ino != d->st.st_ino) {
		if (plen >= slen && !strcmp(path + plen - slen, DELETED_SUFFIX))
			pr_err("pid %d fd %d: %s was unlinked but has other hard links; not "
			       "supported yet",
			       d->pid, d->fd, path);
		else
			pr_err("pid %d fd %d: %s now names another file (mounted over, or the "
			       "process is in another mount namespace); not supported yet",
			       d->pid, d->fd, path);
		return -1;
	}
	return 0;
}

static int reg_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	char path[sizeof(d->path)];
	RegFileEntry *re;
	bool deleted;

	(void)st;
	strcpy(path, d->path);
	if (check_deleted(d, path, &deleted))
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
	if (!deleted)
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

static int reg_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	char what[64];
	uint64_t size;

	(void)st;
	if (!re) {
		pr_err("files.img: file id %u: a regular file without its reg part", fe->id);
		return -1;
	}
	if (re->path[0] != '/') {
		pr_err("files.img: file id %u: path %s is not absolute", fe->id, re->path);
		return -1;
	}
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

static int reg_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	int fd;

	(void)st;
	if (re->deleted)
		return ghost_open(ctx, fe);
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
	.prepare = reg_prepare,
	.where = reg_where,
	.inflight = reg_inflight,
	.open = reg_open,
	.inherit_key = reg_inherit_key,
};
