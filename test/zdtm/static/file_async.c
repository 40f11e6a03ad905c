/*
 * Signal-driven I/O survives: a pipe with O_ASYNC whose owner is the process
 * and whose signal is SIGRTMIN+1 (F_SETSIG), a socketpair end owned by the
 * process group (F_OWNER_PGRP), and one with an owner but no O_ASYNC. After
 * restore each reads back the same owner, signal and flags, and data arriving
 * on the pipe raises SIGRTMIN+1 with si_fd set, on the socket SIGIO.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

static int p[2], sk[2], quiet[2];

static void check_owner(int fd, int type, pid_t pid, int sig, int async, const char *what)
{
	struct f_owner_ex o;

	if (fcntl(fd, F_GETOWN_EX, &o))
		fail("%s: F_GETOWN_EX: %m", what);
	if ((int)o.type != type || o.pid != pid)
		fail("%s: owner type %d pid %d, expected %d %d", what, o.type, o.pid, type, pid);
	if (fcntl(fd, F_GETSIG) != sig)
		fail("%s: F_GETSIG %d, expected %d", what, fcntl(fd, F_GETSIG), sig);
	if (!!(fcntl(fd, F_GETFL) & O_ASYNC) != async)
		fail("%s: O_ASYNC is %s", what, async ? "off" : "on");
}

static void set_owner(int fd, int type, pid_t pid, int sig, int async)
{
	struct f_owner_ex o = { .type = type, .pid = pid };

	if (fcntl(fd, F_SETOWN_EX, &o) || (sig && fcntl(fd, F_SETSIG, sig)) ||
	    (async && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC)))
		fail("setting the owner: %m");
}

/* Data written to @wfd raises @sig, carrying @fd if it is a real-time signal. */
static void check_signal(int wfd, int fd, int sig, const char *what)
{
	struct timespec ts = { 2, 0 };
	sigset_t set;
	siginfo_t si;
	char c;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (write(wfd, "x", 1) != 1)
		fail("%s: write: %m", what);
	if (sigtimedwait(&set, &si, &ts) != sig)
		fail("%s: no signal %d after data arrived: %m", what, sig);
	if (sig != SIGIO && si.si_fd != fd)
		fail("%s: signal %d carries fd %d, expected %d", what, sig, si.si_fd, fd);
	if (read(fd, &c, 1) != 1)
		fail("%s: read: %m", what);
}

static void check(void)
{
	check_owner(p[0], F_OWNER_PID, getpid(), SIGRTMIN + 1, 1, "pipe");
	check_owner(sk[0], F_OWNER_PGRP, getpgid(0), 0, 1, "socket");
	check_owner(quiet[0], F_OWNER_PID, getpid(), 0, 0, "quiet pipe");
}

int main(int argc, char **argv)
{
	sigset_t set;

	test_init(argc, argv);
	test_daemon();
	/* Blocked: the signals are collected with sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe(p) || pipe(quiet) || socketpair(AF_UNIX, SOCK_STREAM, 0, sk))
		fail("pipe/socketpair: %m");
	set_owner(p[0], F_OWNER_PID, getpid(), SIGRTMIN + 1, 1);
	set_owner(sk[0], F_OWNER_PGRP, getpgid(0), 0, 1);
	set_owner(quiet[0], F_OWNER_PID, getpid(), 0, 0);
	check();
	check_signal(p[1], p[0], SIGRTMIN + 1, "pipe");
	check_signal(sk[1], sk[0], SIGIO, "socket");
	test_waitsig();

	check();
	check_signal(p[1], p[0], SIGRTMIN + 1, "pipe");
	check_signal(sk[1], sk[0], SIGIO, "socket");
	pass();
	return 0;
}
