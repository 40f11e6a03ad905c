/*
 * signalfds keep their mask and flags, and read the signals that were
 * pending at the dump (a shared SIGUSR1, a thread SIGUSR2, a queued RT
 * signal with its value) and new ones afterwards; SIGRTMIN - 1 (32, which
 * glibc keeps for itself) stays in a raw mask.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>

#include "anon-fdinfo.h"

#define RT_VAL	0x5eed

static uint64_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

static int read_sig(int fd, struct signalfd_siginfo *si)
{
	ssize_t n = read(fd, si, sizeof(*si));

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n != sizeof(*si))
		fail("read signalfd %d: %m", fd);
	return si->ssi_signo;
}

int main(int argc, char **argv)
{
	const int rt = SIGRTMIN + 3;
	uint64_t mask = bit(SIGUSR1) | bit(SIGUSR2) | bit(rt) | bit(32), hmask = bit(SIGHUP);
	struct signalfd_siginfo si;
	union sigval val = { .sival_int = RT_VAL };
	struct pollfd p;
	sigset_t block;
	int sfd, hfd;

	test_init(argc, argv);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, rt);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		fail("sigprocmask: %m");
	sfd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_NONBLOCK);
	hfd = syscall(SYS_signalfd4, -1, &hmask, sizeof(hmask), 0);
	if (sfd < 0 || hfd < 0)
		fail("signalfd: %m");

	test_daemon();
	/* Pending signals are not inherited: made in the daemon. */
	if (kill(getpid(), SIGUSR1) || raise(SIGUSR2) || sigqueue(getpid(), rt, val))
		fail("sending signals: %m");
	test_waitsig();

	CHECK_EQ(fdinfo_ull(sfd, "sigmask:", 16), mask);
	CHECK_EQ(fdinfo_ull(hfd, "sigmask:", 16), hmask);
	CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK);
	CHECK(!(fcntl(hfd, F_GETFL) & O_NONBLOCK));

	p = (struct pollfd){ .fd = sfd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 0), 1);
	/* The thread's own pending signals come first, then the process's. */
	CHECK_EQ(read_sig(sfd, &si), SIGUSR2);
	CHECK_EQ(read_sig(sfd, &si), SIGUSR1);
	CHECK_EQ(read_sig(sfd, &si), rt);
	CHECK_EQ(si.ssi_int, RT_VAL);
	CHECK_EQ(si.ssi_code, SI_QUEUE);
	CHECK_EQ(read_sig(sfd, &si), 0);
	p = (struct pollfd){ .fd = hfd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 0), 0);

	/* Still a signalfd of that mask: a new signal shows, one outside it does not. */
	if (kill(getpid(), SIGHUP) || kill(getpid(), SIGUSR1))
		fail("kill: %m");
	CHECK_EQ(read_sig(hfd, &si), SIGHUP);
	CHECK_EQ(read_sig(sfd, &si), SIGUSR1);
	CHECK_EQ(read_sig(sfd, &si), 0);
	pass();
	return 0;
}
