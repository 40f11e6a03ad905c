/*
 * Many fds on few inodes keep which of them share an open file description:
 * 1000 fds of one /dev/null open (dup), 1000 separate opens of /dev/null,
 * 1000 dups of the two ends of one pipe, and a regular file opened 8 times
 * at distinct offsets, each open with a dup. Flags (access mode,
 * O_NONBLOCK) and offsets survive per open file description.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define N	  1000
#define NR_REG	  8
#define REG_SIZE  4096
#define PIPE_DATA 64
#define FLMASK	  (O_ACCMODE | O_NONBLOCK)

static int shared[N];		/* one /dev/null open, dup'ed */
static int separate[N];		/* N opens of /dev/null */
static int pipe_fds[N];		/* even: the read end, odd: the write end */
static int reg[NR_REG][2];	/* an open of the data file and its dup */

/* kcmp(KCMP_FILE): 0 same open file description, else 1 or 2 as an order. */
static int kcmp_file(int a, int b)
{
	long r = syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b);

	if (r < 0)
		fail("kcmp fd %d, fd %d: %m", a, b);
	return r;
}

static int cmp_files(const void *a, const void *b)
{
	int r = kcmp_file(*(const int *)a, *(const int *)b);

	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

static int separate_flags(int i)
{
	static const int flags[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY | O_NONBLOCK };

	return flags[i % ARRAY_SIZE(flags)];
}

static int dup_or_fail(int fd)
{
	int n = dup(fd);

	if (n < 0)
		fail("dup %d: %m", fd);
	return n;
}

static void setup(void)
{
	unsigned char data[REG_SIZE];
	struct rlimit rl;
	char path[PATH_MAX];
	int p[2], fd, i;

	/* 3000 fds and some: above the usual soft limit of 1024. */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		fail("getrlimit: %m");
	if (rl.rlim_cur < 4 * N) {
		rl.rlim_cur = 4 * N;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			fail("setrlimit RLIMIT_NOFILE %d: %m", 4 * N);
	}

	shared[0] = open("/dev/null", O_RDWR | O_NONBLOCK);
	if (shared[0] < 0)
		fail("/dev/null: %m");
	for (i = 1; i < N; i++)
		shared[i] = dup_or_fail(shared[0]);

	for (i = 0; i < N; i++) {
		separate[i] = open("/dev/null", separate_flags(i));
		if (separate[i] < 0)
			fail("/dev/null: %m");
	}

	/* The read end does not block, the write end does. */
	if (pipe(p) || fcntl(p[0], F_SETFL, O_NONBLOCK))
		fail("pipe: %m");
	pipe_fds[0] = p[0];
	pipe_fds[1] = p[1];
	for (i = 2; i < N; i++)
		pipe_fds[i] = dup_or_fail(p[i % 2]);
	datagen(data, PIPE_DATA, 0x9192);
	if (write(p[1], data, PIPE_DATA) != PIPE_DATA)
		fail("write to the pipe: %m");

	test_path(path, sizeof(path), "data");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	datagen(data, REG_SIZE, 0xf11e);
	if (fd < 0 || write(fd, data, REG_SIZE) != REG_SIZE)
		fail("%s: %m", path);
	close(fd);
	for (i = 0; i < NR_REG; i++) {
		reg[i][0] = open(path, (i % 2 ? O_RDWR | O_NONBLOCK : O_RDONLY));
		if (reg[i][0] < 0 || lseek(reg[i][0], 100 * i + 7, SEEK_SET) != 100 * i + 7)
			fail("%s: %m", path);
		reg[i][1] = dup_or_fail(reg[i][0]);
	}
}

/* Every fd of @fds shares one open file description: kcmp, and a flag set through one. */
static void check_one_file(const char *what, const int *fds, int n, int flags)
{
	int i;

	for (i = 0; i < n; i++) {
		if (kcmp_file(fds[0], fds[i]))
			fail("%s: fd %d and fd %d are no longer one file", what, fds[0], fds[i]);
		if ((fcntl(fds[i], F_GETFL) & FLMASK) != flags)
			fail("%s: fd %d has flags %#o, expected %#o", what, fds[i],
			     fcntl(fds[i], F_GETFL) & FLMASK, flags);
	}
	if (fcntl(fds[0], F_SETFL, (flags ^ O_NONBLOCK) & ~O_ACCMODE))
		fail("%s: fcntl: %m", what);
	if ((fcntl(fds[n - 1], F_GETFL) & FLMASK) != (flags ^ O_NONBLOCK))
		fail("%s: O_NONBLOCK set through fd %d does not show through fd %d", what, fds[0],
		     fds[n - 1]);
	if (fcntl(fds[0], F_SETFL, flags & ~O_ACCMODE))
		fail("%s: fcntl: %m", what);
}

static void check_separate(void)
{
	static int sorted[N];
	int i;

	for (i = 0; i < N; i++)
		if ((fcntl(separate[i], F_GETFL) & FLMASK) != separate_flags(i))
			fail("/dev/null open %d (fd %d): flags %#o, expected %#o", i, separate[i],
			     fcntl(separate[i], F_GETFL) & FLMASK, separate_flags(i));
	/* In kcmp order, two fds of one open file description would be neighbours. */
	memcpy(sorted, separate, sizeof(sorted));
	qsort(sorted, N, sizeof(*sorted), cmp_files);
	for (i = 1; i < N; i++)
		if (!kcmp_file(sorted[i - 1], sorted[i]))
			fail("separate opens of /dev/null at fd %d and fd %d became one file",
			     sorted[i - 1], sorted[i]);
	for (i = 0; i < N; i++)
		if (!kcmp_file(separate[i], shared[0]))
			fail("separate open at fd %d became the shared open", separate[i]);
}

static void check_pipe(void)
{
	static int ends[2][N / 2];
	unsigned char buf[PIPE_DATA + 1];
	int i;

	for (i = 0; i < N; i++)
		ends[i % 2][i / 2] = pipe_fds[i];
	check_one_file("pipe read end", ends[0], N / 2, O_RDONLY | O_NONBLOCK);
	check_one_file("pipe write end", ends[1], N / 2, O_WRONLY);
	if (!kcmp_file(ends[0][0], ends[1][0]))
		fail("the two ends of the pipe became one file");

	/* The queued bytes, through the last read end; then it is empty. */
	if (read(ends[0][N / 2 - 1], buf, sizeof(buf)) != PIPE_DATA)
		fail("read the queued pipe data: %m");
	CHECK_DATA(buf, PIPE_DATA, 0x9192);
	if (read(ends[0][0], buf, 1) >= 0 || errno != EAGAIN)
		fail("read from the empty non-blocking pipe: %m");
	/* And it is still one pipe: a write through any end reads through any other. */
	if (write(ends[1][N / 2 - 1], "x", 1) != 1 || read(ends[0][1], buf, 1) != 1 ||
	    buf[0] != 'x')
		fail("write and read through other ends of the pipe: %m");
}

static void check_reg(void)
{
	int i, j;

	for (i = 0; i < NR_REG; i++) {
		int flags = i % 2 ? O_RDWR | O_NONBLOCK : O_RDONLY;

		check_one_file("data file", reg[i], 2, flags);
		for (j = 0; j < 2; j++)
			CHECK_EQ(lseek(reg[i][j], 0, SEEK_CUR), 100 * i + 7);
		for (j = 0; j < i; j++)
			if (!kcmp_file(reg[i][0], reg[j][0]))
				fail("data file opens %d and %d became one file", i, j);
	}
	/* Moving the offset through the dup moves it for both. */
	if (lseek(reg[3][1], 1, SEEK_CUR) != 100 * 3 + 8)
		fail("lseek: %m");
	CHECK_EQ(lseek(reg[3][0], 0, SEEK_CUR), 100 * 3 + 8);
	if (lseek(reg[3][0], 100 * 3 + 7, SEEK_SET) != 100 * 3 + 7)
		fail("lseek: %m");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();

	test_daemon();
	test_waitsig();

	check_one_file("/dev/null dups", shared, N, O_RDWR | O_NONBLOCK);
	check_separate();
	check_pipe();
	check_reg();
	pass();
	return 0;
}
