/*
 * Copy-on-write sharing across dump and restore. A parent fills 64 MiB
 * (and 8 MiB of MADV_HUGEPAGE memory), forks three children and changes a
 * few pages of its own; each child changes a few pages, empties a few with
 * MADV_DONTNEED and fills a few the parent never touched; the first child
 * forks a grandchild that changes one page more. After restore (as before
 * the dump):
 *  - every page nobody changed since the fork is the parent's physical
 *    page in every child and in the grandchild (the same frame in
 *    /proc/PID/pagemap: the test runs as root); a page the first child
 *    changed is that child's page in the grandchild;
 *  - every changed page is a page of the process's own and holds its data;
 *    emptied pages read as zeros, pages changed by the parent after the
 *    fork hold the old data in the children;
 *  - a write after restore, by the parent or by a child, gives the writer a
 *    page of its own for that page only: the others go on sharing it, and
 *    its neighbour stays shared.
 * The image holds the shared pages once: the .desc's max_image_pages.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define PMD (2UL << 20)
#define NP 16384		/* 64 MiB */
#define TAIL 256		/* the last pages: the parent never touches them */
#define NH 2048			/* 8 MiB of huge pages */
#define NCHILD 3

#define SEED_PARENT 1
#define SEED_PARENT_LATE 2	/* the parent's writes after the fork */
#define SEED_CHILD 10		/* + child number */
#define SEED_GRAND 20
#define SEED_AFTER 30		/* writes after restore */

#define GRAND_PAGE 7000
#define PARENT_WRITES_AFTER 9000	/* the parent's write after restore */
#define CHILD_WRITES_AFTER 9100		/* + 10 * child number: each child's */

static const unsigned long parent_late[] = { 100, 101, 5000 };

static char *area, *huge;

/* Page @i of the 64 MiB area (or, from NP on, of the huge one). */
static char *page(unsigned long i)
{
	return i < NP ? area + i * P : huge + (i - NP) * P;
}

static void fill(unsigned long i, uint64_t seed)
{
	datagen(page(i), P, seed << 32 | i);
}

static int holds(unsigned long i, uint64_t seed)
{
	return datachk(page(i), P, seed << 32 | i) < 0;
}

/* Child @k's changes: written pages, emptied ones, tail pages it adds. */
static unsigned long written(int k, int j)
{
	return 1000 * (k + 1) + j;
}

static unsigned long emptied(int k, int j)
{
	return 1000 * (k + 1) + 50 + j;
}

static unsigned long added(int k, int j)
{
	return NP - TAIL + 10 * k + j;
}

/* One huge-area page child 1 changes. */
#define HUGE_WRITTEN (NP + 700)

static int is_parent_late(unsigned long i)
{
	for (size_t j = 0; j < ARRAY_SIZE(parent_late); j++)
		if (parent_late[j] == i)
			return 1;
	return 0;
}

/* What a child @k (or the grandchild, k = -1) wrote, emptied or added; 0 if not. */
static uint64_t own_seed(int k, unsigned long i, int *empty)
{
	int c = k < 0 ? 0 : k;

	*empty = 0;
	if (k < 0 && i == GRAND_PAGE)
		return SEED_GRAND;
	for (int j = 0; j < 4; j++) {
		if (i == written(c, j) || i == added(c, j))
			return SEED_CHILD + c;
		if (i == emptied(c, j)) {
			*empty = 1;
			return 0;
		}
	}
	if (c == 1 && i == HUGE_WRITTEN)
		return SEED_CHILD + 1;
	return 0;
}

static char *map_aligned(size_t len)
{
	char *p = mmap(NULL, len + PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		fail("mmap: %m");
	a = (char *)(((unsigned long)p + PMD - 1) & ~(PMD - 1));
	if ((a > p && munmap(p, a - p)) || munmap(a + len, p + PMD - a))
		fail("munmap: %m");
	return a;
}

/* The page frame of page @i in process @pid; 0 if not present. */
static uint64_t frame(pid_t pid, unsigned long i)
{
	char path[64];
	uint64_t e = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, &e, 8, (unsigned long)page(i) / P * 8) != 8)
		fail("reading %s: %m", path);
	close(fd);
	return e >> 63 ? e & ((1ULL << 55) - 1) : 0;
}

