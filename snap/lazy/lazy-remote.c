// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-pages server's page source with --page-server: GETs to a `snap
 * page-server`, several in flight on the one connection, so the link and
 * not the round trip limits the fill. Pages land in the process's lz_src
 * mapping (lazy-source.c), straight from the socket (CRC-checked per frame
 * as always: ps_frame_read_pages()), and stay there for forked children.
 *
 * A worker asks for its run and for the LZ_AHEAD pages after it, and reads
 * answers, oldest first, until its own are in: the page server sends the
 * next runs while the workers place. The server answers GETs in order, so
 * a fault's pages come after the runs asked before it: LZ_AHEAD bounds
 * that wait. lz_remote.lock serializes all of it; lz_src.have says, per
 * page, whether it was asked for and whether it is in.
 */
#include <string.h>
#include <sys/mman.h>

#include "lazy/lazy-int.h"
#include "mem/page-xfer.h"

/* Pages asked for ahead of a worker's run: 4 MiB, 2 GETs. */
#define LZ_AHEAD (2 * LZ_COPY_PAGES)

enum { NOT_ASKED, ASKED, IN };

static int lost(struct lz_remote *r)
{
	r->lost = true;
	return -1;
}

/* Read the answer to the oldest GET in flight. */
static int take(struct lz_remote *r)
{
	struct lz_ask *a = &r->q[r->head];

	if (page_xfer_take(r->x, a->s->pid, a->idx, a->nr, a->s->base + a->idx * LZ_PAGE, r->why,
			   sizeof(r->why)))
		return lost(r);
	for (size_t i = 0; i < a->nr; i++)
		__atomic_store_n(&a->s->have[a->idx + i], IN, __ATOMIC_RELEASE);
	r->pages += a->nr;
	r->head = (r->head + 1) % LZ_INFLIGHT;
	r->nr_q--;
	return 0;
}

/* One GET for @nr pages of @s from @idx, none asked for yet. */
static int ask(struct lz_src *s, size_t idx, size_t nr)
{
	struct lz_remote *r = s->remote;

	if (r->nr_q == LZ_INFLIGHT && take(r))
		return -1;
	/* One call for the pages' allocation, not a fault per page as they come. */
	madvise(s->base + idx * LZ_PAGE, nr * LZ_PAGE, MADV_POPULATE_WRITE);
	if (page_xfer_ask(r->x, s->pid, idx, nr, r->why, sizeof(r->why)))
		return lost(r);
	memset(s->have + idx, ASKED, nr);
	r->q[(r->head + r->nr_q) % LZ_INFLIGHT] = (struct lz_ask){s, idx, nr};
	r->nr_q++;
	return 0;
}

/* Ask for every page of [first, last) not asked for yet, in GETs of LZ_COPY_PAGES at most. */
static int ask_range(struct lz_src *s, size_t first, size_t last)
{
	while (first < last) {
		size_t n = 0;

		while (first < last && s->have[first] != NOT_ASKED)
			first++;
		while (first + n < last && n < LZ_COPY_PAGES && s->have[first + n] == NOT_ASKED)
			n++;
		if (n && ask(s, first, n))
			return -1;
		first += n;
	}
	return 0;
}

static bool all_in(const struct lz_src *s, size_t first, size_t last)
{
	for (size_t i = first; i < last; i++)
		if (__atomic_load_n(&s->have[i], __ATOMIC_ACQUIRE) != IN)
			return false;
	return true;
}

int lz_remote_fetch(struct lz_src *s, size_t first, size_t last, bool ahead)
{
	struct lz_remote *r = s->remote;
	size_t end = last + LZ_AHEAD < s->nr_pages ? last + LZ_AHEAD : s->nr_pages;
	int ret = 0;

	/* Read ahead by another worker: no need to wait for the connection. */
	if (all_in(s, first, last))
		return 0;
	pthread_mutex_lock(&r->lock);
	if (r->lost || ask_range(s, first, last) || (ahead && ask_range(s, last, end)))
		ret = -1;
	while (!ret && !all_in(s, first, last))
		ret = take(r);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int lz_remote_drain(struct lz_remote *r)
{
	while (r->nr_q)
		if (take(r))
			return -1;
	return 0;
}
