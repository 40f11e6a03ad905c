/*
 * A tree in a cgroup namespace of its own keeps its view of its cgroups.
 * Started as `cgroup_ns DIR` (DIR a cgroup2 directory, made here), the
 * launcher joins DIR and unshares its cgroup namespace, so the test's root
 * sees its cgroup2 cgroup as "/"; it makes DIR/k and its child joins it:
 * "/k". After restore, wherever the tree was put (bad_cgroup.py restores it
 * under another --cgroup-root), the root must still see "/" and its child
 * "/k", in cgroup2 and in v1 cpu (where the namespace's root is the
 * root's own cgroup too). The harness removes the cgroups.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

/* @pid's cgroup in hierarchy @ctrl ("" for cgroup2), as this namespace shows it. */
static void view(pid_t pid, const char *ctrl, char *buf, size_t size)
{
	char path[64], line[PATH_MAX + 64], want[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	snprintf(want, sizeof(want), "%s:%s:", *ctrl ? "" : "0", ctrl);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, want);

		if (!p || (!*ctrl && p != line))
			continue;
		p += strlen(want);
		p[strcspn(p, "\n")] = 0;
		snprintf(buf, size, "%s", p);
		break;
	}
	fclose(f);
}

static void join(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1)
		fail("cannot join %s: %m", dir);
	close(fd);
}

static void expect(pid_t pid, const char *ctrl, const char *want)
{
	char got[PATH_MAX];

	view(pid, ctrl, got, sizeof(got));
	if (strcmp(got, want))
		fail("pid %d sees its %s cgroup as %s, expected %s", pid, *ctrl ? ctrl : "cgroup2",
		     got, want);
}

int main(int argc, char **argv)
{
	char sub[PATH_MAX];
	int p[2];
	pid_t kid;

	test_init(argc, argv);
	if (test_argc < 2)
		skip("usage: cgroup_ns CGROUP2-DIR");
	if (access("/proc/self/ns/cgroup", F_OK))
		skip("no cgroup namespaces");
	if (mkdir(test_argv[1], 0755))
		fail("cannot make %s: %m", test_argv[1]);
	join(test_argv[1]);
	if (unshare(CLONE_NEWCGROUP))
		fail("unshare(CLONE_NEWCGROUP): %m");
	test_daemon();
	snprintf(sub, sizeof(sub), "%s/k", test_argv[1]);
	if (mkdir(sub, 0755))
		fail("cannot make %s: %m", sub);
	if (pipe(p))
		fail("pipe: %m");
	kid = fork();
	if (kid < 0)
		fail("fork: %m");
	if (kid == 0) {
		join(sub);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(p[0], sub, 1) != 1)
		fail("the child did not get into its cgroup");
	expect(getpid(), "", "/");
	expect(kid, "", "/k");
	test_waitsig();

	expect(getpid(), "", "/");
	expect(kid, "", "/k");
	expect(getpid(), "cpu", "/");
	expect(kid, "cpu", "/");
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	pass();
	return 0;
}
