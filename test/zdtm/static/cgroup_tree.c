/*
 * A tree whose tasks sit in different cgroups, v1 (cpu, pids) and cgroup2,
 * comes back in the same ones. The root stays where it was started (where
 * snap runs: restore puts the root's cgroup there); it makes zdtm_cg.PID
 * below its own cgroup with a and b in it (and b/c in cgroup2), sets
 * cpu.shares of a and pids.max of b, and moves child A into a, child B into
 * b; B's child C stays in b, but in cgroup2 moves on into b/c. After
 * restore the root reads its children's /proc/PID/cgroup: each must be
 * where it was, relative to the root's cgroup, with its properties. With
 * --root-anywhere the root itself may have moved (--cgroup-root); without
 * it, it must be where it started. The root removes what it made.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { H_CPU, H_PIDS, H_UNIFIED, H_NR };

static const char *const mnt[H_NR] = {
	"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified",
};
/* How /proc/PID/cgroup names each hierarchy: "ID:<this>:path". */
static const char *const ctrl[H_NR] = { "cpu", "pids", "" };

static char start[H_NR][PATH_MAX];	/* the root's cgroups when it started */
static char top[64];			/* zdtm_cg.PID */
static pid_t kids[3];
static bool made;

/* @pid's cgroup in hierarchy @h, or "" if none. */
static void cg_of(pid_t pid, int h, char *buf, size_t size)
{
	char path[64], line[PATH_MAX + 64], want[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	snprintf(want, sizeof(want), ":%s:", ctrl[h]);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, want);

		if (!p || (h == H_UNIFIED && strncmp(line, "0::", 3)))
			continue;
		p += strlen(want);
		p[strcspn(p, "\n")] = 0;
		snprintf(buf, size, "%s", p);
		break;
	}
	fclose(f);
}

/* The directory of cgroup @rel (below zdtm_cg.PID, "" for it) under root cgroup @base. */
static void dir_of(int h, const char *base, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s/%s%s%s", mnt[h], strcmp(base, "/") ? base : "", top,
		 *rel ? "/" : "", rel);
}

static void write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		fail("cannot write %s to %s: %m", val, path);
	close(fd);
}

static void read_file(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, size - 1);
	if (n < 0)
		fail("cannot read %s: %m", path);
	close(fd);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* Where child @k goes in hierarchy @h, below zdtm_cg.PID. */
static const char *place(int k, int h)
{
	if (k == 0)
		return "a";
	if (k == 2 && h == H_UNIFIED)
		return "b/c";
	return "b";
}

static void join(int k)
{
	char dir[PATH_MAX];

	for (int h = 0; h < H_NR; h++) {
		/* C inherits b from B, and moves on only in cgroup2. */
		if (k == 2 && h != H_UNIFIED)
			continue;
		dir_of(h, start[h], place(k, h), dir, sizeof(dir));
		write_file(dir, "cgroup.procs", "0");
	}
}

