/*
 * MAP_DROPPABLE memory (Linux 6.11+) comes back droppable: VmFlags "dp",
 * with the wipe-on-fork, no-dump and no-reserve behaviour the type implies,
 * and without its contents. The kernel may drop such pages at any time and a
 * fork never copies them: a restored copy of the process is a fork in time,
 * and what it holds (a random generator's state, a cache) must not be
 * duplicated. So snap saves none of its pages (the image stays small) and
 * the restored mapping reads as zeros, as if the kernel had dropped it; it is
 * usable at once. A private anonymous mapping next to it keeps its data and
 * is not droppable. Its last page is a guard region, which stays one.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define P PAGE_SIZE
#define NP 2048		/* 8 MiB: more than the whole image may hold (.desc) */
#define ND (NP - 1)	/* pages with data; the last one is a guard */

static void check_flags(const char *what, char *p, int droppable)
{
	static const char *const implied[] = { "dp", "wf", "dd", "nr" };

	for (size_t i = 0; i < ARRAY_SIZE(implied); i++)
		if (test_vmflag((unsigned long)p, implied[i]) != droppable)
			fail("%s mapping: VmFlags %s \"%s\"", what,
			     droppable ? "lacks" : "has", implied[i]);
}

int main(int argc, char **argv)
{
	char *d, *plain;
	int status, guard;
	pid_t pid;

	test_init(argc, argv);
	d = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
	if (d == MAP_FAILED && errno == EINVAL)
		skip("no MAP_DROPPABLE in this kernel (Linux 6.11+)");
	if (d == MAP_FAILED)
		fail("mmap MAP_DROPPABLE: %m");
	plain = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (plain == MAP_FAILED)
		fail("mmap: %m");
	datagen(plain, 4 * P, 2);

	test_daemon();
	/* After the fork, which wipes it. Linux 6.13+; without it, no guard to check. */
	guard = !madvise(d + ND * P, P, MADV_GUARD_INSTALL);
	if (!guard && errno != EINVAL)
		fail("MADV_GUARD_INSTALL: %m");
	datagen(d, ND * P, 1);
	check_flags("droppable", d, 1);
	test_waitsig();

	check_flags("droppable", d, 1);
	check_flags("plain", plain, 0);
	CHECK_DATA(plain, 4 * P, 2);
	if (test_restored()) {
		ssize_t off = zerochk(d, ND * P);

		if (off >= 0)
			fail("the restored droppable mapping holds data at offset %zd", off);
	}
	if (guard && !test_faults(d + ND * P, 0))
		fail("the droppable mapping's guard page lost its guard");
	/* Usable, and still wiped in a child. */
	datagen(d, ND * P, 3);
	CHECK_DATA(d, ND * P, 3);
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		_exit(zerochk(d, ND * P) >= 0 ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("a forked child sees data in the droppable mapping (status %#x)", status);
	pass();
	return 0;
}
