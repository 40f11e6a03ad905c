/*
 * A FIFO open three times (read, write, read/write) with 70 KiB queued in a
 * 128 KiB buffer, and a child that shares the write end (fork) and has its
 * own write open: after restore every end is on the one FIFO at its path,
 * with its access mode and flags, the data is all there and nothing more,
 * the child's writes reach the parent, and the fork-shared end is still one
 * open file description.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN	(70 * 1024 + 3)
#define SIZE	(128 * 1024)
#define SEED	0xf1f0

static void wait_term(void)
{
	while (!test_sigterm)
		pause();
}

/* The child: shares @w with the parent, writes "child" through its own open. */
static void child(const char *path, int w, int ready)
{
	int cw = open(path, O_WRONLY);

	if (cw < 0 || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	wait_term();
	/* Seen by the parent if @w is still the description they share. */
	if (fcntl(w, F_SETFL, O_NONBLOCK) || write(cw, "child", 5) != 5)
		_exit(3);
	_exit(0);
}

int main(int argc, char **argv)
{
	static unsigned char data[LEN];
	struct stat sp, sr, sw, srw;
	char path[4096];
	int r, w, rw, status, sync[2];
	char c;
	ssize_t n, got = 0;
	pid_t pid;

	test_init(argc, argv);
	test_path(path, sizeof(path), "fifo");
	unlink(path);
	if (mkfifo(path, 0640))
		fail("mkfifo: %m");
	test_daemon();

	r = open(path, O_RDONLY | O_NONBLOCK);
	w = open(path, O_WRONLY);
	rw = open(path, O_RDWR);
	if (r < 0 || w < 0 || rw < 0)
		fail("open %s: %m", path);
	if (fcntl(w, F_SETPIPE_SZ, SIZE) < 0)
		fail("F_SETPIPE_SZ: %m");
	datagen(data, LEN, SEED);
	if (write(w, data, LEN) != LEN)
		fail("write: %m");
	if (pipe(sync))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child(path, w, sync[1]);
	close(sync[1]);
	if (read(sync[0], &c, 1) != 1)
		fail("the child did not open the fifo");
	close(sync[0]);
	test_waitsig();

	if (stat(path, &sp) || fstat(r, &sr) || fstat(w, &sw) || fstat(rw, &srw))
		fail("stat: %m");
	if (!S_ISFIFO(sp.st_mode) || (sp.st_mode & 07777) != 0640)
		fail("%s is not the 0640 fifo it was (mode %o)", path, sp.st_mode);
	if (sr.st_ino != sp.st_ino || sw.st_ino != sp.st_ino || srw.st_ino != sp.st_ino)
		fail("the fds are not on the fifo at %s", path);
	CHECK_EQ(fcntl(r, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	CHECK_EQ(fcntl(w, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
	CHECK_EQ(fcntl(rw, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
	CHECK_EQ(fcntl(r, F_GETPIPE_SZ), SIZE);

	memset(data, 0, LEN);
	while (got < LEN && (n = read(r, data + got, LEN - got)) > 0)
		got += n;
	if (got != LEN)
		fail("read back %zd bytes, expected %d", got, LEN);
	CHECK_DATA(data, LEN, SEED);
	if (read(r, data, 1) >= 0 || errno != EAGAIN)
		fail("more than %d bytes were queued", LEN);

	/* Every end is the same pipe. */
	if (write(w, "ping", 4) != 4 || read(r, data, 4) != 4 || memcmp(data, "ping", 4))
		fail("the write end no longer feeds the read end");
	if (write(rw, "pong", 4) != 4 || read(r, data, 4) != 4 || memcmp(data, "pong", 4))
		fail("the read/write end is not on the same pipe");

	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed (status %#x)", status);
	if (read(r, data, 5) != 5 || memcmp(data, "child", 5))
		fail("the child's write did not reach the parent");
	if (!(fcntl(w, F_GETFL) & O_NONBLOCK))
		fail("the write end the child shares is no longer one open file description");
	pass();
	return 0;
}
