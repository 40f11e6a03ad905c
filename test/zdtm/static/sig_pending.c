/* Pending signals keep their siginfo: shared SIGUSR1 and queued RT signals, thread SIGUSR2. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RT_PTR	((void *)0x1122334455667788ULL)

static void queue(int sig, union sigval val)
{
	if (sigqueue(getpid(), sig, val))
		fail("sigqueue(%d): %m", sig);
}

/* Take @sig off the pending set; fail unless it was pending. */
static void take(int sig, siginfo_t *si)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (sigtimedwait(&set, si, &zero) != sig)
		fail("signal %d is not pending: %m", sig);
}

static void expect_not_pending(int sig)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (sigtimedwait(&set, NULL, &zero) >= 0)
		fail("signal %d is pending once too often", sig);
}

/* SigPnd (this thread) and ShdPnd (process) from /proc/self/status. */
static void proc_pending(unsigned long long *thread, unsigned long long *shared)
{
	char line[256];
	FILE *f;

	*thread = *shared = ~0ULL;
	f = fopen("/proc/self/status", "r");
	if (!f)
		fail("/proc/self/status: %m");
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "SigPnd: %llx", thread);
		sscanf(line, "ShdPnd: %llx", shared);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const int rt = SIGRTMIN + 1;
	unsigned long long thread, shared;
	sigset_t block, pend;
	siginfo_t si;
	int sig;

	test_init(argc, argv);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, rt);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		fail("sigprocmask: %m");

	/* Pending signals are not inherited over fork: queue them in the child. */
	test_daemon();
	queue(SIGUSR1, (union sigval){ .sival_int = 0x1234 });
	queue(SIGUSR1, (union sigval){ .sival_int = 0x5678 });	/* merged: not realtime */
	queue(rt, (union sigval){ .sival_ptr = RT_PTR });
	queue(rt, (union sigval){ .sival_int = 222 });
	if (syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2))
		fail("tgkill: %m");

	test_waitsig();

	sigpending(&pend);
	for (sig = 1; sig <= 64; sig++)
		if (sigismember(&pend, sig) != (sig == SIGUSR1 || sig == SIGUSR2 || sig == rt))
			fail("signal %d is %spending", sig, sigismember(&pend, sig) ? "" : "not ");
	proc_pending(&thread, &shared);
	if (thread != 1ULL << (SIGUSR2 - 1))
		fail("thread pending set is %#llx", thread);
	if (shared != (1ULL << (SIGUSR1 - 1) | 1ULL << (rt - 1)))
		fail("process pending set is %#llx", shared);

	take(SIGUSR1, &si);
	CHECK_EQ(si.si_code, SI_QUEUE);
	CHECK_EQ(si.si_pid, getpid());
	CHECK_EQ(si.si_uid, getuid());
	CHECK_EQ(si.si_value.sival_int, 0x1234);
	expect_not_pending(SIGUSR1);

	/* Realtime signals queue, in order, each with its value. */
	take(rt, &si);
	CHECK_EQ(si.si_code, SI_QUEUE);
	CHECK(si.si_value.sival_ptr == RT_PTR);
	take(rt, &si);
	CHECK_EQ(si.si_value.sival_int, 222);
	expect_not_pending(rt);

	take(SIGUSR2, &si);
	CHECK_EQ(si.si_code, SI_USER);	/* glibc's sigtimedwait() folds SI_TKILL into SI_USER */
	CHECK_EQ(si.si_pid, getpid());
	expect_not_pending(SIGUSR2);
	pass();
	return 0;
}
