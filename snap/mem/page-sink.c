// SPDX-License-Identifier: GPL-2.0
/*
 * The page sink (see page-sink.h): the checks every backend shares - layout
 * before writes, indexes inside the layout, one message per failure - the
 * choice of backend, and the backend that writes local image files.
 *
 * A backend is an ops table (page-sink-backend.h), picked in
 * page_sink_open(): local images; parent (incremental dumps, track.h): local
 * images where a run the parent set holds unchanged is declared "in the
 * parent", its pagemap entry says so and none of its pages is written (such
 * runs take no page index, so the file offset of a page is still 4096 * its
 * index); or a page server (page-xfer-net.c) when the dump has a connection
 * to one (which is sent the parent runs too, and writes them through the
 * parent backend on its side).
 * Callers do not change: they declare runs and write records by index.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mem/page-sink-backend.h"
#include "mem/page-xfer.h"

/*
 * Local images: pages at 4096 * index, written with pwrite() so that
 * records need no order and threads no lock.
 */
static int local_open(struct page_sink *ps, const struct dump_ctx *ctx)
{
	const char *fmt = ps->kind == PAGE_SINK_TASK ? "pages-%u.img" : "shmem-pages-%u.img";

	ps->fd = img_open_raw(ctx->dirfd, fmt, ps->id, O_WRONLY | O_CREAT | O_TRUNC);
	if (ps->fd < 0)
		return -1;
	if (ps->kind != PAGE_SINK_TASK)
		return 0;
	ps->pagemap = img_open_write(ctx->dirfd, IMG_PAGEMAP, ps->id);
	return ps->pagemap ? 0 : -1;
}

static int local_add_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	/* An object's runs are in its shmem.img entry, which its owner writes. */
	if (!ps->pagemap)
		return 0;
	pe.vaddr = addr;
	pe.nr_pages = nr_pages;
	return img_write(ps->pagemap, &pe.base);
}

static int local_layout_done(struct page_sink *ps)
{
	struct image *pm = ps->pagemap;

	ps->pagemap = NULL;
	return img_close(pm);
}

/*
 * @nr_pages pages at 4096 * @idx, from @data or, @data NULL, from the pipe
 * @pipefd (vmsplice()d by the task's parasite: page-splice.c): the kernel
 * then copies them from the task's pages into the file, no buffer of ours
 * in between.
 */
static int local_put(struct page_sink *ps, uint64_t idx, const char *data, int pipefd,
		     uint64_t nr_pages)
{
	size_t len = nr_pages * PAGE_SIZE;
	loff_t off = idx * PAGE_SIZE;
	ssize_t n;

	while (len) {
		if (data)
			n = pwrite(ps->fd, data, len, off);
		else
			n = splice(pipefd, NULL, ps->fd, &off, len, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ENOSPC;
			return -1;
		}
		if (data) {
			data += n;
			off += n;
		}
		len -= n;
	}
	return 0;
}

static int local_write(struct page_sink *ps, uint64_t idx, const void *data, uint64_t nr_pages)
{
	return local_put(ps, idx, data, -1, nr_pages);
}

static int local_splice(struct page_sink *ps, uint64_t idx, int pipefd, uint64_t nr_pages)
{
	return local_put(ps, idx, NULL, pipefd, nr_pages);
}

static int local_close(struct page_sink *ps)
{
	int ret = 0;

	if (ps->pagemap && img_close(ps->pagemap))
		ret = -1;
	ps->pagemap = NULL;
	/* Some filesystems (NFS) report a failed write only at close. */
	if (close(ps->fd) && !ret) {
		pr_err("%s: writing its pages to the image: %s (%s)", ps->owner,
		       strerror(errno), ps->image);
		ret = -1;
	}
	ps->fd = -1;
	return ret;
}

static void local_abort(struct page_sink *ps)
{
	img_abort(ps->pagemap);
	ps->pagemap = NULL;
	if (ps->fd >= 0)
		close(ps->fd);
	ps->fd = -1;
}

static const struct page_sink_ops local_ops = {
	.open = local_open,
	.add_run = local_add_run,
	.layout_done = local_layout_done,
	.write = local_write,
	.splice = local_splice,
	.close = local_close,
	.abort = local_abort,
};

/* The parent backend: a pagemap entry that has no pages here. */
static int parent_add_parent_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	pe.vaddr = addr;
	pe.nr_pages = nr_pages;
	pe.has_in_parent = true;
	pe.in_parent = true;
	return img_write(ps->pagemap, &pe.base);
}

static const struct page_sink_ops parent_ops = {
	.open = local_open,
	.add_run = local_add_run,
	.add_parent_run = parent_add_parent_run,
	.layout_done = local_layout_done,
	.write = local_write,
	.splice = local_splice,
	.close = local_close,
	.abort = local_abort,
};

/* Where the sinks of @ctx write: one case per backend. */
static const struct page_sink_ops *choose_backend(const struct dump_ctx *ctx,
						       enum page_sink_kind kind)
{
	if (ctx->xfer)
		return &xfer_sink_ops;
	if (ctx->parent_runs && kind == PAGE_SINK_TASK)
		return &parent_ops;
	return &local_ops;
}

struct page_sink *page_sink_open(const struct dump_ctx *ctx, enum page_sink_kind kind,
				 unsigned int id, const char *owner)
{
	struct page_sink *ps = calloc(1, sizeof(*ps));

	if (!ps) {
		pr_err("%s: out of memory for its page sink", owner);
		return NULL;
	}
	ps->ops = choose_backend(ctx, kind);
	ps->kind = kind;
	ps->id = id;
	ps->fd = -1;
	snprintf(ps->owner, sizeof(ps->owner), "%s", owner);
	snprintf(ps->image, sizeof(ps->image),
		 kind == PAGE_SINK_TASK ? "pages-%u.img" : "shmem-pages-%u.img", id);
	if (ps->ops->open(ps, ctx)) {
		ps->ops->abort(ps);
		free(ps);
		return NULL;
	}
	return ps;
}