/* Every page frame of the two areas of @pid, NP + NH of them. */
static void frames(pid_t pid, uint64_t *f)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, f, NP * 8, (unsigned long)area / P * 8) != NP * 8 ||
	    pread(fd, f + NP, NH * 8, (unsigned long)huge / P * 8) != NH * 8)
		fail("reading %s: %m", path);
	close(fd);
	for (unsigned long i = 0; i < NP + NH; i++)
		f[i] = f[i] >> 63 ? f[i] & ((1ULL << 55) - 1) : 0;
}

/* A child's (or the grandchild's) data, then its write after restore. Exit status: 0 or why. */
static int child_check(int k)
{
	pid_t parent = getppid();
	unsigned long w = CHILD_WRITES_AFTER + 10 * (k < 0 ? 3 : k);
	uint64_t before, next;

	for (unsigned long i = 0; i < NP + NH; i++) {
		int empty;
		uint64_t seed = own_seed(k, i, &empty);

		if (empty) {
			if (zerochk(page(i), P) >= 0)
				return 20;
			continue;
		}
		if (!seed && i >= NP - TAIL && i < NP) {
			if (zerochk(page(i), P) >= 0)
				return 21;
			continue;
		}
		if (!holds(i, seed ? seed : SEED_PARENT))
			return seed ? 22 : 23;
	}
	/* A page shared with the parent before the write, its own after, and only that one. */
	before = frame(getpid(), w);
	next = frame(getpid(), w + 1);
	if (!before || before != frame(parent, w) || next != frame(parent, w + 1))
		return 24;
	fill(w, SEED_AFTER);
	if (frame(getpid(), w) == before || frame(parent, w) != before ||
	    frame(getpid(), w + 1) != next)
		return 25;
	return 0;
}

static const char *const why[] = {
	[20] = "an emptied page is not zero",
	[21] = "a page the parent never touched is not zero",
	[22] = "a page it changed lost its data",
	[23] = "a page it shares with the parent lost its data",
	[24] = "a page to write was not shared with the parent before",
	[25] = "a write did not give it a page of its own, or changed the parent's or its "
	       "neighbour",
	[26] = "the grandchild failed",
	[27] = "its setup failed",
};

static void wait_term(void)
{
	while (!test_sigterm)
		pause();
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 99;
	return WEXITSTATUS(status);
}

static void tell_ready(int ready)
{
	pid_t pid = getpid();

	if (write(ready, &pid, sizeof(pid)) != sizeof(pid))
		_exit(27);
	close(ready);
}

static void __attribute__((noreturn)) grandchild(int ready)
{
	fill(GRAND_PAGE, SEED_GRAND);
	tell_ready(ready);
	wait_term();
	_exit(child_check(-1));
}

static void __attribute__((noreturn)) child(int k, int ready)
{
	pid_t grand = 0;
	int ret;

	for (int j = 0; j < 4; j++) {
		fill(written(k, j), SEED_CHILD + k);
		fill(added(k, j), SEED_CHILD + k);
		if (madvise(page(emptied(k, j)), P, MADV_DONTNEED))
			_exit(27);
	}
	if (k == 1)
		fill(HUGE_WRITTEN, SEED_CHILD + 1);
	if (k == 0) {
		grand = fork();
		if (grand < 0)
			_exit(27);
		if (grand == 0)
			grandchild(ready);
	}
	tell_ready(ready);
	wait_term();
	ret = child_check(k);
	if (grand) {
		kill(grand, SIGTERM);
		if (wait_child(grand))
			ret = ret ? ret : 26;
	}
	_exit(ret);
}

/*
 * The frames each process maps: the parent's where no one changed the
 * page, its own where it (or the parent, after the fork) did. The
 * grandchild shares everything with child 0 but its own page.
 */
