// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files and directories opened with open(2): reopened by path with the
 * same flags at the same offset.
 *
 * A file deleted while open (a "ghost": its link reads "PATH (deleted)", no
 * links left) cannot be reopened by path, so its contents go to ghost-ID.img,
 * once per inode: every open file description of it names the same ghost.
 * Restore recreates it once next to where it was, opens it for each file
 * description, and unlinks it when all are open: the process sees one
 * unlinked file with the same data and mode, each fd at its own offset.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "files/files.h"
#include "image.h"
#include "log.h"

/* Ghost contents live in the image and in snap's memory while restoring. */
#define GHOST_MAX      (64ULL << 20)
#define DELETED_SUFFIX " (deleted)"

static bool reg_match(const struct fd_desc *d, const struct dump_ctx *ctx)
{
	(void)ctx;
	if (!S_ISREG(d->st.st_mode) && !S_ISDIR(d->st.st_mode))
		return false;
	/* Anonymous files (memfd, pidfd, anon inodes) have no path to reopen. */
	return d->path[0] == '/' && strncmp(d->path, "/memfd:", 7);
}

static int dump_ghost(struct dump_ctx *ctx, const struct fd_desc *d, const char *path, uint32_t id)
{
	GhostFileEntry g = GHOST_FILE_ENTRY__INIT;
	size_t size = d->st.st_size, len = 0;
	int fd = -1, ret = -1;
	ssize_t n;

	if ((unsigned long long)d->st.st_size > GHOST_MAX) {
		pr_err("pid %d fd %d: deleted file %s holds %lld bytes; snap saves at most %llu "
		       "MiB of a deleted file (link it back or truncate it before dumping)",
		       d->pid, d->fd, path, (long long)d->st.st_size, GHOST_MAX >> 20);
		return -1;
	}
	/* The target may hold it write-only or O_PATH: read through a fresh open. */
	fd = reopen_fd(d->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d fd %d: cannot reopen deleted file %s to save it", d->pid, d->fd,
			  path);
		return -1;
	}
	g.data.data = malloc(size ? size : 1);
	if (!g.data.data) {
		pr_err("pid %d fd %d: no memory for the %zu bytes of deleted file %s", d->pid,
		       d->fd, size, path);
		goto out;
	}
	while (len < size) {
		n = pread(fd, g.data.data + len, size - len, len);
		if (n < 0) {
			pr_perror("pid %d fd %d: cannot read deleted file %s", d->pid, d->fd, path);
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	g.id = id;
	g.mode = d->st.st_mode & 07777;
	g.data.len = len;
	ret = img_write_one(ctx->dirfd, IMG_GHOST, id, &g.base);
out:
	free(g.data.data);
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
	if (stat(path, &st) || st.st_dev != d->st.st_dev || st.st_ino != d->st.st_ino) {
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

static int reg_dump(struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe)
{
	char path[sizeof(d->path)];
	RegFileEntry *re;
	bool deleted;

	strcpy(path, d->path);
	if (check_deleted(d, path, &deleted))
		return -1;
	if (deleted && S_ISDIR(d->st.st_mode)) {
		pr_err("pid %d fd %d: directory %s was removed while open; not supported yet",
		       d->pid, d->fd, path);
		return -1;
	}

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
	re->ghost_id = file_table_find_ghost(ctx->files, d->st.st_dev, d->st.st_ino);
	if (re->ghost_id)
		return 0;
	re->ghost_id = fe->id;
	return dump_ghost(ctx, d, path, fe->id);
oom:
	pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
	return -1;
}

/* A recreated ghost, unlinked once every fd of the task is open. */
struct ghost_made {
	uint32_t id;
	char name[4096 + 32];
};

static uint32_t ghost_id(const FileEntry *fe)
{
	return fe->reg->has_ghost_id ? fe->reg->ghost_id : fe->id;
}

static GhostFileEntry *find_ghost(const struct files_restore_state *st, uint32_t id)
{
	for (size_t i = 0; i < st->nr_ghosts; i++)
		if (st->ghosts[i]->id == id)
			return st->ghosts[i];
	return NULL;
}

static int reg_prepare(struct restore_ctx *ctx, const FileEntry *fe)
{
	struct files_restore_state *st = files_rst(ctx);
	const RegFileEntry *re = fe->reg;
	ProtobufCMessage *msg;
	GhostFileEntry *g, **n;

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
	if (find_ghost(st, ghost_id(fe)))
		return 0;

	if (img_load_one(ctx->dirfd, IMG_GHOST, ghost_id(fe), &msg))
		return -1;
	g = (GhostFileEntry *)msg;
	if (g->id != ghost_id(fe) || (re->has_size && g->data.len != re->size)) {
		pr_err("ghost-%u.img: holds ghost %u with %zu bytes; files.img says ghost %u, "
		       "%llu bytes",
		       ghost_id(fe), g->id, g->data.len, ghost_id(fe),
		       (unsigned long long)re->size);
		ghost_file_entry__free_unpacked(g, NULL);
		return -1;
	}
	n = realloc(st->ghosts, (st->nr_ghosts + 1) * sizeof(*n));
	if (!n) {
		pr_err("ghost-%u.img: out of memory", fe->id);
		ghost_file_entry__free_unpacked(g, NULL);
		return -1;
	}
	st->ghosts = n;
	st->ghosts[st->nr_ghosts++] = g;
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

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len && !*p) {
		p++;
		len--;
	}
	return !len;
}

static int ghost_fill(const FileEntry *fe, const GhostFileEntry *g, int fd, const char *name)
{
	size_t off, chunk;
	ssize_t n;

	/* Zero pages are left as holes, as they most likely were. */
	if (ftruncate(fd, g->data.len))
		goto err;
	for (off = 0; off < g->data.len; off += chunk) {
		chunk = g->data.len - off < 65536 ? g->data.len - off : 65536;
		if (all_zero(g->data.data + off, chunk))
			continue;
		n = pwrite(fd, g->data.data + off, chunk, off);
		if (n <= 0) {
			if (!n)
				errno = EIO;
			goto err;
		}
		/* A short write: go on from where it stopped. */
		chunk = n;
	}
	/* The create mode went through our umask. */
	if (fchmod(fd, g->mode))
		goto err;
	return 0;
err:
	pr_perror("files.img: file id %u: cannot write the saved contents to %s", fe->id, name);
	return -1;
}

/* Recreate ghost @g under its own name if free, so the fd reads "PATH (deleted)". */
static struct ghost_made *ghost_make(struct files_restore_state *st, const FileEntry *fe,
				     const GhostFileEntry *g)
{
	const RegFileEntry *re = fe->reg;
	struct ghost_made *m;
	char dir[4096];
	int wfd;

	m = realloc(st->ghosts_made, (st->nr_ghosts_made + 1) * sizeof(*m));
	if (!m) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return NULL;
	}
	st->ghosts_made = m;
	m = &st->ghosts_made[st->nr_ghosts_made];
	m->id = g->id;
	snprintf(m->name, sizeof(m->name), "%s", re->path);
	wfd = open(m->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (wfd < 0 && errno == EEXIST) {
		snprintf(dir, sizeof(dir), "%s", re->path);
		snprintf(m->name, sizeof(m->name), "%s/.snap-ghost-XXXXXX", dirname(dir));
		wfd = mkostemp(m->name, O_CLOEXEC);
	}
	if (wfd < 0) {
		pr_perror("files.img: file id %u: cannot recreate deleted file %s as %s", fe->id,
			  re->path, m->name);
		return NULL;
	}
	st->nr_ghosts_made++;
	if (ghost_fill(fe, g, wfd, m->name)) {
		close(wfd);
		return NULL;
	}
	close(wfd);
	return m;
}

static int ghost_open(struct restore_ctx *ctx, const FileEntry *fe)
{
	struct files_restore_state *st = files_rst(ctx);
	const GhostFileEntry *g = find_ghost(st, ghost_id(fe));
	struct ghost_made *m = NULL;
	size_t i;
	int fd;

	if (!g) {
		pr_err("files.img: file id %u: ghost-%u.img was not loaded", fe->id, ghost_id(fe));
		return -1;
	}
	for (i = 0; i < st->nr_ghosts_made && !m; i++)
		if (st->ghosts_made[i].id == g->id)
			m = &st->ghosts_made[i];
	if (!m)
		m = ghost_make(st, fe, g);
	if (!m)
		return -1;
	fd = open(m->name, files_reopen_flags(fe->reg->flags));
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open recreated deleted file %s", fe->id,
			  m->name);
		return -1;
	}
	return reg_finish(fe, fd);
}

/* Every fd is open: the recreated ghosts lose their names again. */
static void reg_restore_done(struct restore_ctx *ctx)
{
	struct files_restore_state *st = files_rst(ctx);

	for (size_t i = 0; i < st->nr_ghosts_made; i++)
		if (unlink(st->ghosts_made[i].name))
			pr_warn("cannot remove recreated deleted file %s: %s",
				st->ghosts_made[i].name, strerror(errno));
	st->nr_ghosts_made = 0;
}

static int reg_open(struct restore_ctx *ctx, const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	int fd;

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

const struct fd_ops reg_fd_ops = {
	.type = FD_TYPE__FD_REG,
	.name = "regular file",
	.match = reg_match,
	.dump = reg_dump,
	.open = reg_open,
	.prepare = reg_prepare,
	.restore_done = reg_restore_done,
};
