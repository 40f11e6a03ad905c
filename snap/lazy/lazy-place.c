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

/* Several workers place at once (lazy-work.c): @left stays exact by one exchange per page. */
static void mark_done(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (__atomic_exchange_n(&e->done[idx + i], LZ_DONE, __ATOMIC_RELAXED) != LZ_DONE)
			__atomic_fetch_sub(&t->left, 1, __ATOMIC_RELAXED);
}

/* What an ioctl's error means for the run: see lz_place(). */
static int placed_error(struct lazy_task *t, const char *how, uint64_t addr, int err)
{
	if (err == EAGAIN)
		return -EAGAIN;
	if (err == ESRCH) {
		pr_debug("pid %d: gone", t->pid);
		__atomic_store_n(&t->gone, true, __ATOMIC_RELAXED);
	} else {
		pr_debug("pid %d: %s at %lx: %s", t->pid, how, (unsigned long)addr, strerror(err));
	}
	return -1;
}

/*
 * @n pages of @e from @idx, whose image is at @src; *@did: how many are
 * done, placed or found there, when it returns.
 */
static int place_chunk(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n,
		       const uint8_t *src, struct lazy_stats *st, size_t *did)
{
	uint64_t t0 = now_ns();
	int ret = 0;

	for (*did = 0; *did < n && !ret;) {
		size_t off = *did;
		struct uffdio_copy c = {.dst = e->start + (idx + off) * LZ_PAGE,
					.src = (uintptr_t)src + off * LZ_PAGE,
					.len = (n - off) * LZ_PAGE};
		int r = ioctl(t->uffd, UFFDIO_COPY, &c), err = errno;
		size_t k = c.copy > 0 ? c.copy / LZ_PAGE : 0;

		/* A page there already: the restorer placed it, or the process since. */
		if (r && err == EEXIST && !k)
			k = 1;
		else if (r && !k)
			ret = placed_error(t, "UFFDIO_COPY", c.dst, err);
		mark_done(t, e, idx + off, k);
		LZ_ADD(st->copied, k);
		*did += k;
	}
	LZ_ADD(st->place_ns, now_ns() - t0);
	return ret;
}

int lz_place(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n, struct lazy_stats *st,
	     uint8_t *buf)
{
	int ret = 0;

	while (n && !ret) {
		size_t k = n < LZ_COPY_PAGES ? n : LZ_COPY_PAGES, did;
		const uint8_t *src = lz_src_pages(t->src, e->src + idx * LZ_PAGE, k, buf);

		ret = src ? place_chunk(t, e, idx, k, src, st, &did) : -1;
		idx += k;
		n -= k;
	}
	return ret;
}

static bool claim(uint8_t *b)
{
	uint8_t due = LZ_DUE;

	return __atomic_compare_exchange_n(b, &due, LZ_CLAIMED, false, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

int lz_place_claimed(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n,
		     const uint8_t *src, struct lazy_stats *st)
{
	size_t placed = 0;
	int ret = 0;

	/*
	 * Pages done since the worker read them (a fault, or dropped by an
	 * event) are not claimed, so never placed over what the process did.
	 */
	for (size_t i = 0; i < n && !ret;) {
		size_t j = i, did;

		while (j < n && claim(&e->done[idx + j]))
			j++;
		if (j == i) {
			i++;
			continue;
		}
		ret = place_chunk(t, e, idx + i, j - i, src + i * LZ_PAGE, st, &did);
		placed += did;
		/* Not placed: due again, for whoever comes next. */
		for (size_t k = i + did; k < j; k++)
			__atomic_store_n(&e->done[idx + k], LZ_DUE, __ATOMIC_RELAXED);
		i = j;
	}
	LZ_ADD(st->prefetch_pages, placed);
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
