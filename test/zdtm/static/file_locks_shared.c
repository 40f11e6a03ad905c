/*
 * POSIX locks of processes that share one fd table (CLONE_FILES): the lock
 * belongs to the table, and F_GETLK names the process that took it. The
 * parent locks bytes 0-9 and the child 20-29 of one file through one fd;
 * after the restore another process sees both locks with their own pids.
 * (The restore closes snap's fds in a shared table from outside, after
 * every restorer: the locks must be taken after that.)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char path[4096];
static pid_t parent, child;

static void setlk(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, F_SETLK, &fl))
		fail("lock %lld+%lld: %m", (long long)start, (long long)len);
}

/* In a new process: 0 if [start, start + len) shows a write lock of @pid, else 1. */
static int probe(off_t start, off_t len, pid_t pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int status;
	pid_t q = fork();

	if (q < 0)
		fail("fork: %m");
	if (q == 0) {
		int fd = open(path, O_RDWR);

		_exit(fd < 0 || fcntl(fd, F_GETLK, &fl) || fl.l_type != F_WRLCK ||
		      fl.l_start != start || fl.l_len != len || fl.l_pid != pid);
	}
	return waitpid(q, &status, 0) != q || status;
}

int main(int argc, char **argv)
{
	int fd, status;

	test_init(argc, argv);
	test_path(path, sizeof(path), "file");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 100))
		fail("create %s: %m", path);
	close(fd);
	test_daemon();

	parent = getpid();
	fd = open(path, O_RDWR);
	if (fd < 0)
		fail("open: %m");
	setlk(fd, 0, 10);
	child = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0)
		fail("clone: %m");
	if (child == 0) {
		setlk(fd, 20, 10);
		while (!test_sigterm)
			pause();
		_exit(0);
	}
	for (int i = 0; probe(20, 10, child); i++) {
		if (i == 500)
			fail("the child's lock did not show");
		usleep(10000);
	}
	if (probe(0, 10, parent))
		fail("the parent's lock is not there before the dump");
	test_waitsig();

	if (probe(0, 10, parent))
		fail("bytes 0-9 are not write-locked by the parent %d", parent);
	if (probe(20, 10, child))
		fail("bytes 20-29 are not write-locked by the child %d", child);
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || status)
		fail("the child failed (status %#x)", status);
	pass();
	return 0;
}
