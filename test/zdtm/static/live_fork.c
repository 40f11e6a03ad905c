/* Live dump of a ring writer that keeps forking short-lived children that scribble on it. */
/*
 * The ring writer of live_ring (128 MiB here) runs in bursts of about 30 ms;
 * after each burst it forks a child that checks its copy of the ring around
 * the writer's position, overwrites those pages with junk and exits. The
 * parent waits for it and writes on: the junk must never show in the parent,
 * and the child must have seen a consistent copy. A child alive at the
 * freeze instant is dumped with its parent (and restored checking its copy);
 * children forked later run during the background phase of the live dump,
 * with the parent's pages write-protected or not yet saved, and are not
 * dumped.
 *
 * With the argument "shared" the ring is MAP_SHARED|MAP_ANONYMOUS memory and
 * each child, instead of scribbling, writes the next CHILD_STEPS steps of
 * the ring itself: the writes of children forked during the background phase
 * reach the memory that is being saved, and must not reach the image.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RING_SIZE	(128UL << 20)
#define NPAGES		(RING_SIZE / PAGE_SIZE)
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))
#define LAST		(WORDS - 1)
#define BURST_NS	30000000L
#define NEAR		256	/* pages each side of the writer the child checks */
#define JUNK		0xdeadbeefdeadbeefULL
#define CHILD_BAD	3	/* exit code of a child whose copy is wrong */
#define CHILD_STEPS	4096	/* shared: the steps each child writes */

static volatile uint64_t *ring;
static int shared;

static uint64_t fill(unsigned long k, unsigned long i)
{
	return ((uint64_t)k << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static volatile uint64_t *page(uint64_t s)
{
	return ring + (s % NPAGES) * WORDS;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void setup(void)
{
	unsigned long k, i;

	ring = mmap(NULL, RING_SIZE, PROT_READ | PROT_WRITE,
		    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		fail("mmap: %m");
	madvise((void *)ring, RING_SIZE, MADV_POPULATE_WRITE);	/* only faster, not needed */
	for (k = 0; k < NPAGES; k++) {
		volatile uint64_t *p = ring + k * WORDS;

		p[0] = k;
		for (i = 1; i < LAST; i++)
			p[i] = fill(k, i);
		p[LAST] = ~(uint64_t)k;
	}
}

/* Write for about BURST_NS, or @steps steps; returns 0 on a violation. Advances *next. */
static int burst(uint64_t *next, uint64_t steps)
{
	long end = now_ns() + BURST_NS;
	uint64_t stop = *next + steps;
	uint64_t s = *next;
	int ok = 1;

	while (!test_sigterm && ok) {
		volatile uint64_t *p = page(s);

		if (p[0] != s - NPAGES || p[LAST] != ~(s - NPAGES)) {
			test_record("before seq %llu: page %lu holds %#llx and ~%#llx, expected %llu",
			       (unsigned long long)s, (unsigned long)(s % NPAGES),
			       (unsigned long long)p[0], (unsigned long long)~p[LAST],
			       (unsigned long long)(s - NPAGES));
			ok = 0;
			break;
		}
		if (page(s - 1)[0] != s - 1) {
			test_record("before seq %llu: the previous page holds %#llx",
			       (unsigned long long)s, (unsigned long long)page(s - 1)[0]);
			ok = 0;
			break;
		}
		p[0] = s;
		p[LAST] = ~s;
		s++;
		if (steps ? s == stop : !(s & 255) && now_ns() > end)
			break;
	}
	*next = s;
	return ok;
}

/*
 * In the child: check the pages around @next, junk them, exit. Shared: write
 * the next CHILD_STEPS steps, checking them as the parent does.
 */
static void __noreturn child(uint64_t next)
{
	uint64_t s;
	int bad = 0;

	if (shared) {
		test_sigterm = 0;	/* the parent's SIGTERM, not the child's: it writes on */
		_exit(burst(&next, CHILD_STEPS) ? 0 : CHILD_BAD);
	}
	for (s = next - NEAR; s < next + NEAR; s++) {
		uint64_t want = s < next ? s : s - NPAGES;

		if (page(s)[0] != want || page(s)[LAST] != ~want)
			bad = 1;
	}
	for (s = next - NEAR; s < next + NEAR; s++) {
		page(s)[0] = JUNK;
		page(s)[LAST] = JUNK;
		page(s)[1] = JUNK;
	}
	_exit(bad ? CHILD_BAD : 0);
}

static int fork_one(uint64_t next, unsigned long *forks)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		test_record("fork: %m");
		return 0;
	}
	if (pid == 0)
		child(next);
	while (waitpid(pid, &status, 0) != pid)
		if (!test_sigterm) {
			test_record("waitpid: %m");
			return 0;
		}
	(*forks)++;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		test_record("the child forked at seq %llu %s %d", (unsigned long long)next,
		       WIFEXITED(status) ? "exited with" : "was killed by signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return 0;
	}
	return 1;
}

static void check_ring(uint64_t next)
{
	unsigned long k, i;

	for (k = 0; k < NPAGES; k++) {
		volatile uint64_t *p = ring + k * WORDS;
		uint64_t want = next - 1 - (next - 1 - k) % NPAGES;

		if (p[0] != want || p[LAST] != ~want)
			fail("page %lu holds %#llx and ~%#llx, expected %llu (next seq %llu)", k,
			     (unsigned long long)p[0], (unsigned long long)~p[LAST],
			     (unsigned long long)want, (unsigned long long)next);
		for (i = 1; i < LAST; i++)
			if (p[i] != fill(k, i))
				fail("page %lu word %lu is %#llx, expected %#llx", k, i,
				     (unsigned long long)p[i], (unsigned long long)fill(k, i));
	}
}

int main(int argc, char **argv)
{
	unsigned long forks = 0;
	uint64_t next = NPAGES;

	test_init(argc, argv);
	if (test_argc > 1 && strcmp(test_argv[1], "shared"))
		fail("bad argument '%s' (shared)", test_argv[1]);
	shared = test_argc > 1;
	setup();

	test_daemon();
	test_ready();
	while (!test_sigterm) {
		int ok = burst(&next, 0) && fork_one(next, &forks);

		if (!ok)
			break;
		if (shared)
			next += CHILD_STEPS;	/* the child's steps */
	}
	test_waitsig();

	if (test_recorded())
		fail("%s", test_recorded());
	check_ring(next);
	test_msg("%llu writes, %lu forks\n", (unsigned long long)(next - NPAGES), forks);
	pass();
	return 0;
}
