/*
 * A three-level tree with sessions and groups, every process doing arithmetic
 * that checks itself:
 *
 *	R (session and group leader)
 *	+- A  own group A; holds the read end of a pipe R wrote into
 *	|  +- A1  in group A (inherited)
 *	|  +- A2  joins group B, led by its parent's sibling
 *	+- B  own group B; shares an open file description (offset) with R;
 *	   |  holds an fd on its own /proc/self/status
 *	   +- B1  own session, own cwd
 *
 * After SIGTERM, R signals the others; each checks its pid, parent, group and
 * session against what they were, and leaves a verdict on a shared page. R
 * checks the pipe data A read, the shared offset B moved, and reaps them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { R, A, A1, A2, B, B1, NR };

struct slot {
	pid_t pid, ppid, pgid, sid;
	volatile int ready;
	volatile int verdict;		/* 1 pass, 2 fail */
	char why[200];
};

static struct slot *board;
static int pipe_fd[2], file_fd;
static const char msg[] = "in the pipe across the dump";

/* Sums 1..n as it goes and checks it against n(n+1)/2 every time. */
static const char *count(void)
{
	unsigned long long n = 0, sum = 0;

	while (!test_sigterm) {
		n++;
		sum += n;
		if (sum != n * (n + 1) / 2)
			return "arithmetic went wrong";
	}
	return NULL;
}

static void record(int me)
{
	board[me].pid = getpid();
	board[me].ppid = getppid();
	board[me].pgid = getpgid(0);
	board[me].sid = getsid(0);
	board[me].ready = 1;
}

static const char *check_ids(int me)
{
	static char why[200];
	const struct slot *s = &board[me];

	if (getpid() != s->pid || getppid() != s->ppid || getpgid(0) != s->pgid ||
	    getsid(0) != s->sid) {
		snprintf(why, sizeof(why), "ids %d/%d/%d/%d, expected %d/%d/%d/%d", getpid(),
			 getppid(), getpgid(0), getsid(0), s->pid, s->ppid, s->pgid, s->sid);
		return why;
	}
	return NULL;
}

static void wait_ready(int i)
{
	while (!board[i].ready)
		usleep(1000);
}

static const char *a_checks(void)
{
	char buf[sizeof(msg)] = "";

	if (read(pipe_fd[0], buf, sizeof(buf)) != sizeof(msg) || memcmp(buf, msg, sizeof(msg)))
		return "the pipe lost its data";
	return NULL;
}

static int status_fd;	/* B's /proc/self/status, opened before the dump */

static const char *b_checks(void)
{
	char buf[4096], want[32];
	ssize_t n = pread(status_fd, buf, sizeof(buf) - 1, 0);

	snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
	if (n <= 0 || (buf[n] = 0, !strstr(buf, want)))
		return "its fd on /proc/self/status does not show its own pid";
	/* R wrote 100 bytes; the offset is shared: B goes on from there. */
	if (lseek(file_fd, 0, SEEK_CUR) != 100)
		return "the shared offset is not 100";
	if (write(file_fd, "0123456789", 10) != 10)
		return "write to the shared file failed";
	return NULL;
}

/* A process of the tree but R: count until SIGTERM, check, say so, reap, exit. */
static void __attribute__((noreturn)) member(int me, const char *(*extra)(void))
{
	const char *why;

	record(me);
	why = count();
	if (!why)
		why = check_ids(me);
	if (!why && extra)
		why = extra();
	if (why)
		snprintf(board[me].why, sizeof(board[me].why), "%s", why);
	board[me].verdict = why ? 2 : 1;
	while (wait(NULL) > 0)
		;
	_exit(0);
}

static pid_t spawn(int me, void (*body)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		body();
	wait_ready(me);
	return pid;
}

static void body_a1(void)
{
	member(A1, NULL);
}

static void body_a2(void)
{
	/* B's group exists once B is ready. */
	if (setpgid(0, board[B].pid))
		_exit(1);
	member(A2, NULL);
}

static void body_a(void)
{
	close(pipe_fd[1]);
	if (setpgid(0, 0))
		_exit(1);
	spawn(A1, body_a1);
	spawn(A2, body_a2);
	member(A, a_checks);
}

static void body_b1(void)
{
	char dir[4096];

	/* A cwd of its own (bad/restore_tree_child_fails removes it). */
	test_path(dir, sizeof(dir), "b1dir");
	if (setsid() < 0 || (mkdir(dir, 0700) && errno != EEXIST) || chdir(dir))
		_exit(1);
	member(B1, NULL);
}

static void body_b(void)
{
	status_fd = open("/proc/self/status", O_RDONLY);
	if (status_fd < 0)
		_exit(1);
	if (setpgid(0, 0))
		_exit(1);
	spawn(B1, body_b1);
	member(B, b_checks);
}

int main(int argc, char **argv)
{
	char path[4096], zeros[100] = { 0 };
	const char *why;
	int i, status;
	pid_t a, b;

	test_init(argc, argv);
	board = mmap(NULL, sizeof(struct slot) * NR, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED)
		fail("mmap: %m");
	test_daemon();

	test_path(path, sizeof(path), "shared");
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0 || pipe(pipe_fd))
		fail("open/pipe: %m");
	record(R);
	/* B first: A2 joins its group. */
	b = spawn(B, body_b);
	a = spawn(A, body_a);
	for (i = 0; i < NR; i++)
		wait_ready(i);
	close(pipe_fd[0]);
	if (write(pipe_fd[1], msg, sizeof(msg)) != sizeof(msg) ||
	    write(file_fd, zeros, sizeof(zeros)) != sizeof(zeros))
		fail("write: %m");
	test_ready();

	why = count();
	if (why)
		fail("%s", why);
	/* R's parent is whoever reaped test_daemon()'s orphan: not ours to check. */
	board[R].ppid = getppid();
	why = check_ids(R);
	if (why)
		fail("R: %s", why);
	for (i = 1; i < NR; i++)
		kill(board[i].pid, SIGTERM);
	for (i = 1; i < NR; i++) {
		while (!board[i].verdict)
			usleep(1000);
		if (board[i].verdict != 1)
			fail("process %d (pid %d): %s", i, board[i].pid, board[i].why);
	}
	if (waitpid(a, &status, 0) != a || waitpid(b, &status, 0) != b)
		fail("waitpid: %m");
	if (lseek(file_fd, 0, SEEK_CUR) != 110)
		fail("the offset R shares with B is %ld, expected 110",
		     (long)lseek(file_fd, 0, SEEK_CUR));
	pass();
	return 0;
}