static void __noreturn settle(int k, int ready)
{
	join(k);
	if (write(ready, "x", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

static void __noreturn child(int k, int ready, int cpid)
{
	join(k);
	if (k == 1) {
		kids[2] = fork();
		if (kids[2] < 0)
			_exit(2);
		if (kids[2] == 0)
			settle(2, ready);
		/* B tells the root C's pid. */
		if (write(cpid, &kids[2], sizeof(kids[2])) != sizeof(kids[2]))
			_exit(3);
	}
	if (write(ready, "x", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

/* C, B's child, may not be quite dead yet when B is reaped: its cgroup waits for it. */
static void remove_dir(const char *dir)
{
	for (int i = 0; rmdir(dir) && errno == EBUSY && i < 500; i++)
		usleep(10000);
}

/* Children gone, the cgroups made are removed, wherever the root is now. */
static void cleanup(void)
{
	char now[PATH_MAX], dir[PATH_MAX];
	static const char *const order[] = { "b/c", "a", "b", "" };

	if (!made)
		return;
	for (int k = 0; k < 3; k++)
		if (kids[k] > 0)
			kill(kids[k], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	for (int h = 0; h < H_NR; h++) {
		cg_of(getpid(), h, now, sizeof(now));
		for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
			if (h != H_UNIFIED && i == 0)
				continue;
			dir_of(h, now, order[i], dir, sizeof(dir));
			remove_dir(dir);
			/* And where it started, if it was moved. */
			dir_of(h, start[h], order[i], dir, sizeof(dir));
			remove_dir(dir);
		}
	}
	made = false;
}

static void make_cgroups(void)
{
	char dir[PATH_MAX];

	for (int h = 0; h < H_NR; h++) {
		static const char *const dirs[] = { "", "a", "b", "b/c" };

		for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
			if (h != H_UNIFIED && i == 3)
				continue;
			dir_of(h, start[h], dirs[i], dir, sizeof(dir));
			if (mkdir(dir, 0755))
				fail("cannot make cgroup %s: %m", dir);
			made = true;
		}
	}
	dir_of(H_CPU, start[H_CPU], "a", dir, sizeof(dir));
	write_file(dir, "cpu.shares", "512");
	dir_of(H_PIDS, start[H_PIDS], "b", dir, sizeof(dir));
	write_file(dir, "pids.max", "77");
}

static char problem[PATH_MAX * 3];

#define bad(...)                                                           \
	do {                                                               \
		if (!problem[0])                                           \
			snprintf(problem, sizeof(problem), __VA_ARGS__); \
		return;                                                    \
	} while (0)

/* Whether @pid holds an fd of a cgroup file: snap's must not be left in a restored task. */
static bool holds_cgroup_fd(pid_t pid)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	while (d && !found && (de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found = !strncmp(target, "/sys/fs/cgroup", 14);
	}
	if (d)
		closedir(d);
	return found;
}

/* What is wrong after restore, in problem[]: reported once the cgroups are removed. */
static void check(bool root_anywhere)
{
	char now[H_NR][PATH_MAX], got[PATH_MAX], want[PATH_MAX], dir[PATH_MAX], val[64];

	for (int h = 0; h < H_NR; h++) {
		cg_of(getpid(), h, now[h], sizeof(now[h]));
		if (!root_anywhere && strcmp(now[h], start[h]))
			bad("root: %s cgroup %s, started in %s", mnt[h], now[h], start[h]);
	}
	if (holds_cgroup_fd(getpid()))
		bad("root: holds an fd of a cgroup file");
	for (int k = 0; k < 3; k++) {
		if (holds_cgroup_fd(kids[k]))
			bad("child %d (pid %d): holds an fd of a cgroup file", k, kids[k]);
	}
	for (int k = 0; k < 3; k++)
		for (int h = 0; h < H_NR; h++) {
			cg_of(kids[k], h, got, sizeof(got));
			snprintf(want, sizeof(want), "%s/%s/%s", strcmp(now[h], "/") ? now[h] : "",
				 top, place(k, h));
			if (strcmp(got, want))
				bad("child %d (pid %d): %s cgroup %s, expected %s", k, kids[k],
				     mnt[h], got, want);
		}
	dir_of(H_CPU, now[H_CPU], "a", dir, sizeof(dir));
	read_file(dir, "cpu.shares", val, sizeof(val));
	if (strcmp(val, "512"))
		bad("%s/cpu.shares is %s, expected 512", dir, val);
	dir_of(H_PIDS, now[H_PIDS], "b", dir, sizeof(dir));
	read_file(dir, "pids.max", val, sizeof(val));
	if (strcmp(val, "77"))
		bad("%s/pids.max is %s, expected 77", dir, val);
}

int main(int argc, char **argv)
{
	bool root_anywhere;
	int p[2], q[2];
	char c[3];

	test_init(argc, argv);
	root_anywhere = test_argc > 1 && !strcmp(test_argv[1], "--root-anywhere");
	for (int h = 0; h < H_NR; h++)
		if (access(mnt[h], F_OK))
			skip("no %s: needs a host with v1 cpu and pids, and cgroup2 at %s", mnt[h],
			     mnt[H_UNIFIED]);
	test_daemon();
	for (int h = 0; h < H_NR; h++) {
		cg_of(getpid(), h, start[h], sizeof(start[h]));
		if (!start[h][0])
			fail("root: in no %s cgroup", mnt[h]);
	}
	snprintf(top, sizeof(top), "zdtm_cg.%d", getpid());
	atexit(cleanup);
	make_cgroups();
	if (pipe(p) || pipe(q))
		fail("pipe: %m");
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			fail("fork: %m");
		if (kids[k] == 0)
			child(k, p[1], q[1]);
	}
	for (int i = 0; i < 3; i++)
		if (read(p[0], &c[i], 1) != 1)
			fail("children did not get into their cgroups");
	if (read(q[0], &kids[2], sizeof(kids[2])) != sizeof(kids[2]))
		fail("no pid of C");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	test_waitsig();
	check(root_anywhere);
	cleanup();
	if (problem[0])
		fail("%s", problem);
	pass();
	return 0;
}
