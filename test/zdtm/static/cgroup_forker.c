/*
 * A tree that forks all the time, in a v1 freezer cgroup of its own
 * (argv[1], made here), dumped with --freeze-cgroup: four workers, the
 * root's children, each fork and reap a short-lived child in a loop and
 * count the forks in shared memory. After restore every worker is still the
 * root's child and the counters go on; after a dump that leaves it running,
 * the freezer is THAWED. The root moves out of the cgroup and removes it
 * at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_WORKERS 4

static const char *cg;
static pid_t workers[NR_WORKERS];
static volatile unsigned long *forks;

static int write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

static void __noreturn worker(int i)
{
	for (;;) {
		pid_t p = fork();

		if (p == 0)
			_exit(0);
		if (p > 0)
			waitpid(p, NULL, 0);
		forks[i]++;
	}
}

/* Workers gone, the root leaves the cgroup (for its parent) and removes it. */
static void cleanup(void)
{
	char parent[PATH_MAX];

	for (int i = 0; i < NR_WORKERS; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	snprintf(parent, sizeof(parent), "%s/..", cg);
	write_file(parent, "cgroup.procs", "0");
	for (int i = 0; rmdir(cg) && errno == EBUSY && i < 500; i++)
		usleep(10000);
}

int main(int argc, char **argv)
{
	unsigned long before[NR_WORKERS];
	char state[64] = "";
	char path[PATH_MAX];
	int fd;

	test_init(argc, argv);
	if (test_argc < 2)
		skip("usage: cgroup_forker FREEZER-CGROUP");
	cg = test_argv[1];
	snprintf(path, sizeof(path), "%s", cg);
	*strrchr(path, '/') = 0;
	if (access(path, F_OK))
		skip("no v1 freezer at %s", path);
	if (mkdir(cg, 0755) && errno != EEXIST)
		fail("cannot make %s: %m", cg);
	if (write_file(cg, "cgroup.procs", "0"))
		fail("cannot join %s: %m", cg);
	test_daemon();
	atexit(cleanup);
	forks = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (forks == MAP_FAILED)
		fail("mmap: %m");
	for (int i = 0; i < NR_WORKERS; i++) {
		workers[i] = fork();
		if (workers[i] < 0)
			fail("fork: %m");
		if (workers[i] == 0)
			worker(i);
	}
	test_waitsig();

	for (int i = 0; i < NR_WORKERS; i++) {
		if (waitpid(workers[i], NULL, WNOHANG) != 0)
			fail("worker %d (pid %d) is not the root's running child", i, workers[i]);
		before[i] = forks[i];
	}
	usleep(200000);
	for (int i = 0; i < NR_WORKERS; i++)
		if (forks[i] == before[i])
			fail("worker %d (pid %d) no longer forks", i, workers[i]);
	/*
	 * A restored tree comes back where snap runs, out of this cgroup; the
	 * one a leave-running dump let go is still in it.
	 */
	if (test_restored()) {
		cleanup();
		pass();
		return 0;
	}
	snprintf(path, sizeof(path), "%s/freezer.state", cg);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, state, sizeof(state) - 1) < 0)
		fail("cannot read %s: %m", path);
	close(fd);
	if (strncmp(state, "THAWED", 6))
		fail("%s is %s", path, state);
	cleanup();
	pass();
	return 0;
}
