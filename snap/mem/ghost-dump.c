// SPDX-License-Identifier: GPL-2.0
/* Ghosts, dump side (see ghost.h): a deleted file's data extents into ghost-ID.img. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mem/ghost.h"
#include "mem/shmem.h"

/* The data extents of a file and the bytes they hold. */
struct extents {
	GhostExtent *e;
	GhostExtent **pe;
	size_t nr, cap;
	uint64_t bytes;
};

static int add_extent(struct extents *x, uint64_t off, uint64_t len, const char *what)
{
	if (x->nr == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		GhostExtent *e = realloc(x->e, cap * sizeof(*e));

		if (!e) {
			pr_err("%s: out of memory listing the deleted file's extents", what);
			return -1;
		}
		x->e = e;
		x->cap = cap;
	}
	ghost_extent__init(&x->e[x->nr]);
	x->e[x->nr].off = off;
	x->e[x->nr++].len = len;
	x->bytes += len;
	return 0;
}

/*
 * The data extents of @fd, @size bytes long. A filesystem without
 * SEEK_DATA (EINVAL) has its whole file as data.
 */
static int find_extents(int fd, uint64_t size, struct extents *x, const char *what)
{
	off_t pos = 0, data, hole;

	while ((uint64_t)pos < size) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0 && errno == EINVAL && !pos)
			return add_extent(x, 0, size, what);
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			pr_perror("%s: SEEK_DATA/SEEK_HOLE in the deleted file", what);
			return -1;
		}
		if ((uint64_t)hole > size)
			hole = size;
		if (hole > data && add_extent(x, data, hole - data, what))
			return -1;
		pos = hole;
	}
	return 0;
}

static int read_extents(int fd, const struct extents *x, uint8_t *buf, const char *what)
{
	for (size_t i = 0; i < x->nr; i++) {
		uint64_t done = 0;

		while (done < x->e[i].len) {
			ssize_t n = pread(fd, buf + done, x->e[i].len - done, x->e[i].off + done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Shorter than it said: what is left reads as zeros. */
				if (!n)
					break;
				pr_perror("%s: cannot read the deleted file", what);
				return -1;
			}
			done += n;
		}
		buf += x->e[i].len;
	}
	return 0;
}

static int save(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t id, const char *what)
{
	GhostFileEntry g = GHOST_FILE_ENTRY__INIT;
	struct extents x = { 0 };
	int ret = -1;

	if (find_extents(fd, st->st_size, &x, what))
		goto out;
	if (x.bytes > ctx->opts->ghost_limit || x.bytes > GHOST_LIMIT_MAX) {
		if (x.bytes > GHOST_LIMIT_MAX)
			pr_err("%s: the deleted file holds %llu bytes of data; snap saves at most "
			       "%llu MiB of one (link it back or truncate it before dumping)",
			       what, (unsigned long long)x.bytes, GHOST_LIMIT_MAX >> 20);
		else
			pr_err("%s: the deleted file holds %llu bytes of data, over --ghost-limit "
			       "(%llu bytes); raise it, or link the file back before dumping",
			       what, (unsigned long long)x.bytes,
			       (unsigned long long)ctx->opts->ghost_limit);
		goto out;
	}
	g.data.data = calloc(1, x.bytes ? x.bytes : 1);
	x.pe = calloc(x.nr ? x.nr : 1, sizeof(*x.pe));
	if (!g.data.data || !x.pe) {
		pr_err("%s: no memory for the %llu bytes of the deleted file", what,
		       (unsigned long long)x.bytes);
		goto out;
	}
	if (read_extents(fd, &x, g.data.data, what))
		goto out;
	for (size_t i = 0; i < x.nr; i++)
		x.pe[i] = &x.e[i];
	g.id = id;
	g.mode = st->st_mode & 07777;
	g.data.len = x.bytes;
	g.has_uid = g.has_gid = g.has_size = true;
	g.uid = st->st_uid;
	g.gid = st->st_gid;
	g.size = st->st_size;
	g.extents = x.pe;
	g.n_extents = x.nr;
	ret = img_write_one(ctx->dirfd, IMG_GHOST, id, &g.base);
out:
	free(g.data.data);
	free(x.e);
	free(x.pe);
	return ret;
}

/* A removed directory: empty (rmdir removes no other), so only its owner and mode. */
static int save_dir(struct dump_ctx *ctx, const struct stat *st, uint32_t id)
{
	GhostFileEntry g = GHOST_FILE_ENTRY__INIT;

	g.id = id;
	g.mode = st->st_mode & 07777;
	g.has_uid = g.has_gid = g.has_dir = g.dir = true;
	g.uid = st->st_uid;
	g.gid = st->st_gid;
	return img_write_one(ctx->dirfd, IMG_GHOST, id, &g.base);
}

int ghost_note(struct dump_ctx *ctx, int fd, const char *what, uint32_t *id)
{
	struct stat st;
	int ret;

	if (fstat(fd, &st)) {
		pr_perror("%s: cannot stat the deleted file", what);
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		pr_err("%s: a deleted file that is neither a regular file nor a directory (mode "
		       "%#o) is not supported yet",
		       what, st.st_mode);
		return -1;
	}
	if (st.st_nlink) {
		pr_err("%s: was unlinked but has other hard links; not supported yet", what);
		return -1;
	}
	ret = shmem_note_ghost(ctx, st.st_dev, st.st_ino, id);
	if (ret <= 0)
		return ret;
	return S_ISDIR(st.st_mode) ? save_dir(ctx, &st, *id) : save(ctx, fd, &st, *id, what);
}
