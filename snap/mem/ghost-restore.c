// SPDX-License-Identifier: GPL-2.0
/* Ghosts, restore side (see ghost.h): deleted files recreated, unlinked, kept open. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mem/ghost.h"
#include "mem/shmem.h"

struct ghost {
	uint32_t id;
	uint64_t size;
	GhostFileEntry *g;	/* until recreated */
	char *path;		/* where the file was */
	int fd;			/* snap's, read-only, once recreated */
};

struct ghost_restore {
	struct ghost *g;
	size_t nr;
};

static struct ghost *find(const struct restore_ctx *ctx, uint32_t id)
{
	struct ghost_restore *gr = ctx->shmem ? ctx->shmem->ghosts : NULL;

	for (size_t i = 0; gr && i < gr->nr; i++)
		if (gr->g[i].id == id)
			return &gr->g[i];
	return NULL;
}

/*
 * Extents in order, inside the file, as many bytes as the data. An older
 * image has no size and no extents: its data is the whole file.
 */
static int check(const GhostFileEntry *g, uint32_t id, uint64_t *size)
{
	uint64_t end = 0, bytes = 0;

	if (g->id != id)
		goto bad;
	if (!g->has_size) {
		if (g->n_extents)
			goto bad;
		*size = g->data.len;
		return 0;
	}
	for (size_t i = 0; i < g->n_extents; i++) {
		const GhostExtent *e = g->extents[i];

		if (e->off < end || !e->len || e->off + e->len > g->size ||
		    e->off + e->len < e->off)
			goto bad;
		end = e->off + e->len;
		bytes += e->len;
	}
	if (bytes != g->data.len)
		goto bad;
	*size = g->size;
	return 0;
bad:
	pr_err("ghost-%u.img: inconsistent contents (id %u, %zu extents, %zu bytes of data)", id,
	       g->id, g->n_extents, g->data.len);
	return -1;
}

int ghost_use(struct restore_ctx *ctx, uint32_t id, const char *path, const char *what,
	      uint64_t *size)
{
	struct ghost_restore *gr = ctx->shmem->ghosts;
	struct ghost *n, *g = find(ctx, id);
	ProtobufCMessage *msg;
	uint64_t sz;

	if (g) {
		if (size)
			*size = g->size;
		return 0;
	}
	if (!gr) {
		gr = ctx->shmem->ghosts = calloc(1, sizeof(*gr));
		if (!gr)
			goto oom;
	}
	if (path[0] != '/') {
		pr_err("%s: deleted file %s has no absolute path", what, path);
		return -1;
	}
	if (img_load_one(ctx->dirfd, IMG_GHOST, id, &msg))
		return -1;
	if (check((GhostFileEntry *)msg, id, &sz)) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return -1;
	}
	n = realloc(gr->g, (gr->nr + 1) * sizeof(*n));
	if (!n) {
		protobuf_c_message_free_unpacked(msg, NULL);
		goto oom;
	}
	gr->g = n;
	g = &gr->g[gr->nr];
	*g = (struct ghost){ .id = id, .size = sz, .g = (GhostFileEntry *)msg, .fd = -1 };
	g->path = strdup(path);
	if (!g->path) {
		protobuf_c_message_free_unpacked(msg, NULL);
		goto oom;
	}
	gr->nr++;
	if (size)
		*size = sz;
	return 0;
oom:
	pr_err("%s: out of memory", what);
	return -1;
}

/*
 * The extents at their offsets; the rest stays holes. An older image's data
 * is the whole file: its zero chunks are left as holes, as they most likely
 * were.
 */
static int fill(int fd, const struct ghost *gh)
{
	const GhostFileEntry *g = gh->g;
	const uint8_t *p = g->data.data;
	size_t off, chunk;

	if (ftruncate(fd, gh->size))
		return -1;
	if (g->has_size) {
		for (size_t i = 0; i < g->n_extents; i++) {
			if (pwrite_full(fd, p, g->extents[i]->len, g->extents[i]->off))
				return -1;
			p += g->extents[i]->len;
		}
		return 0;
	}
	for (off = 0; off < g->data.len; off += chunk) {
		chunk = g->data.len - off < 65536 ? g->data.len - off : 65536;
		if (!all_zero(p + off, chunk) && pwrite_full(fd, p + off, chunk, off))
			return -1;
	}
	return 0;
}

/*
 * Make the directories above @path that are missing; the topmost one made
 * goes into @top ("" if none). 0, or -1 with errno.
 */
static int make_parents(const char *path, char *top, size_t size)
{
	char p[4096];

	top[0] = '\0';
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (!mkdir(p, 0700)) {
			if (!top[0])
				snprintf(top, size, "%s", p);
		} else if (errno != EEXIST) {
			return -1;
		}
		*s = '/';
	}
	return 0;
}

/* Remove what make_parents() made for @path: its parents up to @top. */
static void remove_parents(const char *path, const char *top)
{
	char p[4096], *s;

	snprintf(p, sizeof(p), "%s", path);
	while (top[0] && (s = strrchr(p, '/')) && s != p) {
		*s = '\0';
		if (rmdir(p))
			pr_warn("cannot remove directory %s, made to recreate %s: %s", p, path,
				strerror(errno));
		if (!strcmp(p, top))
			break;
	}
}

