// SPDX-License-Identifier: GPL-2.0
/*
 * Pages held until the tree is released (see page-hold.h): one memfd holding
 * the pages one batch after the other, a list of records (sink, index,
 * offset in the memfd), and the sinks kept open until their records are
 * written. Pages stashed by the catch-up rounds may have no record: a newer
 * copy replaced them, or the tree went on to write them again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"
#include "mem/page-hold.h"
#include "mem/page-sink.h"

struct held {
	struct page_sink *ps;
	uint64_t idx, nr;
	off_t off;
};

struct page_hold {
	int memfd;
	struct held *h;
	size_t nr, cap;
	struct page_sink **sinks;	/* kept: closed by page_hold_write() */
	size_t nr_sinks, cap_sinks;
	uint64_t bytes, bound;
	uint64_t pages;			/* in the records */
};

/* A quarter of MemAvailable: what the hold may take without pushing the machine to reclaim. */
static uint64_t hold_bound(void)
{
	return file_field("/proc/meminfo", "MemAvailable") * 1024 / 4;
}

struct page_hold *page_hold_new(void)
{
	struct page_hold *h = calloc(1, sizeof(*h));

	if (!h) {
		pr_err("out of memory for the page hold");
		return NULL;
	}
	h->memfd = memfd_create("snap-held-pages", MFD_CLOEXEC);
	if (h->memfd < 0) {
		pr_perror("cannot make a memfd to hold pages until the kill");
		free(h);
		return NULL;
	}
	h->bound = hold_bound();
	pr_debug("pages held until the kill: up to %llu MiB", (unsigned long long)h->bound >> 20);
	return h;
}

int page_hold_stash(struct page_hold *h, const void *data, uint64_t nr_pages, uint64_t *off)
{
	uint64_t len = nr_pages * PAGE_SIZE, done = 0;
	ssize_t n;

	if (h->bytes + len > h->bound)
		return 0;
	while (done < len) {
		n = pwrite(h->memfd, (const char *)data + done, len - done, h->bytes + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* tmpfs full: these pages, and the next, are written now. */
			pr_debug("holding pages: %s; written while frozen from here",
				 n ? strerror(errno) : "no space");
			h->bound = h->bytes;
			return 0;
		}
		done += n;
	}
	*off = h->bytes;
	h->bytes += len;
	return 1;
}

int page_hold_ref(struct page_hold *h, struct page_sink *ps, uint64_t idx, uint64_t off,
		  uint64_t nr_pages)
{
	struct held *last = h->nr ? &h->h[h->nr - 1] : NULL;

	h->pages += nr_pages;
	/* Pages stashed together and laid out together: one record, one write. */
	if (last && last->ps == ps && last->idx + last->nr == idx &&
	    (uint64_t)last->off + last->nr * PAGE_SIZE == off) {
		last->nr += nr_pages;
		return 0;
	}
	if (h->nr == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct held *r = realloc(h->h, cap * sizeof(*r));

		if (!r) {
			h->pages -= nr_pages;
			pr_err("out of memory for the page hold");
			return -1;
		}
		h->h = r;
		h->cap = cap;
	}
	h->h[h->nr++] = (struct held){ ps, idx, nr_pages, off };
	return 0;
}

int page_hold_put(struct page_hold *h, struct page_sink *ps, uint64_t idx, const void *data,
		  uint64_t nr_pages)
{
	uint64_t off;

	/* Not held (no room, no memory for the record): the caller writes them now. */
	return page_hold_stash(h, data, nr_pages, &off) == 1 &&
	       !page_hold_ref(h, ps, idx, off, nr_pages);
}

int page_hold_keep(struct page_hold *h, struct page_sink *ps)
{
	if (h->nr_sinks == h->cap_sinks) {
		size_t cap = h->cap_sinks ? h->cap_sinks * 2 : 16;
		struct page_sink **n = realloc(h->sinks, cap * sizeof(*n));

		if (!n) {
			pr_err("out of memory for the page hold");
			page_sink_abort(ps);
			return -1;
		}
		h->sinks = n;
		h->cap_sinks = cap;
	}
	h->sinks[h->nr_sinks++] = ps;
	return page_sink_reserve(ps);
}

uint64_t page_hold_pages(const struct page_hold *h)
{
	return h ? h->pages : 0;
}

/* Record @e, from the memfd through @buf (as large as the largest record). */
static int write_one(struct page_hold *h, const struct held *e, char *buf)
{
	size_t len = e->nr * PAGE_SIZE, done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(h->memfd, buf + done, len - done, e->off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_perror("cannot read back the held pages of %llu-%llu",
				  (unsigned long long)e->idx, (unsigned long long)(e->idx + e->nr));
			return -1;
		}
		done += n;
	}
	return page_sink_write(e->ps, e->idx, buf, e->nr);
}

int page_hold_write(struct page_hold *h)
{
	uint64_t most = 0;
	char *buf = NULL;
	int ret = 0;

	for (size_t i = 0; i < h->nr; i++)
		most = h->h[i].nr > most ? h->h[i].nr : most;
	if (most && !(buf = malloc(most * PAGE_SIZE))) {
		pr_err("out of memory to write the held pages");
		ret = -1;
	}
	for (size_t i = 0; !ret && i < h->nr; i++)
		if (write_one(h, &h->h[i], buf))
			ret = -1;
	free(buf);
	h->nr = 0;
	for (size_t i = 0; i < h->nr_sinks; i++) {
		if (ret)
			page_sink_abort(h->sinks[i]);
		else if (page_sink_close(h->sinks[i]))
			ret = -1;
	}
	h->nr_sinks = 0;
	return ret;
}

void page_hold_free(struct page_hold *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nr_sinks; i++)
		page_sink_abort(h->sinks[i]);
	close(h->memfd);
	free(h->h);
	free(h->sinks);
	free(h);
}