int page_sink_add_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages)
{
	if (ps->laid_out) {
		pr_err("%s: a run at %lx declared after the layout of %s was done", ps->owner,
		       (unsigned long)addr, ps->image);
		return -1;
	}
	if (ps->ops->add_run(ps, addr, nr_pages))
		return -1;
	ps->nr_pages += nr_pages;
	return 0;
}

int page_sink_add_parent_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages)
{
	if (ps->laid_out || !ps->ops->add_parent_run) {
		pr_err("%s: a run at %lx declared in the parent of %s, which %s", ps->owner,
		       (unsigned long)addr, ps->image,
		       ps->laid_out ? "is laid out already" : "has no parent set");
		return -1;
	}
	return ps->ops->add_parent_run(ps, addr, nr_pages);
}

int page_sink_layout_done(struct page_sink *ps)
{
	ps->laid_out = true;
	return ps->ops->layout_done(ps);
}

/* The checks every record passes, whatever carries its pages. */
static int check_record(const struct page_sink *ps, uint64_t idx, uint64_t nr_pages)
{
	if (ps->laid_out && idx + nr_pages <= ps->nr_pages && idx + nr_pages >= idx)
		return 0;
	pr_err("%s: pages %llu-%llu are outside the layout of %s", ps->owner,
	       (unsigned long long)idx, (unsigned long long)(idx + nr_pages), ps->image);
	return -1;
}

/* A record failed: threads that fail together say it once; errno 0: the backend said it. */
static int record_failed(struct page_sink *ps)
{
	if (!__atomic_exchange_n(&ps->failed, 1, __ATOMIC_ACQ_REL) && errno)
		pr_err("%s: writing its pages to the image: %s (%s)", ps->owner,
		       strerror(errno), ps->image);
	return -1;
}

int page_sink_write(struct page_sink *ps, uint64_t idx, const void *data, uint64_t nr_pages)
{
	if (check_record(ps, idx, nr_pages))
		return -1;
	return ps->ops->write(ps, idx, data, nr_pages) ? record_failed(ps) : 0;
}

bool page_sink_can_splice(const struct dump_ctx *ctx)
{
	return !ctx->hold && choose_backend(ctx, PAGE_SINK_TASK)->splice;
}

int page_sink_splice(struct page_sink *ps, uint64_t idx, int pipefd, uint64_t nr_pages)
{
	if (check_record(ps, idx, nr_pages))
		return -1;
	if (!ps->ops->splice) {
		pr_err("%s: %s cannot take pages from a pipe", ps->owner, ps->image);
		return -1;
	}
	return ps->ops->splice(ps, idx, pipefd, nr_pages) ? record_failed(ps) : 0;
}

int page_sink_reserve(struct page_sink *ps)
{
	/* A page server's sink has no file here: the server has the disk. */
	if (ps->fd < 0 || !ps->nr_pages)
		return 0;
	if (!fallocate(ps->fd, 0, 0, ps->nr_pages * PAGE_SIZE))
		return 0;
	if (errno == EOPNOTSUPP)
		return 0;
	pr_perror("%s: cannot reserve %llu pages for %s", ps->owner,
		  (unsigned long long)ps->nr_pages, ps->image);
	return -1;
}

int page_sink_close(struct page_sink *ps)
{
	int ret;

	if (__atomic_load_n(&ps->failed, __ATOMIC_ACQUIRE)) {
		page_sink_abort(ps);
		return -1;
	}
	ret = ps->ops->close(ps);
	free(ps);
	return ret;
}

void page_sink_abort(struct page_sink *ps)
{
	if (!ps)
		return;
	ps->ops->abort(ps);
	free(ps);
}

/*
 * --page-server: pages of an earlier dump into this directory would pass for
 * this one's once inventory.img is written; they go before the server (which
 * may write into this very directory) sends any.
 */
static int remove_local_pages(const struct dump_ctx *ctx)
{
	static const char *const prefixes[] = { "pages-", "pagemap-", "shmem-pages-" };
	int fd = openat(ctx->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!d) {
		pr_perror("images directory %s", ctx->opts->images_dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 4 || strcmp(de->d_name + len - 4, ".img"))
			continue;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])))
				continue;
			if (unlinkat(ctx->dirfd, de->d_name, 0) && errno != ENOENT) {
				pr_perror("images directory %s: cannot remove the old %s",
					  ctx->opts->images_dir, de->d_name);
				ret = -1;
			}
			break;
		}
	}
	closedir(d);
	return ret;
}

int page_sinks_begin(struct dump_ctx *ctx, enum page_set set)
{
	if (!ctx->opts->page_server)
		return 0;
	if (remove_local_pages(ctx))
		return -1;
	ctx->xfer = page_xfer_connect(ctx->opts, set, ctx->opts->pid);
	return ctx->xfer ? 0 : -1;
}

int page_sinks_end(struct dump_ctx *ctx)
{
	struct page_xfer *x = ctx->xfer;

	ctx->xfer = NULL;
	return x ? page_xfer_end(x) : 0;
}

void page_sinks_cancel(struct dump_ctx *ctx)
{
	page_xfer_cancel(ctx->xfer);
	ctx->xfer = NULL;
}
