// SPDX-License-Identifier: GPL-2.0
/*
 * Where the lazy-pages server takes a process's pages from: its pages in
 * pagemap order, parent sets' runs included, at one address of ours
 * (lazy_ext.src points into it). Local: the page image, read at the
 * pages' offsets from those addresses (lz_src_pages()); for an
 * incremental set, from the set of the chain that has them (page-chain.c:
 * no copy of the whole image before the process runs, nor staging).
 * Remote (--page-server): an empty private mapping, filled from a `snap
 * page-server` on the complete set with GET frames just before the pages
 * are placed, several in flight (lazy-remote.c); a page is asked for once,
 * and kept (a forked child may still need it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "lazy/lazy-int.h"
#include "log.h"
#include "mem/page-chain.h"
#include "mem/page-xfer.h"
#include "pagemap.pb-c.h"

/* The runs of @s's pagemap, and its page count. */
static int load_runs(struct lz_src *s, int dirfd)
{
	PagemapEntry **pm;
	size_t nr;

	if (img_load_all(dirfd, IMG_PAGEMAP, s->pid, false, (void ***)&pm, &nr))
		return -1;
	s->runs = calloc(nr ? nr : 1, sizeof(*s->runs));
	for (size_t i = 0; s->runs && i < nr; i++) {
		s->runs[i] =
			(struct lazy_range){pm[i]->vaddr, pm[i]->vaddr + pm[i]->nr_pages * LZ_PAGE};
		s->nr_pages += pm[i]->nr_pages;
	}
	s->nr_runs = nr;
	for (size_t i = 0; i < nr; i++)
		protobuf_c_message_free_unpacked(&pm[i]->base, NULL);
	free(pm);
	if (!s->runs)
		pr_err("pid %d: out of memory for its pagemap", s->pid);
	s->len = s->nr_pages * LZ_PAGE;
	return s->runs ? 0 : -1;
}

static int map_local(struct lz_src *s, int dirfd, const char *dir)
{
	uint64_t nr;
	void *p;

	s->reader = page_reader_open(dirfd, dir, s->pid, &nr);
	if (!s->reader)
		return -1;
	if (nr != s->nr_pages) {
		pr_err("image pagemap-%d.img: changed while read (%llu pages, then %llu)", s->pid,
		       (unsigned long long)s->nr_pages, (unsigned long long)nr);
		return -1;
	}
	/*
	 * Addresses only, never touched: a page's offset in the image is its
	 * address less @base, and lz_src_pages() reads it from the file.
	 */
	p = s->len ? mmap(NULL, s->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0)
		   : NULL;
	if (p == MAP_FAILED) {
		pr_perror("pid %d: no room for the addresses of its %llu pages", s->pid,
			  (unsigned long long)s->nr_pages);
		return -1;
	}
	s->base = p;
	return 0;
}

/*
 * 2 MiB-aligned and MADV_HUGEPAGE: a page reached the first time costs
 * 20-28 µs on VMs with shadow page tables (parasite/pie/restorer-fill.c);
 * populated in huge pages, it costs a 512th of one.
 */
