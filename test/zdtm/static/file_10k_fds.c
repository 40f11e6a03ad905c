/*
 * A process with 10 000 fds, numbers 16 to 10 015 given out in a shuffled
 * order so that kinds and shared files mix: one pipe (its read end, and its
 * write end at 3 999 numbers), 2 000 eventfds at two numbers each, and
 * 2 000 separate opens of /dev/null; every seventh fd close-on-exec. Its
 * child holds the same files, but 500 pairs of its numbers are swapped and
 * 200 triples rotated (each its own files at another's numbers: what snap
 * must move around in cycles), and every file is shared with the parent.
 *
 * The restore must fit in the fd numbers the process itself uses: the
 * runner's hard RLIMIT_NOFILE may be well below twice 10 000.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define N	    10000
#define FIRST	    16
#define NR_PIPE	    4000	/* slot 0: the read end; the rest: the write end */
#define NR_EVENTFD  4000	/* two slots per eventfd */
#define NR_NULL	    2000
#define PIPE_DATA   64
#define NR_SWAPS    500
#define NR_ROTATES  200
#define SCRATCH	    (FIRST + N + 100)	/* where a new file waits for its numbers */
#define NOFILE	    (SCRATCH + 2 * NR_SWAPS + 3 * NR_ROTATES + 100)
#define FLMASK	    (O_ACCMODE | O_NONBLOCK)

static int num[N];		/* slot -> fd number */
static int slot[N];		/* fd number - FIRST -> slot */
static int from[N];		/* the child's fd FIRST + i holds the parent's fd from[i] */

static int null_flags(int i)
{
	static const int flags[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY | O_NONBLOCK };

	return flags[i % ARRAY_SIZE(flags)];
}

static int cloexec(int k)
{
	return k % 7 == 3;
}

static long kcmp_file(pid_t p1, int fd1, pid_t p2, int fd2)
{
	long r = syscall(SYS_kcmp, p1, p2, KCMP_FILE, fd1, fd2);

	if (r < 0)
		fail("kcmp pid %d fd %d, pid %d fd %d: %m", p1, fd1, p2, fd2);
	return r;
}

/* A fixed shuffle of the numbers over the slots. */
static void shuffle(void)
{
	uint64_t x = 0x10000fd5;
	int i, j, t;

	for (i = 0; i < N; i++)
		num[i] = FIRST + i;
	for (i = N - 1; i > 0; i--) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		j = (x >> 33) % (i + 1);
		t = num[i];
		num[i] = num[j];
		num[j] = t;
	}
	for (i = 0; i < N; i++)
		slot[num[i] - FIRST] = i;
}

/* @fd out of the way, so that putting it at its numbers closes nothing. */
static int scratch(int fd)
{
	int s = fcntl(fd, F_DUPFD, SCRATCH);

	if (fd < 0 || s < 0)
		fail("new file: %m");
	close(fd);
	return s;
}

static void put(int fd, int k)
{
	if (dup2(fd, num[k]) != num[k])
		fail("dup2 to fd %d: %m", num[k]);
}

static void setup(void)
{
	unsigned char data[PIPE_DATA];
	struct rlimit rl;
	int p[2], fd, k;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		fail("getrlimit: %m");
	if (rl.rlim_cur < NOFILE) {
		rl.rlim_cur = NOFILE;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			fail("setrlimit RLIMIT_NOFILE %d (hard limit %llu): %m", NOFILE,
			     (unsigned long long)rl.rlim_max);
	}
	shuffle();

	/* The read end does not block, the write end does. */
	if (pipe(p))
		fail("pipe: %m");
	p[0] = scratch(p[0]);
	p[1] = scratch(p[1]);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK))
		fail("fcntl: %m");
	datagen(data, PIPE_DATA, 0x10f);
	if (write(p[1], data, PIPE_DATA) != PIPE_DATA)
		fail("write to the pipe: %m");
	put(p[0], 0);
	for (k = 1; k < NR_PIPE; k++)
		put(p[1], k);
	close(p[0]);
	close(p[1]);

	for (k = NR_PIPE; k < NR_PIPE + NR_EVENTFD; k += 2) {
		fd = scratch(eventfd((k - NR_PIPE) / 2 + 1, EFD_NONBLOCK));
		put(fd, k);
		put(fd, k + 1);
		close(fd);
	}
	for (k = NR_PIPE + NR_EVENTFD; k < N; k++) {
		fd = scratch(open("/dev/null", null_flags(k)));
		put(fd, k);
		close(fd);
	}
	for (k = 0; k < N; k++)
		if (cloexec(k) && fcntl(num[k], F_SETFD, FD_CLOEXEC))
			fail("fcntl fd %d: %m", num[k]);
}

