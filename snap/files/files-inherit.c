// SPDX-License-Identifier: GPL-2.0
/*
 * --inherit-fd fd[N]:KEY at restore (CRIU's meaning): the file of the image
 * whose key is KEY is not reopened by its kind; it is snap's own fd N,
 * which the caller opened and handed over. runc restores a container's
 * stdio pipes so ("pipe:[INO]" from descriptors.json, fd 0-2): the other
 * end of such a pipe is outside the tree and could not be made again.
 * Each kind says how its files are named (fd_ops.inherit_key); the table
 * asks here, at load, which files are taken so, and opens them here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files/files-table.h"
#include "log.h"

/* Paths match with or without their leading '/' (CRIU's keys have none). */
static bool key_eq(const char *a, const char *b)
{
	if (a[0] == '/' && b[0] != '/')
		a++;
	else if (b[0] == '/' && a[0] != '/')
		b++;
	return !strcmp(a, b);
}

static const struct inherit_fd *inherit_of(const struct snap_opts *o, const char *key)
{
	for (size_t k = 0; k < o->nr_inherit_fds; k++)
		if (key_eq(o->inherit_fds[k].key, key))
			return &o->inherit_fds[k];
	return NULL;
}

static int check_fds(const struct snap_opts *o)
{
	for (size_t k = 0; k < o->nr_inherit_fds; k++) {
		if (fcntl(o->inherit_fds[k].fd, F_GETFD) < 0) {
			pr_perror("--inherit-fd fd[%d]:%s: fd %d is not open in snap",
				  o->inherit_fds[k].fd, o->inherit_fds[k].key,
				  o->inherit_fds[k].fd);
			return -1;
		}
	}
	return 0;
}

int files_inherit_plan(struct restore_ctx *ctx)
{
	const struct snap_opts *o = ctx->opts;
	struct files_restore_state *st = ctx->files_st;
	bool *used;
	char key[4096];
	int ret = -1;

	st->inherit = malloc((ctx->nr_files + 1) * sizeof(*st->inherit));
	used = calloc(o->nr_inherit_fds + 1, sizeof(*used));
	if (!st->inherit || !used) {
		pr_err("out of memory for --inherit-fd");
		goto out;
	}
	for (size_t i = 0; i < ctx->nr_files; i++)
		st->inherit[i] = -1;
	if (!o->nr_inherit_fds) {
		ret = 0;
		goto out;
	}
	if (check_fds(o))
		goto out;
	for (size_t i = 0; i < ctx->nr_files; i++) {
		const struct fd_ops *ops = fd_kinds[st->kind[i]];
		const struct inherit_fd *inh;
		int named;

		if (!ops->inherit_key)
			continue;
		named = ops->inherit_key(ctx->files[i], key, sizeof(key));
		if (named < 0 || !(inh = inherit_of(o, key)))
			continue;
		if (named > 0) {
			pr_err("--inherit-fd fd[%d]:%s: file id %u is a %s, which snap cannot take "
			       "from outside the tree",
			       inh->fd, inh->key, ctx->files[i]->id, ops->name);
			goto out;
		}
		st->inherit[i] = inh->fd;
		st->where[i] = FD_IN_SNAP;
		used[inh - o->inherit_fds] = true;
		pr_info("files.img: file id %u (%s) is taken from fd %d (--inherit-fd)",
			ctx->files[i]->id, key, inh->fd);
	}
	for (size_t k = 0; k < o->nr_inherit_fds; k++)
		if (!used[k])
			pr_info("--inherit-fd fd[%d]:%s names no file of the image",
				o->inherit_fds[k].fd, o->inherit_fds[k].key);
	ret = 0;
out:
	free(used);
	return ret;
}

int files_inherit_open(const struct restore_ctx *ctx, size_t i)
{
	int src = ctx->files_st->inherit[i];
	int fd = fcntl(src, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		pr_perror("files.img: file id %u: cannot take fd %d (--inherit-fd)",
			  ctx->files[i]->id, src);
	return fd;
}
