/*
 * What the mm applies to mappings still to come: mlockall(MCL_FUTURE)
 * (argument "future", with MCL_CURRENT, as chrony and corosync call it),
 * mlockall(MCL_FUTURE | MCL_ONFAULT) ("onfault"), and KSM's
 * PR_SET_MEMORY_MERGE ("ksm"; it also skips without KSM). After restore a
 * new mapping is locked (VmFlags "lo", and "lf" on fault) or mergeable
 * ("mg") as before, and the mapping made before the dump still is; with
 * KSM, PR_GET_MEMORY_MERGE says 1 again. "tree": the parent with
 * MCL_FUTURE, its child with MCL_FUTURE | MCL_ONFAULT, each its own again.
 */
#include <sys/mman.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Put @kind in force; what a new mapping's VmFlags must then hold, and not. */
static void setup(const char *kind, const char **want, const char **not)
{
	if (!strcmp(kind, "ksm")) {
		if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0))
			skip("no PR_SET_MEMORY_MERGE (KSM, Linux 6.4+): %m");
		*want = "mg";
		*not = "lo";
	} else if (!strcmp(kind, "onfault")) {
		if (mlockall(MCL_FUTURE | MCL_ONFAULT))
			fail("mlockall: %m");
		*want = "lo lf";
		*not = "mg";
	} else {
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			fail("mlockall: %m");
		*want = "lo";
		*not = "lf mg";
	}
}

static void check(const char *kind, void *before, const char *want, const char *not)
{
	flags("a mapping made before the dump, after restore", before, want, not);
	flags("a mapping made after restore", fresh(), want, not);
	if (!strcmp(kind, "ksm"))
		CHECK_EQ(prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0), 1);
}

int main(int argc, char **argv)
{
	const char *kind, *want, *not, *cwant, *cnot;
	int go[2], status = 0;
	pid_t child = 0;
	void *before;

	test_init(argc, argv);
	/* A fork's child has no locks and no MCL_FUTURE: set in the daemon, ready after. */
	test_daemon();
	kind = test_argc > 1 ? test_argv[1] : "future";
	/* "tree": the parent as "future", a child of its own as "onfault". */
	if (!strcmp(kind, "tree")) {
		if (pipe(go))
			fail("pipe: %m");
		child = fork();
		if (child < 0)
			fail("fork: %m");
		if (!child) {
			char c;

			setup("onfault", &cwant, &cnot);
			before = fresh();
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			check("onfault", before, cwant, cnot);
			_exit(0);
		}
		kind = "future";
	}
	setup(kind, &want, &not);
	before = fresh();
	flags("a mapping made before the dump", before, want, not);

	test_ready();
	test_waitsig();

	check(kind, before, want, not);
	if (child && (write(go[1], "g", 1) != 1 || waitpid(child, &status, 0) != child ||
		      !WIFEXITED(status) || WEXITSTATUS(status)))
		fail("the child's own mlockall(MCL_FUTURE | MCL_ONFAULT) did not come back (status %#x)",
		     status);
	pass();
	return 0;
}
