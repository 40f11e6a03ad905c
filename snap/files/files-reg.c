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
 * The ghosts met (dump) and loaded and recreated (restore) are this kind's
 * state.
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
#include "image.h"
#include "log.h"

/* Ghost contents live in the image and in snap's memory while restoring. */
#define GHOST_MAX      (64ULL << 20)
#define DELETED_SUFFIX " (deleted)"

/* Dump: each deleted inode met, saved once as ghost-ID.img. */
struct ghost_seen {
	dev_t dev;
	ino_t ino;
	uint32_t id;
};

struct reg_dump_state {
	struct ghost_seen *seen;
	size_t nr_seen;
};

/* A recreated ghost, unlinked once every fd is open. */
struct ghost_made {
	uint32_t id;
	char name[4096 + 32];
};

struct reg_restore_state {
	GhostFileEntry **ghosts;	/* ghost-ID.img of deleted files */
	size_t nr_ghosts;
	struct ghost_made *made;	/* recreated, to unlink when done */
	size_t nr_made;
};

static bool reg_match(const struct fd_desc *d)
{
	/* Anonymous files (memfd) have no path to reopen. */
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

static uint32_t find_seen(const struct reg_dump_state *rs, const struct fd_desc *d)
{
	for (size_t i = 0; i < rs->nr_seen; i++)
		if (rs->seen[i].dev == d->st.st_dev && rs->seen[i].ino == d->st.st_ino)
			return rs->seen[i].id;
	return 0;
}

static int add_seen(struct reg_dump_state *rs, const struct fd_desc *d, uint32_t id)
{
	struct ghost_seen *n = realloc(rs->seen, (rs->nr_seen + 1) * sizeof(*n));

	if (!n) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	rs->seen = n;
	rs->seen[rs->nr_seen++] = (struct ghost_seen){ d->st.st_dev, d->st.st_ino, id };
	return 0;
}

static int reg_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
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
	re->ghost_id = find_seen(st, d);
	if (re->ghost_id)
		return 0;
	re->ghost_id = fe->id;
	return dump_ghost(ctx, d, path, fe->id) || add_seen(st, d, fe->id) ? -1 : 0;
oom:
	pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
	return -1;
}

static void reg_dump_free(void *st)
{
	free(((struct reg_dump_state *)st)->seen);
}

static uint32_t ghost_id(const FileEntry *fe)
{
	return fe->reg->has_ghost_id ? fe->reg->ghost_id : fe->id;
}

static GhostFileEntry *find_ghost(const struct reg_restore_state *rs, uint32_t id)
{
	for (size_t i = 0; i < rs->nr_ghosts; i++)
		if (rs->ghosts[i]->id == id)
			return rs->ghosts[i];
	return NULL;
}

static int reg_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct reg_restore_state *rs = st;
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
	if (find_ghost(rs, ghost_id(fe)))
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
	n = realloc(rs->ghosts, (rs->nr_ghosts + 1) * sizeof(*n));
	if (!n) {
		pr_err("ghost-%u.img: out of memory", fe->id);
		ghost_file_entry__free_unpacked(g, NULL);
		return -1;
	}
	rs->ghosts = n;
	rs->ghosts[rs->nr_ghosts++] = g;
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
static struct ghost_made *ghost_make(struct reg_restore_state *rs, const FileEntry *fe,
				     const GhostFileEntry *g)
{
	const RegFileEntry *re = fe->reg;
	struct ghost_made *m;
	char dir[4096];
	int wfd;

	m = realloc(rs->made, (rs->nr_made + 1) * sizeof(*m));
	if (!m) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return NULL;
	}
	rs->made = m;
	m = &rs->made[rs->nr_made];
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
	rs->nr_made++;
	if (ghost_fill(fe, g, wfd, m->name)) {
		close(wfd);
		return NULL;
	}
	close(wfd);
	return m;
}

static int ghost_open(struct reg_restore_state *rs, const FileEntry *fe)
{
	const GhostFileEntry *g = find_ghost(rs, ghost_id(fe));
	struct ghost_made *m = NULL;
	size_t i;
	int fd;

	if (!g) {
		pr_err("files.img: file id %u: ghost-%u.img was not loaded", fe->id, ghost_id(fe));
		return -1;
	}
	for (i = 0; i < rs->nr_made && !m; i++)
		if (rs->made[i].id == g->id)
			m = &rs->made[i];
	if (!m)
		m = ghost_make(rs, fe, g);
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
static void reg_opened(struct restore_ctx *ctx, void *st)
{
	struct reg_restore_state *rs = st;

	(void)ctx;
	for (size_t i = 0; i < rs->nr_made; i++)
		if (unlink(rs->made[i].name))
			pr_warn("cannot remove recreated deleted file %s: %s", rs->made[i].name,
				strerror(errno));
	rs->nr_made = 0;
}

static void reg_restore_free(void *st)
{
	struct reg_restore_state *rs = st;

	for (size_t i = 0; i < rs->nr_ghosts; i++)
		ghost_file_entry__free_unpacked(rs->ghosts[i], NULL);
	free(rs->ghosts);
	free(rs->made);
}

/* Its own /proc/PID, or another's of the tree: opened once that process exists. */
static enum fd_where reg_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	const char *p;
	char *end;
	long pid;

	if (!fe->reg || strncmp(fe->reg->path, "/proc/", 6))
		return FD_IN_SNAP;
	p = fe->reg->path + 6;
	pid = strtol(p, &end, 10);
	if (end == p || (*end && *end != '/'))
		return FD_IN_SNAP;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return FD_IN_TASK;
	return FD_IN_SNAP;
}

static int reg_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const RegFileEntry *re = fe->reg;
	int fd;

	(void)ctx;
	if (re->deleted)
		return ghost_open(st, fe);
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
	.fmts = FD_FMT(S_IFREG) | FD_FMT(S_IFDIR),
	.match = reg_match,
	.dump_state = sizeof(struct reg_dump_state),
	.dump = reg_dump,
	.dump_free = reg_dump_free,
	.restore_state = sizeof(struct reg_restore_state),
	.prepare = reg_prepare,
	.where = reg_where,
	.open = reg_open,
	.opened = reg_opened,
	.restore_free = reg_restore_free,
};
