/*
 * A tree in a pid namespace of its own (run under unshare --pid, which puts
 * the daemon at pid 1 of the new namespace): a child, a session leader with
 * a child leading its own group, a zombie, a thread. After restore each
 * must have its pid in the namespace again: the test is still pid 1, its
 * thread has its tid, every child reports its pid, parent, session and
 * group as they were, and the zombie is there to be reaped with its status.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

struct ids {
	pid_t pid, ppid, sid, pgid;
};

static int report[2];
static volatile pid_t thread_tid, thread_now;

static void on_usr1(int sig)
{
	struct ids me = { getpid(), getppid(), getsid(0), getpgid(0) };

	(void)sig;
	if (write(report[1], &me, sizeof(me)) != sizeof(me))
		_exit(3);
}

/* Waits for SIGUSR1 and reports its ids; SIGTERM (the namespace dying) ends it. */
static void __attribute__((noreturn)) child_loop(void)
{
	signal(SIGUSR1, on_usr1);
	for (;;)
		pause();
}

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = syscall(SYS_gettid);
	for (;;) {
		thread_now = syscall(SYS_gettid);
		usleep(10000);
	}
	return NULL;
}

static void ask(pid_t pid, const struct ids *want, const char *who)
{
	struct ids got;

	if (kill(pid, SIGUSR1))
		fail("%s (pid %d) is gone: %m", who, pid);
	if (read(report[0], &got, sizeof(got)) != sizeof(got))
		fail("no report from %s: %m", who);
	if (memcmp(&got, want, sizeof(got)))
		fail("%s: pid %d ppid %d sid %d pgid %d, was pid %d ppid %d sid %d pgid %d", who,
		     got.pid, got.ppid, got.sid, got.pgid, want->pid, want->ppid, want->sid,
		     want->pgid);
}

int main(int argc, char **argv)
{
	struct ids a, b, c;
	pid_t zombie, pc[2];
	pthread_t th;
	sigset_t unused;
	siginfo_t si;
	int pp[2];

	test_init(argc, argv);
	test_daemon();
	if (getpid() != 1)
		fail("pid %d, not 1: run it under unshare --pid", getpid());
	if (pipe(report) || pipe(pp))
		fail("pipe: %m");

	a.pid = fork();
	if (a.pid < 0)
		fail("fork: %m");
	if (!a.pid)
		child_loop();
	a = (struct ids){ a.pid, 1, getsid(0), getpgid(0) };

	/* A session leader, whose child leads a group of its own. */
	b.pid = fork();
	if (b.pid < 0)
		fail("fork: %m");
	if (!b.pid) {
		pid_t g;

		if (setsid() < 0)
			_exit(2);
		g = fork();
		if (!g) {
			setpgid(0, 0);
			child_loop();
		}
		pc[0] = g;
		if (write(pp[1], pc, sizeof(pc[0])) != sizeof(pc[0]))
			_exit(2);
		child_loop();
	}
	b = (struct ids){ b.pid, 1, b.pid, b.pid };
	if (read(pp[0], pc, sizeof(pc[0])) != sizeof(pc[0]))
		fail("the session leader failed");
	c = (struct ids){ pc[0], b.pid, b.pid, pc[0] };
	/* Wait until the grandchild is in its group. */
	for (int i = 0; getpgid(c.pid) != c.pid; i++) {
		if (i == 1000)
			fail("pid %d never made its group", c.pid);
		usleep(1000);
	}

	zombie = fork();
	if (zombie < 0)
		fail("fork: %m");
	if (!zombie)
		_exit(7);
	if (waitid(P_PID, zombie, &si, WEXITED | WNOWAIT))
		fail("waitid: %m");

	/* Threads made with SIGTERM blocked: it is main's to take (test_waitsig()). */
	test_block_sigterm(&unused);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	test_unblock_sigterm();
	while (!thread_now)
		usleep(1000);

	test_waitsig();

	if (getpid() != 1)
		fail("pid %d after restore, not 1", getpid());
	ask(a.pid, &a, "the child");
	ask(b.pid, &b, "the session leader");
	ask(c.pid, &c, "the group leader in that session");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, zombie, &si, WEXITED))
		fail("the zombie %d: %m", zombie);
	if (si.si_pid != zombie || si.si_code != CLD_EXITED || si.si_status != 7)
		fail("the zombie %d: pid %d, code %d, status %d", zombie, si.si_pid, si.si_code,
		     si.si_status);
	thread_now = 0;
	while (!thread_now)
		usleep(1000);
	if (thread_now != thread_tid)
		fail("the thread's tid is %d, was %d", thread_now, thread_tid);
	pass();
	return 0;
}
