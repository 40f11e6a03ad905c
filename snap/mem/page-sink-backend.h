/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a page sink backend sees (page-sink.h is what callers see). A backend
 * is an ops table chosen in page_sink_open(): local image files, the same on
 * top of a parent set (page-sink.c), a page server (page-xfer-net.c). page-sink.c does the checks
 * every backend shares - layout before writes, indexes inside the layout,
 * one message per failed sink - and calls the ops only with valid requests.
 */
#ifndef SNAP_PAGE_SINK_BACKEND_H
#define SNAP_PAGE_SINK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/page-sink.h"

struct page_sink_ops {
	int (*open)(struct page_sink *ps, const struct dump_ctx *ctx);
	int (*add_run)(struct page_sink *ps, uint64_t addr, uint64_t nr_pages);
	/* NULL: the backend has no parent set. */
	int (*add_parent_run)(struct page_sink *ps, uint64_t addr, uint64_t nr_pages);
	int (*layout_done)(struct page_sink *ps);
	/*
	 * Errors are returned with errno set, and the caller logs them; a
	 * backend that logged already returns with errno 0 (a lost page
	 * server connection is told once, not once per sink).
	 */
	int (*write)(struct page_sink *ps, uint64_t idx, const void *data, uint64_t nr_pages);
	/* As write, the pages taken from a pipe. NULL: the backend cannot. */
	int (*splice)(struct page_sink *ps, uint64_t idx, int pipefd, uint64_t nr_pages);
	/* Logs its own errors, the last writes' included. */
	int (*close)(struct page_sink *ps);
	void (*abort)(struct page_sink *ps);
};

struct xfer_sink;

struct page_sink {
	const struct page_sink_ops *ops;
	enum page_sink_kind kind;
	unsigned int id;
	char owner[128];	/* "pid 42", or the shared memory object */
	char image[48];		/* the pages' image: how errors name it */
	uint64_t nr_pages;	/* declared so far */
	bool laid_out;
	int failed;		/* atomic: a write failed, and said so */
	/* Local images. */
	int fd;			/* pages-PID.img, shmem-pages-ID.img */
	struct image *pagemap;	/* a process's, until the layout is done */
	/* Page server: the backend's own state (page-xfer-net.c). */
	struct xfer_sink *xs;
};

/* --page-server: the sink's frames go to the dump's connection, dump_ctx.xfer. */
extern const struct page_sink_ops xfer_sink_ops;

#endif