/* The child's numbers: which of the parent's each holds (from[]), swapped and rotated. */
static void plan_child(void)
{
	int i, a, b, c;

	for (i = 0; i < N; i++)
		from[i] = FIRST + i;
	for (i = 0; i < NR_SWAPS; i++) {
		a = 2 * i;
		b = N - 1 - 2 * i;
		from[a] = FIRST + b;
		from[b] = FIRST + a;
	}
	for (i = 0; i < NR_ROTATES; i++) {
		a = 1001 + 3 * i;
		b = a + 1;
		c = a + 2;
		from[a] = FIRST + b;
		from[b] = FIRST + c;
		from[c] = FIRST + a;
	}
}

/* Make the child's fd table what from[] says, the flags of each fd with it. */
static void permute(void)
{
	static int saved[N];
	int i;

	for (i = 0; i < N; i++) {
		if (from[i] == FIRST + i)
			continue;
		saved[i] = fcntl(from[i], F_DUPFD, SCRATCH);
		if (saved[i] < 0 || fcntl(saved[i], F_SETFD, fcntl(from[i], F_GETFD)))
			fail("child: fcntl: %m");
	}
	for (i = 0; i < N; i++) {
		int fl;

		if (from[i] == FIRST + i)
			continue;
		fl = fcntl(saved[i], F_GETFD) & FD_CLOEXEC ? O_CLOEXEC : 0;
		if (dup3(saved[i], FIRST + i, fl) < 0)
			fail("child: dup3: %m");
		close(saved[i]);
	}
}

/* Nothing open above the tree's fds: what snap used is gone. */
static void check_nothing_above(const char *who)
{
	for (int fd = FIRST + N; fd < FIRST + N + 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			fail("%s: fd %d is open: left by the restore?", who, fd);
}

/* In the child: each fd's FD_CLOEXEC came along with its file. */
static void check_child_flags(void)
{
	for (int i = 0; i < N; i++) {
		int fl = fcntl(FIRST + i, F_GETFD);

		if (fl < 0 || !!(fl & FD_CLOEXEC) != cloexec(slot[from[i] - FIRST]))
			fail("child: fd %d: FD_CLOEXEC is not that of the parent's fd %d (%#x)",
			     FIRST + i, from[i], fl);
	}
}

static pid_t start_child(void)
{
	int sync[2];
	pid_t pid;
	char c;

	plan_child();
	if (pipe(sync))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(sync[0]);
		permute();
		if (write(sync[1], "R", 1) != 1)
			_exit(1);
		close(sync[1]);
		while (!test_sigterm)
			pause();
		check_child_flags();
		check_nothing_above("child");
		_exit(0);
	}
	close(sync[1]);
	if (read(sync[0], &c, 1) != 1)
		fail("the child died during its setup");
	close(sync[0]);
	return pid;
}

static void check_flags(void)
{
	for (int k = 0; k < N; k++) {
		int fl = fcntl(num[k], F_GETFD);

		if (fl < 0)
			fail("fd %d (slot %d) is not open: %m", num[k], k);
		if (!!(fl & FD_CLOEXEC) != cloexec(k))
			fail("fd %d: FD_CLOEXEC is %s", num[k], cloexec(k) ? "clear" : "set");
	}
}

