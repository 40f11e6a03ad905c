/*
 * madvise() flags survive with the contents of their mappings: MADV_DONTFORK,
 * MADV_WIPEONFORK, MADV_DONTDUMP, MADV_HUGEPAGE, MADV_NOHUGEPAGE, each read
 * back from the VmFlags of /proc/self/smaps and, where cheap, by behaviour:
 * a forked child does not see a DONTFORK mapping and sees zeros in a
 * WIPEONFORK one. Also on a PROT_NONE mapping, on one grown by mremap()
 * after the advice, and on a MAP_GROWSDOWN one, which must still grow down.
 * A mapping without advice must have none of the flags.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE

/* The VmFlags mnemonics of the advice under test. */
static const char *const mnemonics[] = { "dc", "wf", "dd", "hg", "nh" };

struct region {
	const char *name;
	char *addr;
	size_t len;		/* pages with data */
	uint64_t seed;
	const char *want;	/* mnemonics the mapping must have, "dc wf" */
};

enum { DONTFORK, WIPEONFORK, DONTDUMP, HUGEPAGE, NOHUGEPAGE, NONE, GROWN, GROWSDOWN, PLAIN, NR };

static struct region r[NR] = {
	[DONTFORK] = { "dontfork", NULL, 8 * P, 1, "dc" },
	[WIPEONFORK] = { "wipeonfork", NULL, 8 * P, 2, "wf" },
	[DONTDUMP] = { "dontdump", NULL, 8 * P, 3, "dd" },
	[HUGEPAGE] = { "hugepage", NULL, 8 * P, 4, "hg" },
	[NOHUGEPAGE] = { "nohugepage", NULL, 8 * P, 5, "nh" },
	[NONE] = { "PROT_NONE", NULL, 4 * P, 6, "dd dc" },
	[GROWN] = { "grown", NULL, 16 * P, 7, "wf" },
	[GROWSDOWN] = { "growsdown", NULL, 4 * P, 8, "gd dc" },
	[PLAIN] = { "plain", NULL, 8 * P, 9, "" },
};

