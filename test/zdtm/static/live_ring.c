/* Live dump: a ring writer racing the dump leaves one cut (v, then v-1), no later page. */
/*
 * A ring of N pages (256 MiB by default, or the MiB given as the first
 * argument). The writer stores the sequence number s into page s mod N, as
 * fast as it can, from before the dump until SIGTERM: s at the start of the
 * page and ~s at its end; the words in between hold a fixed pattern. Before it
 * writes s it checks that the page holds s - N and the page before holds s - 1:
 * a restored image that mixes pages from after the freeze with pages from
 * before breaks that, as does a write-protection fault that lost or tore a
 * page. A violation is recorded and reported at SIGTERM, after which the whole
 * ring must show exactly one cut: every page k holds the last s < next with
 * s = k mod N.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define DEFAULT_MIB	256
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))
#define LAST		(WORDS - 1)

static volatile uint64_t *ring;
static unsigned long npages;

static uint64_t fill(unsigned long k, unsigned long i)
{
	return ((uint64_t)k << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static volatile uint64_t *page(uint64_t s)
{
	return ring + (s % npages) * WORDS;
}

static void setup(size_t mib)
{
	unsigned long k, i;
	size_t size = mib << 20;

	npages = size / PAGE_SIZE;
	ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		fail("mmap %zu MiB: %m", mib);
	madvise((void *)ring, size, MADV_POPULATE_WRITE);	/* only faster, not needed */
	for (k = 0; k < npages; k++) {
		volatile uint64_t *p = ring + k * WORDS;
		/*
		 * As if the writer had come halfway round: pages below N/2 hold
		 * their first-lap value N + k, the others k. The writer starts at
		 * the middle, ahead of a dump streaming from the start, so a page
		 * it writes before the streamer gets there shows up in the image
		 * if the dump lets it through.
		 */
		uint64_t s = k < npages / 2 ? npages + k : k;

		p[0] = s;
		for (i = 1; i < LAST; i++)
			p[i] = fill(k, i);
		p[LAST] = ~s;
	}
}

/* Write until SIGTERM or a violation; returns the next sequence number. */
static uint64_t write_ring(void)
{
	uint64_t s = npages + npages / 2, ready_at = s + npages;

	while (!test_sigterm) {
		/* Ready once a lap is done: the dump then meets the writer at full speed. */
		if (s == ready_at)
			test_ready();
		volatile uint64_t *p = page(s), *prev = page(s - 1);
		uint64_t head = p[0], tail = p[LAST], before = prev[0];

		if (head != s - npages || tail != ~(s - npages)) {
			test_record("before seq %llu: page %lu holds %llu and ~%#llx, expected %llu",
			       (unsigned long long)s, (unsigned long)(s % npages),
			       (unsigned long long)head, (unsigned long long)~tail,
			       (unsigned long long)(s - npages));
			break;
		}
		if (before != s - 1) {
			test_record("before seq %llu: the previous page %lu holds %llu",
			       (unsigned long long)s, (unsigned long)((s - 1) % npages),
			       (unsigned long long)before);
			break;
		}
		p[0] = s;
		p[LAST] = ~s;
		s++;
	}
	return s;
}

/* Every page k holds the last s < next with s = k mod N: one cut, at next. */
static void check_ring(uint64_t next)
{
	unsigned long k, i;

	for (k = 0; k < npages; k++) {
		volatile uint64_t *p = ring + k * WORDS;
		uint64_t want = next - 1 - (next - 1 - k) % npages;

		if (p[0] != want || p[LAST] != ~want)
			fail("page %lu holds %llu and ~%#llx, expected %llu (next %llu, lap %llu)",
			     k, (unsigned long long)p[0], (unsigned long long)~p[LAST],
			     (unsigned long long)want, (unsigned long long)next,
			     (unsigned long long)(next / npages));
		for (i = 1; i < LAST; i++)
			if (p[i] != fill(k, i))
				fail("page %lu word %lu is %#llx, expected %#llx", k, i,
				     (unsigned long long)p[i], (unsigned long long)fill(k, i));
	}
}

int main(int argc, char **argv)
{
	size_t mib = DEFAULT_MIB;
	uint64_t next;

	test_init(argc, argv);
	if (test_argc > 1)
		mib = strtoul(test_argv[1], NULL, 0);
	if (!mib)
		fail("bad ring size '%s' (MiB)", test_argv[1]);
	setup(mib);

	test_daemon();
	next = write_ring();
	test_waitsig();

	if (test_recorded())
		fail("%s", test_recorded());
	check_ring(next);
	test_msg("%llu writes, %llu laps\n", (unsigned long long)(next - npages),
		 (unsigned long long)(next / npages - 1));
	pass();
	return 0;
}
