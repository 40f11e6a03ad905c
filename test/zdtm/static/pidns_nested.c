/*
 * A pid namespace nested in the tree: the test unshares CLONE_NEWPID and
 * forks (as `unshare -p -f` does), so its child is pid 1 of a new namespace
 * and the test's own pid_for_children is that namespace. The nested init
 * forks two children (small pids there), one with a thread, the other
 * leading a session of its own, and a zombie it has not reaped. Each
 * reports, when asked, its pid and parent as it sees them, its session and
 * group, its NSpid line, the owner (F_SETOWN) of a pipe it owns, its pid
 * namespace's inode and (the init) its zombie. After restore every report must be as before: the same pids at
 * every level, the nested init pid 1 and its children's parent, the three
 * of them in one namespace, another than the test's, which is the test's
 * pid_for_children; the thread has its tid, the zombie its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_NESTED 3 /* the init and its two children */
#define NESTED_PROC "/dev/shm/nested-proc"

struct report {
	int who;		/* 0: the init, 1 and 2 its children */
	pid_t pid, ppid, tid;	/* tid: the thread's (child 1), 0 elsewhere */
	pid_t sid, pgid;	/* 0: outside its namespace (the init's are the test's) */
	pid_t owner;		/* F_GETOWN of its pipe, which it owns */
	ino_t pidns;
	int zombie;		/* the init: its zombie is there with status 5 */
	pid_t pidfd_pid;	/* children: their pidfd of the init, its pid in the namespace */
	char nspid[64];
};

static int report[2], owned[2], init_pidfd = -1;
static pid_t kids[2];
static volatile pid_t thread_tid, thread_now;
static pid_t zombie;

static ino_t ns_ino(const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	return stat(path, &st) ? 0 : st.st_ino;
}

static void read_nspid(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6))
			snprintf(buf, size, "%.60s", line + 6);
	if (f)
		fclose(f);
}

/* The last NSpid field of pidfd @fd's fdinfo: its process's pid in its own namespace. */
static pid_t pidfd_pid(int fd)
{
	char path[64], line[256], *last;
	pid_t pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			last = strrchr(line, '\t');
			pid = atoi(last ? last + 1 : line + 6);
		}
	if (f)
		fclose(f);
	return pid;
}

static void say(int who)
{
	struct report r = { .who = who, .pid = getpid(), .ppid = getppid(), .tid = thread_tid,
			    .sid = getsid(0), .pgid = getpgid(0) };
	siginfo_t si = { 0 };

	r.owner = fcntl(owned[0], F_GETOWN);
	if (init_pidfd >= 0)
		r.pidfd_pid = pidfd_pid(init_pidfd);
	r.pidns = ns_ino("pid");
	read_nspid(r.nspid, sizeof(r.nspid));
	if (zombie && !waitid(P_PID, zombie, &si, WEXITED | WNOHANG | WNOWAIT))
		r.zombie = si.si_pid == zombie && si.si_code == CLD_EXITED && si.si_status == 5;
	if (who == 1) {
		thread_now = 0;
		while (!thread_now)
			usleep(1000);
		if (thread_now != thread_tid)
			r.tid = -thread_now;
	}
	if (write(report[1], &r, sizeof(r)) != sizeof(r))
		_exit(3);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = syscall(SYS_gettid);
	for (;;) {
		thread_now = syscall(SYS_gettid);
		usleep(1000);
	}
	return NULL;
}

/* Reports on each SIGUSR1; the init passes it on to its children first. */
static void __attribute__((noreturn)) serve(int who)
{
	sigset_t set, old;

	/* A pipe whose SIGIO goes to itself, by the pid its namespace sees. */
	if (pipe(owned) || fcntl(owned[0], F_SETOWN, getpid()))
		_exit(2);
	/* The init's children hold a pidfd of it, pid 1 where they are. */
	if (who && (init_pidfd = syscall(SYS_pidfd_open, getppid(), 0)) < 0)
		_exit(2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		int sig;

		if (sigwait(&set, &sig))
			continue;
		for (int i = 0; !who && i < 2; i++)
			kill(kids[i], SIGUSR1);
		say(who);
	}
}

