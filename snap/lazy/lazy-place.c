// SPDX-License-Identifier: GPL-2.0
/*
 * Placing pages into a process being lazily restored: UFFDIO_COPY from
 * our mapping of the page image, one copy per page. Not UFFDIO_MOVE from a
 * staging area in the process: the kernel only takes UFFDIO_MOVE from a
 * task of the uffd's own mm (EINVAL from us: scripts/probe-uffd-move.c),
 * and writing a page into staging faults in a zeroed page first, which
 * made the move cost more CPU per page than the copy on this machine.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ctx.h"
#include "kcompat.h"
#include "lazy/lazy-int.h"
#include "log.h"

static void mark_done(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!e->done[idx + i]) {
			e->done[idx + i] = 1;
			t->left--;
		}
}

/* What an ioctl's error means for the run: see lz_place(). */
static int placed_error(struct lazy_task *t, const char *how, uint64_t addr, int err)
{
	if (err == EAGAIN)
		return -EAGAIN;
	if (err == ESRCH) {
		pr_debug("pid %d: gone", t->pid);
		t->gone = true;
	} else {
		pr_debug("pid %d: %s at %lx: %s", t->pid, how, (unsigned long)addr, strerror(err));
	}
	return -1;
}

/* Up to LZ_COPY_PAGES pages of @e from @idx, whose image is at @src. */
static int place_chunk(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n,
		       const uint8_t *src, struct lazy_stats *st)
{
	for (size_t off = 0; off < n;) {
		struct uffdio_copy c = {.dst = e->start + (idx + off) * LZ_PAGE,
					.src = (uintptr_t)src + off * LZ_PAGE,
					.len = (n - off) * LZ_PAGE};
		int r = ioctl(t->uffd, UFFDIO_COPY, &c), err = errno;
		size_t did = c.copy > 0 ? c.copy / LZ_PAGE : 0;

		/* A page there already: the restorer placed it, or the process since. */
		if (r && err == EEXIST && !did)
			did = 1;
		else if (r && !did)
			return placed_error(t, "UFFDIO_COPY", c.dst, err);
		mark_done(t, e, idx + off, did);
		st->copied += did;
		off += did;
	}
	return 0;
}

int lz_place(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n, struct lazy_stats *st)
{
	uint64_t t0 = now_ns();
	int ret = 0;

	while (n && !ret) {
		size_t k = n < LZ_COPY_PAGES ? n : LZ_COPY_PAGES;
		const uint8_t *src = lz_src_pages(t->src, e->src + idx * LZ_PAGE, k);

		ret = src ? place_chunk(t, e, idx, k, src, st) : -1;
		idx += k;
		n -= k;
	}
	st->place_ns += now_ns() - t0;
	return ret;
}

int lz_zero(struct lazy_task *t, uint64_t addr)
{
	static const uint8_t zeros[LZ_PAGE] __attribute__((aligned(4096)));
	struct uffdio_zeropage z = {.range = {addr & ~(LZ_PAGE - 1), LZ_PAGE}};
	struct uffdio_copy c = {.dst = z.range.start, .src = (uintptr_t)zeros, .len = LZ_PAGE};
	struct uffdio_range wake = z.range;

	if (!ioctl(t->uffd, UFFDIO_ZEROPAGE, &z))
		return 0;
	if (errno == EEXIST)
		return ioctl(t->uffd, UFFDIO_WAKE, &wake)
			       ? placed_error(t, "UFFDIO_WAKE", addr, errno)
			       : 0;
	if (errno == EAGAIN)
		return -EAGAIN;
	/* Some kernels have no zero page to map here. */
	if (!ioctl(t->uffd, UFFDIO_COPY, &c) || errno == EEXIST)
		return 0;
	return placed_error(t, "a zero page", addr, errno);
}
