/*
 * File locks of a tree come back with --file-locks, each of its kind, type,
 * range and holder, as a process that holds none sees them:
 *   F1  flock LOCK_EX on a description the parent holds twice (dup), and its
 *       child inherits: unlocking through the dup frees it;
 *   F3  flock LOCK_SH the child took on a description of its own;
 *   F2  POSIX locks of the parent (write 10-29, read 300 to the end), one of
 *       the child on the same description (write 40-44), and an OFD write
 *       lock (200-209) on another description. The parent also maps F2
 *       shared: restore maps it from a file of its own, which it closes, and
 *       a close of any fd of F2 in the parent drops the parent's POSIX locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char f1[4096], f2[4096], f3[4096];
static pid_t parent, child;
static char why[512];

#define PROBE_FAIL(...)                                                                   \
	do {                                                                              \
		snprintf(why, sizeof(why), __VA_ARGS__);                                  \
		return -1;                                                                \
	} while (0)

static int open_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("open %s: %m", path);
	return fd;
}

/* What another process sees of [start, start + len) when asking for @type. */
static int getlk(int fd, int cmd, short type, off_t start, off_t len, short want, off_t wstart,
		 off_t wlen, pid_t wpid)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		PROBE_FAIL("%s %lld+%lld: %s", cmd == F_GETLK ? "F_GETLK" : "F_OFD_GETLK",
			   (long long)start, (long long)len, strerror(errno));
	if (fl.l_type != want)
		PROBE_FAIL("%lld+%lld: lock type %d, expected %d", (long long)start,
			   (long long)len, fl.l_type, want);
	if (want == F_UNLCK)
		return 0;
	if (fl.l_start != wstart || fl.l_len != wlen || fl.l_pid != wpid)
		PROBE_FAIL("%lld+%lld: lock %lld+%lld of pid %d, expected %lld+%lld of pid %d",
			   (long long)start, (long long)len, (long long)fl.l_start,
			   (long long)fl.l_len, fl.l_pid, (long long)wstart, (long long)wlen,
			   wpid);
	return 0;
}

static int flock_busy(const char *path, int op)
{
	int fd = open_file(path), ret = flock(fd, op | LOCK_NB);

	if (ret && errno != EWOULDBLOCK)
		PROBE_FAIL("flock %s: %s", path, strerror(errno));
	close(fd);
	return ret != 0;
}

/* Every lock as set up, from a process that holds none. */
static int probe_all(void)
{
	int fd = open_file(f2);

	if (flock_busy(f1, LOCK_SH) != 1)
		PROBE_FAIL("flock of F1 is not held exclusively");
	if (flock_busy(f3, LOCK_EX) != 1 || flock_busy(f3, LOCK_SH) != 0)
		PROBE_FAIL("flock of F3 is not held shared");
	if (getlk(fd, F_GETLK, F_WRLCK, 0, 10, F_UNLCK, 0, 0, 0) ||
	    getlk(fd, F_GETLK, F_WRLCK, 10, 20, F_WRLCK, 10, 20, parent) ||
	    getlk(fd, F_GETLK, F_WRLCK, 30, 10, F_UNLCK, 0, 0, 0) ||
	    getlk(fd, F_GETLK, F_WRLCK, 40, 5, F_WRLCK, 40, 5, child) ||
	    getlk(fd, F_GETLK, F_WRLCK, 45, 155, F_UNLCK, 0, 0, 0) ||
	    getlk(fd, F_OFD_GETLK, F_RDLCK, 200, 10, F_WRLCK, 200, 10, -1) ||
	    getlk(fd, F_GETLK, F_WRLCK, 210, 90, F_UNLCK, 0, 0, 0) ||
	    getlk(fd, F_GETLK, F_WRLCK, 300, 100, F_RDLCK, 300, 0, parent) ||
	    getlk(fd, F_GETLK, F_RDLCK, 300, 100, F_UNLCK, 0, 0, 0))
		return -1;
	return 0;
}

static int probe_f1_free(void)
{
	if (flock_busy(f1, LOCK_EX) != 0)
		PROBE_FAIL("flock of F1 is still held after LOCK_UN through the dup");
	return 0;
}

/* Run @probe in a new process (which holds no lock); fail() with its reason. */
static void probe(int (*fn)(void), const char *what)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(p[0]);
		if (fn() == 0)
			_exit(0);
		n = write(p[1], why, strlen(why));
		_exit(n > 0 ? 1 : 2);
	}
	close(p[1]);
	n = read(p[0], why, sizeof(why) - 1);
	why[n > 0 ? n : 0] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s: %s", what, why[0] ? why : "the probe died");
}

static void setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		fail("lock %lld+%lld: %m", (long long)start, (long long)len);
}

static int make_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, 4096))
		fail("create %s: %m", path);
	return fd;
}

int main(int argc, char **argv)
{
	int a, b, p, o, status;
	char *map;

	test_init(argc, argv);
	test_path(f1, sizeof(f1), "flock");
	test_path(f2, sizeof(f2), "posix");
	test_path(f3, sizeof(f3), "shared");
	close(make_file(f1));
	close(make_file(f2));
	close(make_file(f3));
	test_daemon();

	parent = getpid();
	a = open_file(f1);
	b = dup(a);
	if (b < 0 || flock(a, LOCK_EX | LOCK_NB))
		fail("flock F1: %m");
	p = open_file(f2);
	o = open_file(f2);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, p, 0);
	if (map == MAP_FAILED)
		fail("mmap F2: %m");
	map[0] = 'x';
	setlk(p, F_SETLK, F_WRLCK, 10, 20);
	setlk(p, F_SETLK, F_RDLCK, 300, 0);
	setlk(o, F_OFD_SETLK, F_WRLCK, 200, 10);

	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (child == 0) {
		int s = open_file(f3);

		if (flock(s, LOCK_SH | LOCK_NB))
			_exit(3);
		setlk(p, F_SETLK, F_WRLCK, 40, 5);
		while (!test_sigterm)
			pause();
		_exit(0);
	}
	/*
	 * The child's locks are in place before the pidfile says we are ready.
	 * Only other processes open F2: a close of it here drops our locks.
	 */
	for (int i = 0; i < 1000; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_start = 40, .l_len = 5 };
		pid_t q = fork();

		if (q == 0)
			_exit(fcntl(open_file(f2), F_GETLK, &fl) || fl.l_type == F_UNLCK ? 1 : 0);
		if (waitpid(q, &status, 0) == q && WIFEXITED(status) && !WEXITSTATUS(status))
			break;
		usleep(10000);
	}
	probe(probe_all, "before the dump");

	test_waitsig();

	probe(probe_all, "after the restore");
	if (map[0] != 'x')
		fail("the shared mapping of F2 lost its data");
	if (flock(b, LOCK_UN))
		fail("LOCK_UN through the dup: %m");
	probe(probe_f1_free, "after LOCK_UN");
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed (status %#x)", status);
	pass();
	return 0;
}