static int map_remote(struct lz_src *s)
{
	size_t pad = s->len ? LZ_PMD : 0;
	uint8_t *p = s->len ? mmap(NULL, s->len + pad, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
			    : NULL;

	s->have = calloc(s->nr_pages ? s->nr_pages : 1, 1);
	if (p == MAP_FAILED || !s->have) {
		pr_perror("pid %d: no room for its %llu pages from the page server", s->pid,
			  (unsigned long long)s->nr_pages);
		if (p != MAP_FAILED && p)
			munmap(p, s->len + pad);
		return -1;
	}
	if (p) {
		uint8_t *a = (uint8_t *)(((uintptr_t)p + LZ_PMD - 1) & ~(LZ_PMD - 1));

		if (a != p)
			munmap(p, a - p);
		munmap(a + s->len, p + s->len + pad - (a + s->len));
		madvise(a, s->len, MADV_HUGEPAGE);
		p = a;
	}
	s->base = p;
	return 0;
}

struct lz_src *lz_src_open(int dirfd, const char *dir, pid_t pid, struct lz_remote *r)
{
	struct lz_src *s = calloc(1, sizeof(*s));

	if (!s) {
		pr_err("pid %d: out of memory for its lazy pages", pid);
		return NULL;
	}
	*s = (struct lz_src){.pid = pid, .remote = r};
	if (load_runs(s, dirfd) || (r ? map_remote(s) : map_local(s, dirfd, dir))) {
		lz_src_free(s);
		return NULL;
	}
	return s;
}

/*
 * A local image is read into a buffer rather than copied from its mapping:
 * each source page faulted in by the copy costs more than the read on VMs
 * whose page-table updates are dear (2-3x for the whole copy on this one).
 * An incremental set's pages are read from the set of the chain that has
 * them. Remote pages are in anonymous memory already, populated when
 * fetched.
 */
static const uint8_t *pages(struct lz_src *s, const uint8_t *at, size_t n, uint8_t *buf,
			    bool ahead)
{
	size_t first = (at - s->base) / LZ_PAGE;

	if (s->remote)
		return lz_remote_fetch(s, first, first + n, ahead) ? NULL : at;
	if (LZ_GET(s->broken))
		return NULL;
	if (page_reader_read(s->reader, first, n, buf)) {
		__atomic_store_n(&s->broken, true, __ATOMIC_RELAXED);
		return NULL;
	}
	return buf;
}

const uint8_t *lz_src_pages(struct lz_src *s, const uint8_t *at, size_t n, uint8_t *buf)
{
	return pages(s, at, n, buf, false);
}

const uint8_t *lz_src_run(struct lz_src *s, const uint8_t *at, size_t n, uint8_t *buf)
{
	return pages(s, at, n, buf, true);
}

void lz_src_free(struct lz_src *s)
{
	if (!s)
		return;
	if (s->base)
		munmap(s->base, s->len);
	free(s->have);
	free(s->runs);
	page_reader_close(s->reader);
	free(s);
}

/* Fetch and write the pages of @s in [@a, @b) (addresses inside run @i) into @fd. */
static int fill_part(struct lz_src *s, size_t i, uint64_t first, uint64_t a, uint64_t b, int fd,
		     uint8_t *buf)
{
	uint64_t off = (first + (a - s->runs[i].start) / LZ_PAGE) * LZ_PAGE;

	for (uint64_t at = off; at < off + (b - a); at += LZ_COPY_PAGES * LZ_PAGE) {
		uint64_t len = off + (b - a) - at;
		const uint8_t *src;

		len = len < LZ_COPY_PAGES * LZ_PAGE ? len : LZ_COPY_PAGES * LZ_PAGE;
		src = lz_src_pages(s, s->base + at, len / LZ_PAGE, buf);
		if (!src)
			return -1;
		if (pwrite(fd, src, len, at) != (ssize_t)len) {
			pr_perror("pid %d: cannot stage its pages", s->pid);
			return -1;
		}
	}
	return 0;
}

int lz_src_fill(struct lz_src *s, const struct lazy_hello *h, uint8_t *buf)
{
	char name[32];
	uint64_t first = 0;
	int fd;

	snprintf(name, sizeof(name), "pages-%d", s->pid);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, s->len)) {
		pr_perror("pid %d: cannot stage its pages", s->pid);
		goto err;
	}
	for (size_t i = 0; i < s->nr_runs; i++) {
		for (uint32_t j = 0; j < h->nr_ranges; j++) {
			uint64_t a = s->runs[i].start > h->ranges[j].start ? s->runs[i].start
									   : h->ranges[j].start;
			uint64_t b = s->runs[i].end < h->ranges[j].end ? s->runs[i].end
								       : h->ranges[j].end;

			if (a < b && fill_part(s, i, first, a, b, fd, buf))
				goto err;
		}
		first += (s->runs[i].end - s->runs[i].start) / LZ_PAGE;
	}
	return fd;
err:
	if (fd >= 0)
		close(fd);
	return -1;
}