static void check_pipe(void)
{
	unsigned char buf[PIPE_DATA + 1];
	int r = num[0], w = num[1], k;

	if ((fcntl(r, F_GETFL) & FLMASK) != (O_RDONLY | O_NONBLOCK))
		fail("pipe read end fd %d: flags %#o", r, fcntl(r, F_GETFL));
	for (k = 1; k < NR_PIPE; k++) {
		if (kcmp_file(getpid(), w, getpid(), num[k]))
			fail("pipe write ends at fd %d and fd %d are no longer one file", w,
			     num[k]);
		if ((fcntl(num[k], F_GETFL) & FLMASK) != O_WRONLY)
			fail("pipe write end fd %d: flags %#o", num[k], fcntl(num[k], F_GETFL));
	}
	if (!kcmp_file(getpid(), r, getpid(), w))
		fail("the two ends of the pipe became one file");
	if (read(r, buf, sizeof(buf)) != PIPE_DATA)
		fail("read the queued pipe data from fd %d: %m", r);
	CHECK_DATA(buf, PIPE_DATA, 0x10f);
	if (write(num[NR_PIPE - 1], "x", 1) != 1 || read(r, buf, 2) != 1 || buf[0] != 'x')
		fail("write through fd %d, read through fd %d: %m", num[NR_PIPE - 1], r);
}

static void check_eventfds(void)
{
	char path[64], link[64];
	uint64_t v;

	for (int k = NR_PIPE; k < NR_PIPE + NR_EVENTFD; k += 2) {
		uint64_t want = (k - NR_PIPE) / 2 + 1;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", num[k]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0 || (link[n] = 0, strcmp(link, "anon_inode:[eventfd]")))
			fail("fd %d is not an eventfd: %s", num[k], n < 0 ? strerror(errno) : link);
		if (kcmp_file(getpid(), num[k], getpid(), num[k + 1]))
			fail("eventfd at fd %d and its dup at fd %d are no longer one file", num[k],
			     num[k + 1]);
		if (k > NR_PIPE && !kcmp_file(getpid(), num[k], getpid(), num[k - 1]))
			fail("eventfds at fd %d and fd %d became one file", num[k], num[k - 1]);
		if (read(num[k], &v, sizeof(v)) != sizeof(v) || v != want)
			fail("eventfd fd %d: count %llu, expected %llu (%m)", num[k],
			     (unsigned long long)v, (unsigned long long)want);
		/* The dup shares the counter, which is 0 now. */
		if (read(num[k + 1], &v, sizeof(v)) >= 0 || errno != EAGAIN)
			fail("eventfd fd %d: its dup at fd %d still counts", num[k], num[k + 1]);
	}
}

static int cmp_files(const void *a, const void *b)
{
	long r = kcmp_file(getpid(), *(const int *)a, getpid(), *(const int *)b);

	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

static void check_devnull(void)
{
	static int sorted[NR_NULL];
	struct stat st;
	int k, i;

	for (k = NR_PIPE + NR_EVENTFD; k < N; k++) {
		if (fstat(num[k], &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
			fail("fd %d is not /dev/null", num[k]);
		if ((fcntl(num[k], F_GETFL) & FLMASK) != null_flags(k))
			fail("/dev/null fd %d: flags %#o, expected %#o", num[k],
			     fcntl(num[k], F_GETFL) & FLMASK, null_flags(k));
		sorted[k - NR_PIPE - NR_EVENTFD] = num[k];
	}
	/* In kcmp order, two fds of one open file description would be neighbours. */
	qsort(sorted, NR_NULL, sizeof(*sorted), cmp_files);
	for (i = 1; i < NR_NULL; i++)
		if (!kcmp_file(getpid(), sorted[i - 1], getpid(), sorted[i]))
			fail("separate opens of /dev/null at fd %d and fd %d became one file",
			     sorted[i - 1], sorted[i]);
}

/* Each of the child's numbers holds the parent's file it should, shared. */
static void check_child(pid_t child)
{
	int status;

	for (int i = 0; i < N; i++)
		if (kcmp_file(getpid(), from[i], child, FIRST + i))
			fail("child's fd %d is not the parent's fd %d", FIRST + i, from[i]);
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed (status %#x)", status);
}

int main(int argc, char **argv)
{
	pid_t child;

	test_init(argc, argv);
	setup();

	test_daemon();
	child = start_child();
	test_waitsig();

	check_flags();
	check_nothing_above("parent");
	check_child(child);
	check_pipe();
	check_eventfds();
	check_devnull();
	pass();
	return 0;
}
