/*
 * What the mm applies to mappings still to come: mlockall(MCL_FUTURE)
 * (argument "future", with MCL_CURRENT, as chrony and corosync call it),
 * mlockall(MCL_FUTURE | MCL_ONFAULT) ("onfault"), and KSM's
 * PR_SET_MEMORY_MERGE ("ksm"; it also skips without KSM). After restore a
 * new mapping is locked (VmFlags "lo", and "lf" on fault) or mergeable
 * ("mg") as before, and the mapping made before the dump still is; with
 * KSM, PR_GET_MEMORY_MERGE says 1 again.
 */
#include <sys/mman.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "zdtmtst.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif

static void *fresh(void)
{
	void *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

/* VmFlags of @p hold each of @want ("lo lf"), and none of @not. */
static void flags(const char *what, void *p, const char *want, const char *not)
{
	char buf[16];

	for (const char *w = want; *w; w += w[2] ? 3 : 2) {
		snprintf(buf, sizeof(buf), "%.2s", w);
		if (!test_vmflag((unsigned long)p, buf))
			fail("%s: VmFlags lack %s", what, buf);
	}
	for (const char *w = not; *w; w += w[2] ? 3 : 2) {
		snprintf(buf, sizeof(buf), "%.2s", w);
		if (test_vmflag((unsigned long)p, buf))
			fail("%s: VmFlags have %s", what, buf);
	}
}

int main(int argc, char **argv)
{
	const char *kind, *want, *not;
	void *before;

	test_init(argc, argv);
	/* A fork's child has no locks and no MCL_FUTURE: set in the daemon, ready after. */
	test_daemon();
	kind = test_argc > 1 ? test_argv[1] : "future";
	if (!strcmp(kind, "ksm")) {
		if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0))
			skip("no PR_SET_MEMORY_MERGE (KSM, Linux 6.4+): %m");
		want = "mg";
		not = "lo";
	} else if (!strcmp(kind, "onfault")) {
		if (mlockall(MCL_FUTURE | MCL_ONFAULT))
			fail("mlockall: %m");
		want = "lo lf";
		not = "mg";
	} else {
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			fail("mlockall: %m");
		want = "lo";
		not = "lf mg";
	}
	before = fresh();
	flags("a mapping made before the dump", before, want, not);

	test_ready();
	test_waitsig();

	flags("a mapping made before the dump, after restore", before, want, not);
	flags("a mapping made after restore", fresh(), want, not);
	if (!strcmp(kind, "ksm"))
		CHECK_EQ(prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0), 1);
	pass();
	return 0;
}
