/* A live dump's holder process stays out of the task's sight: its waits, its children. */
/*
 * snap's live dump forks a holder from the task (a child with a copy of its
 * memory) and reaps it at the end. The task must not notice: until SIGTERM
 * it forks short-lived children and reaps them with waitpid(-1), which must
 * return each of them, with its exit status, and nothing else, while it
 * writes to random pages of 128 MiB (so that the kernel copies pages the
 * holder keeps). At SIGTERM no child of any kind may be left (no zombie
 * holder: waitid(__WALL) and /proc/self/task/PID/children say so), and
 * every page holds its pattern and the last count written to it. With the
 * argument "subreaper" the test is a child subreaper, as a container's init
 * is: the holder is then its child (an orphan would come back to it), which
 * snap must reap from within. A child of the test that the dump caught and
 * that exited during it leaves its holder as an orphan of the test's: a
 * subreaper gets those, and they (by name) are all it may see.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE		(128UL << 20)
#define NPAGES		(SIZE / PAGE_SIZE)
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))

static uint64_t *mem;
static uint64_t *counts;	/* what word 0 of each page must hold */

static uint64_t pattern(unsigned long k, unsigned long i)
{
	return ((uint64_t)k << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static void check_children(void)
{
	char path[64], buf[256] = "";
	siginfo_t si = { 0 };
	FILE *f;

	if (!waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL)) {
		if (si.si_pid)
			test_record("a child %d (code %d) was left to reap", si.si_pid, si.si_code);
		else
			test_record("a child is still there");
	} else if (errno != ECHILD) {
		test_record("waitid: %m");
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	f = fopen(path, "r");
	if (!f) {
		test_record("%s: %m", path);
		return;
	}
	if (fgets(buf, sizeof(buf), f) && buf[0])
		test_record("children left: %s", buf);
	fclose(f);
}

static bool subreaper;

/* The holder of a child the dump caught that exited meanwhile: its orphan. */
static bool orphaned_holder(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strcmp(comm, "snap-holder\n");
}

/* Whether every child still there is an orphaned holder. */
static bool only_holders_left(void)
{
	char path[64], buf[512] = "", *p, *end;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (p = buf;; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			return true;
		if (!orphaned_holder(pid))
			return false;
	}
}

/*
 * waitpid(-1). A child subreaper gets the orphans of the processes below
 * it, and a child the dump caught that exits during it leaves its holder
 * so: those, and only those, it reaps (or, still running, leaves) and goes on.
 */
static pid_t wait_any(int *status, int flags)
{
	for (;;) {
		siginfo_t si = { 0 };

		if (!subreaper)
			return waitpid(-1, status, flags);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT | flags) < 0)
			return -1;
		/* Only running children: an orphaned holder still at work is not ours. */
		if (!si.si_pid && only_holders_left()) {
			errno = ECHILD;
			return -1;
		}
		if (!si.si_pid || !orphaned_holder(si.si_pid))
			return waitpid(si.si_pid ? si.si_pid : -1, status, flags);
		waitpid(si.si_pid, NULL, 0);
		test_msg("reaped the orphaned holder %d\n", si.si_pid);
	}
}

int main(int argc, char **argv)
{
	uint64_t x = 0x243f6a8885a308d3ULL, n;
	unsigned long k, i;

	test_init(argc, argv);
	if (test_argc > 1 && strcmp(test_argv[1], "subreaper"))
		fail("unknown argument %s", test_argv[1]);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	counts = mmap(NULL, NPAGES * sizeof(*counts), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || counts == MAP_FAILED)
		fail("mmap: %m");
	for (k = 0; k < NPAGES; k++)
		for (i = 1; i < WORDS; i++)
			mem[k * WORDS + i] = pattern(k, i);
	test_daemon();
	/* After the daemon's fork: a child does not inherit it. */
	subreaper = test_argc > 1;
	if (subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		fail("PR_SET_CHILD_SUBREAPER: %m");
	test_ready();
	for (n = 1; !test_sigterm; n++) {
		int status, code = n & 0x7f;
		pid_t pid, got;

		for (i = 0; i < 64; i++) {
			x ^= x << 13;	/* xorshift64 */
			x ^= x >> 7;
			x ^= x << 17;
			k = x % NPAGES;
			mem[k * WORDS] = counts[k] = n;
		}
		pid = fork();
		if (pid < 0)
			fail("fork: %m");
		if (pid == 0)
			_exit(code);
		got = wait_any(&status, 0);
		if (got < 0 && errno == EINTR && test_sigterm)
			got = waitpid(pid, &status, 0);
		if (got != pid)
			test_record("waitpid(-1) gave %d (%m), not the child %d", got, pid);
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
			test_record("child %d: status %#x, not exit %d", pid, status, code);
		got = wait_any(&status, WNOHANG);
		if (got != -1 || errno != ECHILD)
			test_record("waitpid(-1) then gave %d (%m), no child was left", got);
		if (test_recorded())
			break;
	}
	test_waitsig();
	check_children();
	for (k = 0; k < NPAGES && !test_recorded(); k++) {
		if (mem[k * WORDS] != counts[k])
			test_record("page %lu: count %llu, expected %llu", k,
				    (unsigned long long)mem[k * WORDS],
				    (unsigned long long)counts[k]);
		for (i = 1; i < WORDS; i++)
			if (mem[k * WORDS + i] != pattern(k, i)) {
				test_record("page %lu word %lu changed", k, i);
				break;
			}
	}
	if (test_recorded())
		fail("%s", test_recorded());
	pass();
	return 0;
}
