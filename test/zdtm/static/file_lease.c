/*
 * File leases (fcntl(F_SETLEASE)) come back with --file-locks: a read lease
 * on a file opened read-only, and a write lease on another opened
 * read-write, each with its owner (F_SETOWN) and signal (F_SETSIG). After
 * restore F_GETLEASE gives each again, and each still does its job: an
 * open that conflicts (for writing, any open of the write-leased file) is
 * held back (O_NONBLOCK: EWOULDBLOCK) and the holder gets its signal,
 * naming the fd. A child holds a read lease of its own on the first file,
 * which must come back too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile sig_atomic_t broke_fd = -1;

static void on_break(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	broke_fd = si->si_fd;
}

static int leased(const char *path, int flags, int type)
{
	int fd = open(path, flags | O_CREAT, 0644);

	if (fd < 0)
		fail("open %s: %m", path);
	if (fcntl(fd, F_SETOWN, getpid()) || fcntl(fd, F_SETSIG, SIGRTMIN + 1) ||
	    fcntl(fd, F_SETLEASE, type))
		fail("F_SETLEASE on %s: %m", path);
	return fd;
}

/* An open of @path that the lease on @fd holds back, whose break reaches us. */
static void breaks(const char *path, int flags, int fd)
{
	int other;

	broke_fd = -1;
	other = open(path, flags | O_NONBLOCK);
	if (other >= 0 || errno != EWOULDBLOCK)
		fail("open %s with flags %#x: %d (%m), not held back by the lease", path, flags,
		     other);
	for (int i = 0; i < 500 && broke_fd < 0; i++)
		usleep(1000);
	CHECK_EQ(broke_fd, fd);
	if (fcntl(fd, F_SETLEASE, F_UNLCK))
		fail("F_UNLCK: %m");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_break, .sa_flags = SA_SIGINFO };
	char rd[4096], wr[4096], c;
	int r, w, go[2], status = 0;
	pid_t child;

	test_init(argc, argv);
	test_path(rd, sizeof(rd), "read-leased");
	test_path(wr, sizeof(wr), "write-leased");
	/* Leases are not inherited: taken in the daemon, ready after. */
	test_daemon();
	sigaction(SIGRTMIN + 1, &sa, NULL);
	r = leased(rd, O_RDONLY, F_RDLCK);
	w = leased(wr, O_RDWR, F_WRLCK);
	/* A child holds a read lease of its own on the read-leased file. */
	if (pipe(go))
		fail("pipe: %m");
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (!child) {
		int own = leased(rd, O_RDONLY, F_RDLCK);

		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(fcntl(own, F_GETLEASE) != F_RDLCK);
	}

	test_ready();
	test_waitsig();

	CHECK_EQ(fcntl(r, F_GETLEASE), F_RDLCK);
	CHECK_EQ(fcntl(w, F_GETLEASE), F_WRLCK);
	CHECK_EQ(fcntl(r, F_GETSIG), SIGRTMIN + 1);
	if (write(go[1], "g", 1) != 1 || waitpid(child, &status, 0) != child ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's read lease did not come back (status %#x)", status);
	breaks(rd, O_WRONLY, r);
	breaks(wr, O_RDONLY, w);
	pass();
	return 0;
}
