/* Signal dispositions (handler, SA_* flags, sa_mask, SIG_IGN) survive and still run. */
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NSIG_CHECK 64

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000	/* set by glibc, read back by sigaction() */
#endif

struct want_action {
	int sig;
	void *handler;
	int flags;
	int mask[4];	/* signals in sa_mask, 0-terminated */
};

static volatile int hits[NSIG_CHECK + 1];
static volatile int info_code[NSIG_CHECK + 1];
static volatile pid_t info_pid[NSIG_CHECK + 1];
static sigset_t blocked_in[NSIG_CHECK + 1];

static void plain_handler(int sig)
{
	sigprocmask(SIG_BLOCK, NULL, &blocked_in[sig]);
	hits[sig]++;
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sigprocmask(SIG_BLOCK, NULL, &blocked_in[sig]);
	info_code[sig] = si->si_code;
	info_pid[sig] = si->si_pid;
	hits[sig]++;
}

static struct sigaction before[NSIG_CHECK + 1];

static int skip_sig(int sig)
{
	/* Unchangeable, or reserved by glibc (sigaction() refuses them). */
	return sig == SIGKILL || sig == SIGSTOP || (sig >= 32 && sig < SIGRTMIN);
}

static void check_action(int sig, const struct sigaction *a, const struct sigaction *b)
{
	int s;

	if (a->sa_handler != b->sa_handler)
		fail("signal %d: handler %p, expected %p", sig, (void *)a->sa_handler,
		     (void *)b->sa_handler);
	if (a->sa_flags != b->sa_flags)
		fail("signal %d: flags %#x, expected %#x", sig, a->sa_flags, b->sa_flags);
	for (s = 1; s <= NSIG_CHECK; s++)
		if (!skip_sig(s) && sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s))
			fail("signal %d: sa_mask differs at signal %d", sig, s);
}

int main(int argc, char **argv)
{
	struct want_action want[] = {
		{ SIGUSR1, info_handler, SA_SIGINFO | SA_RESTART, { SIGUSR2, SIGHUP, 0 } },
		{ SIGUSR2, plain_handler, SA_ONSTACK | SA_NODEFER, { 0 } },
		{ SIGALRM, plain_handler, SA_RESETHAND, { SIGINT, 0 } },
		{ SIGCHLD, plain_handler, SA_NOCLDSTOP | SA_RESTART, { 0 } },
		{ SIGHUP, SIG_IGN, 0, { 0 } },
		{ SIGPIPE, SIG_IGN, 0, { 0 } },
		{ 0, info_handler, SA_SIGINFO, { SIGUSR1, 0, 0 } },	/* SIGRTMIN + 4 */
	};
	struct sigaction sa, now;
	size_t i;
	int sig, j;

	test_init(argc, argv);
	want[ARRAY_SIZE(want) - 1].sig = SIGRTMIN + 4;	/* not a constant */
	want[ARRAY_SIZE(want) - 1].mask[1] = SIGRTMAX;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = want[i].handler;
		sa.sa_flags = want[i].flags;
		sigemptyset(&sa.sa_mask);
		for (j = 0; want[i].mask[j]; j++)
			sigaddset(&sa.sa_mask, want[i].mask[j]);
		if (sigaction(want[i].sig, &sa, NULL))
			fail("sigaction(%d): %m", want[i].sig);
	}
	for (sig = 1; sig <= NSIG_CHECK; sig++)
		if (!skip_sig(sig) && sigaction(sig, NULL, &before[sig]))
			fail("sigaction(%d): %m", sig);

	test_daemon();
	test_waitsig();

	/* Every disposition, as the kernel reports it, is what it was. */
	for (sig = 1; sig <= NSIG_CHECK; sig++) {
		if (skip_sig(sig))
			continue;
		if (sigaction(sig, NULL, &now))
			fail("sigaction(%d): %m", sig);
		check_action(sig, &now, &before[sig]);
	}
	/* ... and what the test set (the flags read back include SA_RESTORER). */
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		sigaction(want[i].sig, NULL, &now);
		if (now.sa_handler != want[i].handler ||
		    (now.sa_flags & ~SA_RESTORER) != want[i].flags)
			fail("signal %d: handler/flags not as set", want[i].sig);
		for (j = 0; want[i].mask[j]; j++)
			if (!sigismember(&now.sa_mask, want[i].mask[j]))
				fail("signal %d: sa_mask lacks %d", want[i].sig, want[i].mask[j]);
	}

	/* The handlers run, with sa_mask (and the signal, unless SA_NODEFER) blocked. */
	raise(SIGUSR1);
	CHECK_EQ(hits[SIGUSR1], 1);
	CHECK_EQ(info_code[SIGUSR1], SI_TKILL);
	CHECK_EQ(info_pid[SIGUSR1], getpid());
	CHECK(sigismember(&blocked_in[SIGUSR1], SIGUSR1));
	CHECK(sigismember(&blocked_in[SIGUSR1], SIGUSR2));
	CHECK(sigismember(&blocked_in[SIGUSR1], SIGHUP));

	raise(SIGUSR2);
	CHECK_EQ(hits[SIGUSR2], 1);
	CHECK(!sigismember(&blocked_in[SIGUSR2], SIGUSR2));

	raise(SIGALRM);
	CHECK_EQ(hits[SIGALRM], 1);
	CHECK(sigismember(&blocked_in[SIGALRM], SIGINT));
	sigaction(SIGALRM, NULL, &now);
	CHECK(now.sa_handler == SIG_DFL);	/* SA_RESETHAND */

	raise(SIGRTMIN + 4);
	CHECK_EQ(hits[SIGRTMIN + 4], 1);
	CHECK(sigismember(&blocked_in[SIGRTMIN + 4], SIGRTMAX));

	raise(SIGHUP);	/* ignored: the process lives on */
	raise(SIGPIPE);
	pass();
	return 0;
}