static char *map(size_t len, int prot, int flags, void *hint)
{
	char *p = mmap(hint, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

static void advise(struct region *g, int advice)
{
	if (madvise(g->addr, g->len, advice))
		fail("madvise(%s, %d): %m", g->name, advice);
}

/*
 * A grows-down mapping with room below: 4 MiB of hole, more than the 1 MiB
 * stack guard gap the kernel keeps from the mapping under it.
 */
static char *map_growsdown(size_t len)
{
	char *hole = map(8 << 20, PROT_NONE, MAP_NORESERVE, NULL);
	char *p = hole + (6 << 20);

	if (munmap(hole + (2 << 20), 6 << 20))
		fail("munmap: %m");
	return map(len, PROT_READ | PROT_WRITE, MAP_GROWSDOWN | MAP_FIXED, p);
}

static void setup(void)
{
	int i;

	for (i = 0; i < NR; i++) {
		if (i == GROWN)
			r[i].addr = map(4 * P, PROT_READ | PROT_WRITE, 0, NULL);
		else if (i == GROWSDOWN)
			r[i].addr = map_growsdown(r[i].len);
		else
			r[i].addr = map(r[i].len, PROT_READ | PROT_WRITE, 0, NULL);
	}
	for (i = 0; i < NR; i++)
		datagen(r[i].addr, i == GROWN ? 4 * P : r[i].len, r[i].seed);

	advise(&r[DONTFORK], MADV_DONTFORK);
	advise(&r[WIPEONFORK], MADV_WIPEONFORK);
	advise(&r[DONTDUMP], MADV_DONTDUMP);
	advise(&r[HUGEPAGE], MADV_HUGEPAGE);
	advise(&r[NOHUGEPAGE], MADV_NOHUGEPAGE);
	advise(&r[NONE], MADV_DONTDUMP);
	advise(&r[NONE], MADV_DONTFORK);
	if (mprotect(r[NONE].addr, r[NONE].len, PROT_NONE))
		fail("mprotect: %m");
	advise(&r[GROWSDOWN], MADV_DONTFORK);

	/* The advice first, then the growth: the new pages belong to the same VMA. */
	r[GROWN].len = 4 * P;
	advise(&r[GROWN], MADV_WIPEONFORK);
	r[GROWN].addr = mremap(r[GROWN].addr, 4 * P, 16 * P, MREMAP_MAYMOVE);
	if (r[GROWN].addr == MAP_FAILED)
		fail("mremap: %m");
	r[GROWN].len = 16 * P;
	datagen(r[GROWN].addr + 4 * P, 12 * P, r[GROWN].seed + 100);
}

static int wanted(const struct region *g, const char *flag)
{
	const char *p = strstr(g->want, flag);

	return p && (p[2] == ' ' || p[2] == '\0');
}

/* Every advice flag as wanted, at the first and at the last page. */
static void check_flags(const struct region *g)
{
	unsigned long ends[2] = { (unsigned long)g->addr, (unsigned long)g->addr + g->len - 1 };
	size_t i, e;

	for (e = 0; e < 2; e++)
		for (i = 0; i < ARRAY_SIZE(mnemonics); i++)
			if (test_vmflag(ends[e], mnemonics[i]) != wanted(g, mnemonics[i]))
				fail("%s mapping at %#lx: VmFlags %s \"%s\", expected %s", g->name,
				     ends[e], test_vmflag(ends[e], mnemonics[i]) ? "has" : "lacks",
				     mnemonics[i], g->want[0] ? g->want : "none of them");
	if (wanted(g, "gd") && !test_vmflag(ends[0], "gd"))
		fail("%s mapping lost VmFlags gd", g->name);
}

static void check_data(void)
{
	int i;

	if (mprotect(r[NONE].addr, r[NONE].len, PROT_READ))
		fail("mprotect: %m");
	for (i = 0; i < NR; i++) {
		size_t len = i == GROWN ? 4 * P : r[i].len;
		ssize_t off = datachk(r[i].addr, len, r[i].seed);

		if (off >= 0)
			fail("%s mapping differs at offset %zd", r[i].name, off);
	}
	CHECK_DATA(r[GROWN].addr + 4 * P, 12 * P, r[GROWN].seed + 100);
	if (mprotect(r[NONE].addr, r[NONE].len, PROT_NONE))
		fail("mprotect: %m");
}

/* What a child sees; the exit code says what was wrong. */
static int child(void)
{
	struct test_vma vma;

	if (!test_vma_at((unsigned long)r[DONTFORK].addr, &vma))
		return 10;
	if (!test_vma_at((unsigned long)r[NONE].addr, &vma))
		return 11;
	if (!test_vma_at((unsigned long)r[GROWSDOWN].addr, &vma))
		return 12;
	if (zerochk(r[WIPEONFORK].addr, r[WIPEONFORK].len) >= 0)
		return 13;
	if (zerochk(r[GROWN].addr, r[GROWN].len) >= 0)
		return 14;
	if (datachk(r[PLAIN].addr, r[PLAIN].len, r[PLAIN].seed) >= 0)
		return 15;
	return 0;
}

static void check_fork(void)
{
	static const char *const why[] = {
		[10] = "sees the DONTFORK mapping",
		[11] = "sees the DONTFORK PROT_NONE mapping",
		[12] = "sees the DONTFORK grows-down mapping",
		[13] = "sees data in the WIPEONFORK mapping",
		[14] = "sees data in the grown WIPEONFORK mapping",
		[15] = "sees other data in a plain mapping",
	};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		_exit(child());
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %m");
	if (!WIFEXITED(status) || (WEXITSTATUS(status) && WEXITSTATUS(status) < 10) ||
	    WEXITSTATUS(status) > 15)
		fail("the forked child ended with status %#x", status);
	if (WEXITSTATUS(status))
		fail("a forked child %s", why[WEXITSTATUS(status)]);
}

/* Touching the page below a grows-down mapping extends it. */
static void check_growsdown(void)
{
	struct test_vma vma;
	char *below = r[GROWSDOWN].addr - P;

	if (test_faults(below, 1))
		fail("the page below the grows-down mapping faults");
	if (test_vma_at((unsigned long)below, &vma) || vma.start != (unsigned long)below ||
	    vma.end != (unsigned long)(r[GROWSDOWN].addr + r[GROWSDOWN].len))
		fail("the grows-down mapping did not grow: %#lx-%#lx", vma.start, vma.end);
	if (!test_vmflag((unsigned long)below, "gd"))
		fail("the grown grows-down mapping lacks VmFlags gd");
}

int main(int argc, char **argv)
{
	int i;

	test_init(argc, argv);
	/* After the fork of test_daemon(): DONTFORK and WIPEONFORK act on it too. */
	test_daemon();
	setup();
	for (i = 0; i < NR; i++)
		check_flags(&r[i]);
	test_waitsig();

	for (i = 0; i < NR; i++)
		check_flags(&r[i]);
	check_data();
	check_fork();
	check_growsdown();
	pass();
	return 0;
}
