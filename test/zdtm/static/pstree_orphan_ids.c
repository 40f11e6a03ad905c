/*
 * A session or a process group whose leader has exited, its members still
 * there, children of the root (the leader made them with CLONE_PARENT):
 *   "session": L setsid()s, makes M1 (group L) and M2, which makes its own
 *              group and a child M3 in it; L exits and the root reaps it;
 *   "group":   G makes its own group and C1 in it; C2, made by the root,
 *              joins it; G exits and the root reaps it;
 *   "session_zombie", "group_zombie": the same, the leader left a zombie.
 * After SIGTERM the root checks every member's session, group and parent,
 * that the leader is gone (or still a zombie with its status), and that a
 * signal sent to the group reaches every member of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEADER_STATUS 7
#define MAX_MEMBERS 3

struct shared {
	atomic_int usr1;			/* SIGUSR1s the members took */
	pid_t members[MAX_MEMBERS];
	atomic_int ready;
};

static struct shared *sh;

static void on_usr1(int sig)
{
	(void)sig;
	sh->usr1++;
}

static void __attribute__((noreturn)) member(int own_group, int child)
{
	if (own_group && setpgid(0, 0))
		_exit(1);
	if (child) {
		pid_t pid = fork();

		if (pid < 0)
			_exit(1);
		if (!pid)
			member(0, 0);
		sh->members[2] = pid;
	}
	sh->ready++;
	for (;;)
		pause();
}

/* fork() whose child is the caller's parent's. */
static pid_t fork_sibling(void)
{
	return syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

static int ppid_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p ? atoi(p + 4) : -1;
}

static void expect(pid_t pid, const char *name, pid_t sid, pid_t pgid, pid_t ppid)
{
	pid_t s = getsid(pid), g = getpgid(pid), p = ppid_of(pid);

	if (s != sid || g != pgid || p != ppid)
		fail("%s (%d): session %d, group %d, parent %d; expected %d, %d, %d", name, pid, s,
		     g, p, sid, pgid, ppid);
}

int main(int argc, char **argv)
{
	int session, zombie, nr, status;
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	pid_t leader, me, c2 = 0;

	test_init(argc, argv);
	if (test_argc < 2)
		fail("usage: session|group|session_zombie|group_zombie");
	session = !strncmp(test_argv[1], "session", 7);
	zombie = !!strstr(test_argv[1], "zombie");
	test_daemon();
	me = getpid();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || sigaction(SIGUSR1, &sa, NULL))
		fail("setup: %m");

	leader = fork();
	if (leader < 0)
		fail("fork: %m");
	if (!leader) {
		if (session ? setsid() < 0 : setpgid(0, 0))
			_exit(1);
		for (int i = 0; i < (session ? 2 : 1); i++) {
			pid_t pid = fork_sibling();

			if (pid < 0)
				_exit(1);
			if (!pid)
				member(session && i == 1, session && i == 1);
			sh->members[i] = pid;
		}
		nr = session ? 3 : 1;
		while (sh->ready < nr)
			usleep(1000);
		if (!session) {
			/* C2 joins while the group still has its leader. */
			while (!sh->members[1] || getpgid(sh->members[1]) != getpid())
				usleep(1000);
		}
		_exit(LEADER_STATUS);
	}
	if (!session) {
		c2 = fork();
		if (c2 < 0)
			fail("fork: %m");
		if (!c2) {
			while (setpgid(0, leader))
				usleep(1000);
			sh->members[1] = getpid();
			sh->ready++;
			for (;;)
				pause();
		}
	}
	if (waitid(P_PID, leader, &(siginfo_t){ 0 }, WEXITED | WNOWAIT))
		fail("waitid: %m");
	if (!zombie && (waitpid(leader, &status, 0) != leader || WEXITSTATUS(status) != LEADER_STATUS))
		fail("the leader: status %#x", status);
	nr = session ? 3 : 2;
	while (sh->ready < nr)
		usleep(1000);

	test_waitsig();

	if (session) {
		expect(sh->members[0], "M1", leader, leader, me);
		expect(sh->members[1], "M2", leader, sh->members[1], me);
		expect(sh->members[2], "M3", leader, sh->members[1], sh->members[1]);
	} else {
		expect(sh->members[0], "C1", getsid(0), leader, me);
		expect(c2, "C2", getsid(0), leader, me);
	}
	if (zombie) {
		if (waitpid(leader, &status, WNOHANG) != leader || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != LEADER_STATUS)
			fail("the zombie leader %d: not one any more (status %#x)", leader, status);
	} else if (!kill(leader, 0) || errno != ESRCH) {
		fail("the leader %d exists again", leader);
	}
	/* Every member of the leader's group, and no one else, gets it. */
	if (kill(-leader, SIGUSR1))
		fail("kill of group %d: %m", leader);
	for (int i = 0; sh->usr1 < (session ? 1 : 2); i++) {
		if (i == 2000)
			fail("group %d: %d of its members took its signal", leader, sh->usr1);
		usleep(1000);
	}
	usleep(100000);
	if (sh->usr1 != (session ? 1 : 2))
		fail("group %d: %d members took its signal", leader, sh->usr1);
	for (int i = 0; i < MAX_MEMBERS; i++)
		if (sh->members[i] > 0)
			kill(sh->members[i], SIGKILL);
	pass();
	return 0;
}
