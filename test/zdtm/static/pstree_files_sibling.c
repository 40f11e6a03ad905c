/*
 * An fd table shared between two siblings and not with their parent: S1,
 * forked by the root (its own table), makes S2 with CLONE_FILES |
 * CLONE_PARENT, so S2 is the root's child with S1's table. S3, forked too,
 * has a table of its own. After SIGTERM the root checks with kcmp() that
 * S1 and S2 share one table and no one else has it, that S2 is still its
 * child, and that the table is one: an fd S2 makes on SIGUSR1 shows in S1.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define OLD_FD 50
#define NEW_FD 100

static void on_usr1(int sig)
{
	(void)sig;
	dup2(OLD_FD, NEW_FD);
}

static void __attribute__((noreturn)) idle(void)
{
	for (;;)
		pause();
}

static int same_files(pid_t a, pid_t b)
{
	long r = syscall(SYS_kcmp, a, b, KCMP_FILES, 0, 0);

	if (r < 0)
		fail("kcmp %d %d: %m", a, b);
	return r == 0;
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

static int has_fd(pid_t pid, int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	return !access(path, F_OK);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int p[2], i;
	pid_t s1, s2, s3, me;

	test_init(argc, argv);
	test_daemon();
	me = getpid();
	if (pipe(p) || sigaction(SIGUSR1, &sa, NULL))
		fail("setup: %m");
	s1 = fork();
	if (s1 < 0)
		fail("fork: %m");
	if (!s1) {
		pid_t pid;

		if (dup2(p[1], OLD_FD) < 0)
			_exit(1);
		pid = syscall(SYS_clone, CLONE_FILES | CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (pid < 0)
			_exit(1);
		if (!pid)
			idle();
		if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		idle();
	}
	if (read(p[0], &s2, sizeof(s2)) != sizeof(s2))
		fail("no S2 from S1");
	s3 = fork();
	if (s3 < 0)
		fail("fork: %m");
	if (!s3)
		idle();
	if (!same_files(s1, s2) || same_files(me, s1) || same_files(s3, s1))
		fail("setup: S1 and S2 do not share only their own fd table");

	test_waitsig();

	if (!same_files(s1, s2))
		fail("S1 %d and S2 %d do not share their fd table", s1, s2);
	if (same_files(me, s1) || same_files(me, s2))
		fail("S1 %d and S2 %d share the root's fd table", s1, s2);
	if (same_files(s3, s1) || same_files(s3, me))
		fail("S3 %d shares a table it did not", s3);
	if (ppid_of(s1) != me || ppid_of(s2) != me || ppid_of(s3) != me)
		fail("parents: S1 %d, S2 %d, S3 %d; expected %d", ppid_of(s1), ppid_of(s2),
		     ppid_of(s3), me);
	if (!has_fd(s1, OLD_FD) || !has_fd(s2, OLD_FD) || has_fd(s1, NEW_FD))
		fail("fd %d: in S1 %d, in S2 %d; fd %d in S1 %d", OLD_FD, has_fd(s1, OLD_FD),
		     has_fd(s2, OLD_FD), NEW_FD, has_fd(s1, NEW_FD));
	kill(s2, SIGUSR1);
	for (i = 0; !has_fd(s1, NEW_FD); i++) {
		if (i == 2000)
			fail("the fd S2 made does not show in S1");
		usleep(1000);
	}
	if (has_fd(s3, NEW_FD))
		fail("the fd S2 made shows in S3");
	kill(s1, SIGKILL);
	kill(s2, SIGKILL);
	kill(s3, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	pass();
	return 0;
}