static void check_frames(const pid_t *kids, pid_t grand)
{
	static uint64_t fp[NP + NH], fc[NP + NH], fc0[NP + NH];

	frames(getpid(), fp);
	frames(kids[0], fc0);
	for (unsigned long i = 0; i < NP + NH; i++)
		if ((i < NP - TAIL || i >= NP) && !fp[i])
			fail("the parent's page %lu is not present (or its frame unseen)", i);
	for (int k = 0; k < NCHILD; k++) {
		const uint64_t *f = fc0;

		if (k)
			frames(kids[k], fc);
		if (k)
			f = fc;
		for (unsigned long i = 0; i < NP + NH; i++) {
			int empty;
			uint64_t seed = own_seed(k, i, &empty);

			if (empty || (i >= NP - TAIL && i < NP))
				continue;
			if ((seed || is_parent_late(i)) && f[i] == fp[i])
				fail("page %lu of child %d is the parent's, but one of them changed "
				     "it",
				     i, k);
			if (!seed && !is_parent_late(i) && f[i] != fp[i])
				fail("page %lu of child %d is not the parent's (frames %llx, %llx)", i,
				     k, (unsigned long long)f[i], (unsigned long long)fp[i]);
		}
	}
	frames(grand, fc);
	for (unsigned long i = 0; i < NP + NH; i++) {
		int empty;

		own_seed(0, i, &empty);
		if (empty || (i >= NP - TAIL && i < NP && !own_seed(0, i, &empty)))
			continue;
		if (i == GRAND_PAGE ? fc[i] == fc0[i] || fc[i] == fp[i] : fc[i] != fc0[i])
			fail("page %lu of the grandchild is %s child 0's (frames %llx, %llx)", i,
			     i == GRAND_PAGE ? "still" : "not", (unsigned long long)fc[i],
			     (unsigned long long)fc0[i]);
	}
}

int main(int argc, char **argv)
{
	pid_t kids[NCHILD], grand = 0;
	int ready[2], ret;

	test_init(argc, argv);
	test_daemon();
	area = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap: %m");
	huge = map_aligned(NH * P);
	if (madvise(huge, NH * P, MADV_HUGEPAGE))
		fail("madvise: %m");
	for (unsigned long i = 0; i < NP + NH; i++)
		if (i < NP - TAIL || i >= NP)
			fill(i, SEED_PARENT);
	if (!frame(getpid(), 0))
		skip("page frames are not visible in /proc/PID/pagemap");

	if (pipe(ready))
		fail("pipe: %m");
	for (int k = 0; k < NCHILD; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			fail("fork: %m");
		if (kids[k] == 0) {
			close(ready[0]);
			child(k, ready[1]);
		}
	}
	close(ready[1]);
	/* Each child and the grandchild send their pid once set up. */
	for (int n = 0; n < NCHILD + 1; n++) {
		pid_t pid;

		if (read(ready[0], &pid, sizeof(pid)) != sizeof(pid))
			fail("a child failed to set up");
		if (pid != kids[0] && pid != kids[1] && pid != kids[2])
			grand = pid;
	}
	close(ready[0]);
	if (!grand)
		fail("the grandchild did not set up");
	for (size_t j = 0; j < ARRAY_SIZE(parent_late); j++)
		fill(parent_late[j], SEED_PARENT_LATE);
	test_waitsig();

	check_frames(kids, grand);
	/* The parent's write: its own page, the children go on sharing the old one. */
	{
		uint64_t old = frame(getpid(), PARENT_WRITES_AFTER);

		fill(PARENT_WRITES_AFTER, SEED_AFTER);
		if (frame(getpid(), PARENT_WRITES_AFTER) == old)
			fail("the parent's write did not give it a page of its own");
		for (int k = 0; k < NCHILD; k++)
			if (frame(kids[k], PARENT_WRITES_AFTER) != old ||
			    frame(kids[k], PARENT_WRITES_AFTER + 1) !=
				    frame(getpid(), PARENT_WRITES_AFTER + 1))
				fail("after the parent's write, child %d does not share the old "
				     "page or its neighbour",
				     k);
	}
	for (int k = 0; k < NCHILD; k++) {
		kill(kids[k], SIGTERM);
		ret = wait_child(kids[k]);
		if (ret)
			fail("child %d: %s (%d)", k, ret < 99 && why[ret] ? why[ret] : "died", ret);
	}
	for (unsigned long i = 0; i < NP + NH; i++) {
		uint64_t seed = is_parent_late(i)		 ? SEED_PARENT_LATE :
				i == PARENT_WRITES_AFTER	 ? SEED_AFTER :
								   SEED_PARENT;

		if (i >= NP - TAIL && i < NP) {
			if (zerochk(page(i), P) >= 0)
				fail("the parent's untouched page %lu is not zero", i);
		} else if (!holds(i, seed)) {
			fail("the parent's page %lu lost its data", i);
		}
	}
	pass();
	return 0;
}