/* A new file (O_RDWR) or directory (O_RDONLY) at @name, or -1 with errno. */
static int create_at(const char *name, bool dir)
{
	int fd;

	if (!dir)
		return open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (mkdir(name, 0700))
		return -1;
	fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rmdir(name);
	return fd;
}

/* The same under the temporary name template @name. */
static int create_temp(char *name, bool dir)
{
	int fd;

	if (!dir)
		return mkostemp(name, O_CLOEXEC);
	if (!mkdtemp(name))
		return -1;
	fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rmdir(name);
	return fd;
}

/*
 * Under its own name if free, so that its fds and mappings read "PATH
 * (deleted)"; else under a temporary name next to it. The directories
 * above it that are gone too are made for as long as it takes, then
 * removed again. Owner, then mode: chown clears the set-id bits.
 */
static int make(struct ghost *gh)
{
	const GhostFileEntry *g = gh->g;
	char name[4096 + 32], dir[4096], top[4096] = "";
	int fd;

	snprintf(name, sizeof(name), "%s", gh->path);
	fd = create_at(name, g->dir);
	if (fd < 0 && errno == ENOENT && !make_parents(gh->path, top, sizeof(top)))
		fd = create_at(name, g->dir);
	if (fd < 0 && errno == EEXIST) {
		snprintf(dir, sizeof(dir), "%s", gh->path);
		snprintf(name, sizeof(name), "%s/.snap-ghost-XXXXXX", dirname(dir));
		fd = create_temp(name, g->dir);
	}
	if (fd < 0) {
		pr_perror("ghost-%u.img: cannot recreate deleted %s %s as %s", gh->id,
			  g->dir ? "directory" : "file", gh->path, name);
		goto out;
	}
	if ((!g->dir && fill(fd, gh)) || (g->has_uid && fchown(fd, g->uid, g->gid)) ||
	    fchmod(fd, g->mode)) {
		pr_perror("ghost-%u.img: cannot write the saved contents, owner and mode to %s",
			  gh->id, name);
		goto err;
	}
	if (g->dir ? rmdir(name) : unlink(name)) {
		pr_perror("ghost-%u.img: cannot remove recreated deleted %s", gh->id, name);
		goto err;
	}
	/*
	 * A file is kept read-only: a writer would deny exec of the file, and
	 * its use as the exe link (PR_SET_MM_MAP), to the restored processes.
	 * Reopens for writing go through /proc/self/fd, which checks the inode,
	 * not this fd.
	 */
	gh->fd = g->dir ? fd : reopen_fd(fd, O_RDONLY | O_CLOEXEC);
	if (gh->fd < 0)
		pr_perror("ghost-%u.img: cannot reopen recreated deleted file %s", gh->id, name);
	if (gh->fd != fd)
		close(fd);
	goto out;
err:
	if (g->dir)
		rmdir(name);
	else
		unlink(name);
	close(fd);
out:
	remove_parents(gh->path, top);
	return gh->fd < 0 ? -1 : 0;
}

int ghost_create_all(struct restore_ctx *ctx)
{
	struct ghost_restore *gr = ctx->shmem->ghosts;

	for (size_t i = 0; gr && i < gr->nr; i++) {
		struct ghost *gh = &gr->g[i];

		if (make(gh))
			return -1;
		/* Its data is in the file now. */
		protobuf_c_message_free_unpacked(&gh->g->base, NULL);
		gh->g = NULL;
	}
	return 0;
}

int ghost_fd(const struct restore_ctx *ctx, uint32_t id)
{
	const struct ghost *gh = find(ctx, id);

	return gh ? gh->fd : -1;
}

int ghost_move_fds(struct restore_ctx *ctx, int base)
{
	struct ghost_restore *gr = ctx->shmem->ghosts;

	for (size_t i = 0; gr && i < gr->nr; i++) {
		int fd;

		if (gr->g[i].fd < 0)
			continue;
		fd = fcntl(gr->g[i].fd, F_DUPFD_CLOEXEC, base);
		if (fd < 0) {
			pr_perror("cannot move the fd of recreated deleted file %s", gr->g[i].path);
			return -1;
		}
		close(gr->g[i].fd);
		gr->g[i].fd = fd;
	}
	return 0;
}

void ghost_restore_free(struct restore_ctx *ctx)
{
	struct ghost_restore *gr = ctx->shmem ? ctx->shmem->ghosts : NULL;

	if (!gr)
		return;
	for (size_t i = 0; i < gr->nr; i++) {
		if (gr->g[i].g)
			protobuf_c_message_free_unpacked(&gr->g[i].g->base, NULL);
		if (gr->g[i].fd >= 0)
			close(gr->g[i].fd);
		free(gr->g[i].path);
	}
	free(gr->g);
	free(gr);
	ctx->shmem->ghosts = NULL;
}
