/*
 * Region patterns and checks shared by live_mutate and live_shm_mutate. The
 * including test defines first: P and WORDS (page size, words in a page),
 * struct region (with addr, npages, gen, kind and state), regions[],
 * kind_name[] and violation[] (the first thing that went wrong, sticky).
 */
#ifndef ZDTM_REGION_CHECK_H
#define ZDTM_REGION_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static void __printf(2, 3) record(const struct region *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (violation[0])
		return;
	n = snprintf(violation, sizeof(violation), "region %ld (%s, state %d, gen %lu): ",
		     (long)(r - regions), kind_name[r->kind], r->state, r->gen);
	va_start(ap, fmt);
	vsnprintf(violation + n, sizeof(violation) - n, fmt, ap);
	va_end(ap);
}

static uint64_t word(const struct region *r, unsigned long w)
{
	return ((uint64_t)(r - regions) << 44 | (uint64_t)r->gen << 20 | w) *
	       0x9e3779b97f4a7c15ULL;
}

static void refill(struct region *r)
{
	volatile uint64_t *p = (uint64_t *)r->addr;
	unsigned long w;

	r->gen++;
	for (w = 0; w < r->npages * WORDS; w++)
		p[w] = word(r, w);
}

/* Pages [from, to) hold the pattern of r->gen. */
static int check_full(struct region *r, unsigned long from, unsigned long to)
{
	volatile uint64_t *p = (uint64_t *)r->addr;
	unsigned long w;

	for (w = from * WORDS; w < to * WORDS; w++)
		if (p[w] != word(r, w)) {
			record(r, "page %lu word %lu is %#llx, expected %#llx", w / WORDS,
			       w % WORDS, (unsigned long long)p[w],
			       (unsigned long long)word(r, w));
			return 0;
		}
	return 1;
}

static int check_zero(struct region *r, unsigned long from, unsigned long to)
{
	ssize_t off = zerochk(r->addr + from * P, (to - from) * P);

	if (off >= 0)
		record(r, "page %lu is not zero at offset %zd", from + off / P, off % (ssize_t)P);
	return off < 0;
}

#endif
