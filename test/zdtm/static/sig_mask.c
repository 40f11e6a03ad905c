/* The blocked signal mask (standard and realtime signals) survives exactly and still blocks. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BIT(sig)	(1ULL << ((sig) - 1))

static volatile sig_atomic_t usr1_count;

static void usr1_handler(int sig)
{
	(void)sig;
	usr1_count++;
}

static uint64_t get_mask(void)
{
	uint64_t mask;

	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, sizeof(mask)))
		fail("rt_sigprocmask: %m");
	return mask;
}

/* The mask as /proc/self/status reports it. */
static uint64_t proc_mask(void)
{
	char line[256];
	unsigned long long m;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		fail("/proc/self/status: %m");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &m) == 1) {
			fclose(f);
			return m;
		}
	fail("no SigBlk in /proc/self/status");
}

int main(int argc, char **argv)
{
	/*
	 * An irregular pattern over all 64 signals, including the realtime ones
	 * glibc reserves (set with the raw syscall), but not SIGTERM (the test
	 * waits for it), SIGKILL/SIGSTOP (unblockable) or the synchronous
	 * fault signals.
	 */
	uint64_t want = 0xa5c3f00f3cc35a96ULL;
	struct sigaction sa = { .sa_handler = usr1_handler };
	sigset_t pend;

	want |= BIT(SIGUSR1) | BIT(SIGHUP) | BIT(SIGPIPE) | BIT(SIGCHLD) | BIT(64);
	want &= ~(BIT(SIGTERM) | BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGSEGV) | BIT(SIGBUS) |
		  BIT(SIGILL) | BIT(SIGFPE) | BIT(SIGTRAP) | BIT(SIGABRT));

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction: %m");
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &want, NULL, sizeof(want)))
		fail("rt_sigprocmask: %m");
	CHECK_EQ(get_mask(), want);

	test_daemon();
	test_waitsig();

	if (get_mask() != want)
		fail("blocked mask is %#llx, expected %#llx", (unsigned long long)get_mask(),
		     (unsigned long long)want);
	if (proc_mask() != want)
		fail("SigBlk is %#llx, expected %#llx", (unsigned long long)proc_mask(),
		     (unsigned long long)want);

	/* Really blocked: SIGUSR1 stays pending until unblocked. */
	raise(SIGUSR1);
	CHECK_EQ(usr1_count, 0);
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGUSR1));
	sigemptyset(&pend);
	sigaddset(&pend, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &pend, NULL);
	CHECK_EQ(usr1_count, 1);
	pass();
	return 0;
}