static void __attribute__((noreturn)) nested_init(int mount_proc)
{
	pthread_t th;
	siginfo_t si;

	/* Argument "proc" (the ns flavour only): a proc of its own, which dump refuses. */
	if (mount_proc && ((mkdir(NESTED_PROC, 0755) && errno != EEXIST) ||
			   mount("proc", NESTED_PROC, "proc", 0, NULL)))
		_exit(2);

	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			_exit(2);
		if (!kids[i]) {
			/* Child 2 leads a session of its own inside the namespace. */
			if (i == 1 && setsid() < 0)
				_exit(2);
			if (i == 0 && pthread_create(&th, NULL, thread_fn, NULL))
				_exit(2);
			while (i == 0 && !thread_now)
				usleep(1000);
			serve(i + 1);
		}
	}
	zombie = fork();
	if (zombie < 0)
		_exit(2);
	if (!zombie)
		_exit(5);
	if (waitid(P_PID, zombie, &si, WEXITED | WNOWAIT))
		_exit(2);
	serve(0);
}

static void ask(struct report *got)
{
	struct report r;

	for (int n = 0; n < NR_NESTED; n++) {
		if (read(report[0], &r, sizeof(r)) != sizeof(r))
			fail("no report from the nested namespace: %m");
		if (r.who < 0 || r.who >= NR_NESTED)
			fail("a report from nobody (%d)", r.who);
		got[r.who] = r;
	}
}

static const char *const names[NR_NESTED] = { "the nested init", "its child 1", "its child 2" };

int main(int argc, char **argv)
{
	struct report was[NR_NESTED], now[NR_NESTED];
	ino_t own, children;
	sigset_t set;
	pid_t init;

	test_init(argc, argv);
	test_daemon();
	if (pipe(report))
		fail("pipe: %m");
	/* Blocked before the fork: a SIGUSR1 that comes early waits for sigwait(). */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (unshare(CLONE_NEWPID))
		fail("unshare(CLONE_NEWPID): %m");
	init = fork();
	if (init < 0)
		fail("fork: %m");
	if (!init)
		nested_init(argv[1] && !strcmp(argv[1], "proc"));
	kill(init, SIGUSR1);
	ask(was);
	for (int i = 0; i < NR_NESTED; i++)
		if ((i ? was[i].pid <= 1 : was[i].pid != 1) || was[i].ppid != (i ? 1 : 0))
			fail("before dump, %s is pid %d (parent %d)", names[i], was[i].pid,
			     was[i].ppid);
	if (was[2].sid != was[2].pid || was[2].pgid != was[2].pid || was[0].sid || was[1].sid)
		fail("before dump: sessions %d %d %d, child 2's group %d", was[0].sid, was[1].sid,
		     was[2].sid, was[2].pgid);
	if (!was[0].zombie || was[1].tid <= 0)
		fail("before dump: no zombie (%d) or thread (%d)", was[0].zombie, was[1].tid);

	test_waitsig();

	own = ns_ino("pid");
	children = ns_ino("pid_for_children");
	kill(init, SIGUSR1);
	ask(now);
	for (int i = 0; i < NR_NESTED; i++) {
		if (now[i].pid != was[i].pid || now[i].ppid != was[i].ppid ||
		    now[i].sid != was[i].sid || now[i].pgid != was[i].pgid ||
		    now[i].owner != now[i].pid ||
		    strcmp(now[i].nspid, was[i].nspid))
			fail("%s: pid %d, parent %d, session %d, group %d, NSpid %s, its pipe's "
			     "owner %d; was %d, %d, %d, %d, %s",
			     names[i], now[i].pid, now[i].ppid, now[i].sid, now[i].pgid, now[i].nspid,
			     now[i].owner, was[i].pid, was[i].ppid, was[i].sid, was[i].pgid,
			     was[i].nspid);
		if (now[i].pidns != now[0].pidns)
			fail("%s is in pid namespace %lu, the init in %lu", names[i],
			     (unsigned long)now[i].pidns, (unsigned long)now[0].pidns);
	}
	if (now[0].pidns == own)
		fail("the nested init is in the test's own pid namespace %lu", (unsigned long)own);
	if (children != now[0].pidns)
		fail("the test's pid_for_children is %lu, not its nested init's %lu",
		     (unsigned long)children, (unsigned long)now[0].pidns);
	if (!now[0].zombie)
		fail("the nested init's zombie is not there with status 5");
	for (int i = 1; i < NR_NESTED; i++)
		if (now[i].pidfd_pid != 1 || was[i].pidfd_pid != 1)
			fail("%s's pidfd of the init is of pid %d in its namespace (was %d)",
			     names[i], now[i].pidfd_pid, was[i].pidfd_pid);
	if (now[1].tid != was[1].tid)
		fail("the thread's tid is %d, was %d", now[1].tid < 0 ? -now[1].tid : now[1].tid,
		     was[1].tid);
	/* The nested namespace goes with its init. */
	kill(init, SIGKILL);
	waitpid(init, NULL, 0);
	pass();
	return 0;
}
