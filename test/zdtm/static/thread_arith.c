/* Threads: four threads computing across the dump, each with its own per-thread state. */
/*
 * The leader and three threads each run a computation that checks itself
 * (two hash chains, one in registers and one through TLS memory, and a
 * double counter in SSE registers, all of which must agree) until SIGTERM.
 * Each thread has its own TLS value, signal mask, sigaltstack, name, a
 * pending signal sent to it alone with tgkill, its rseq registration
 * (glibc's), robust futex list, and its tid. After SIGTERM each thread
 * checks all of it against what it set up, then the workers exit and are
 * joined, which needs the kernel to clear and wake their clear_child_tid.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_THREADS 4
#define RSEQ_SIG 0x53053053
#define HASH_MUL 6364136223846793005ULL

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct thread {
	int idx;
	pthread_t th;
	pid_t tid;
	unsigned long tp;		/* fs base: the thread pointer */
	void *robust_head;
	size_t robust_len;
	unsigned int rseq_len;		/* the length re-registering answers EBUSY to, or 0 */
	char altstack[64 * 1024];
	volatile uint64_t iters;
	char err[256];
};

static struct thread threads[NR_THREADS];
static volatile int stop;
static __thread volatile uint64_t tls_hash;
static __thread int tls_val;

static void thread_fail(struct thread *t, const char *fmt, ...) __printf(2, 3);
static void thread_fail(struct thread *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err[0])
		return;
	n = snprintf(t->err, sizeof(t->err), "thread %d: ", t->idx);
	va_start(ap, fmt);
	vsnprintf(t->err + n, sizeof(t->err) - n, fmt, ap);
	va_end(ap);
}

/* Each thread blocks SIGTERM, SIGRTMIN..+3 and one signal of its own. */
static void thread_mask(int idx, sigset_t *m)
{
	sigemptyset(m);
	if (idx)
		sigaddset(m, SIGTERM);
	for (int i = 0; i < NR_THREADS; i++)
		sigaddset(m, SIGRTMIN + i);
	sigaddset(m, SIGRTMIN + 8 + idx);
}

static void *rseq_area(void)
{
	return (char *)__builtin_thread_pointer() + __rseq_offset;
}

/* Registering the same area again answers EBUSY while it is registered. */
static int rseq_busy(unsigned int len)
{
	return syscall(SYS_rseq, rseq_area(), len, 0, RSEQ_SIG) < 0 && errno == EBUSY;
}

static void setup(struct thread *t)
{
	stack_t ss = { .ss_sp = t->altstack, .ss_size = sizeof(t->altstack) };
	char name[16];
	sigset_t m;

	t->tid = gettid();
	t->tp = (unsigned long)__builtin_thread_pointer();
	tls_val = 1000 + t->idx * 7;
	thread_mask(t->idx, &m);
	if (pthread_sigmask(SIG_SETMASK, &m, NULL))
		fail("pthread_sigmask");
	if (sigaltstack(&ss, NULL))
		fail("sigaltstack: %m");
	snprintf(name, sizeof(name), "arith-%d", t->idx);
	if (pthread_setname_np(pthread_self(), name))
		fail("pthread_setname_np");
	if (syscall(SYS_tgkill, getpid(), t->tid, SIGRTMIN + t->idx))
		fail("tgkill: %m");
	if (syscall(SYS_get_robust_list, 0, &t->robust_head, &t->robust_len))
		fail("get_robust_list: %m");
	if (&__rseq_size && __rseq_size) {
		if (rseq_busy(__rseq_size))
			t->rseq_len = __rseq_size;
		else if (rseq_busy(32))
			t->rseq_len = 32;
	}
}

/* Two hash chains that must agree, one in registers, one in TLS, and a double. */
static void compute(struct thread *t)
{
	uint64_t h = 0, n = 0;
	double d = 0;

	tls_hash = 0;
	while (!stop) {
		n++;
		d += 1.0;
		h = h * HASH_MUL + n;
		tls_hash = tls_hash * HASH_MUL + n;
		if (h != tls_hash || (uint64_t)d != n) {
			thread_fail(t, "computation broke at %llu: %#llx vs %#llx, %f",
				    (unsigned long long)n, (unsigned long long)h,
				    (unsigned long long)tls_hash, d);
			return;
		}
		if (!(n & 0xffff)) {
			t->iters = n;
			if (tls_val != 1000 + t->idx * 7)
				thread_fail(t, "TLS value %d", tls_val);
			usleep(50);	/* leave some CPU to snap and the others */
		}
	}
}

/* Everything the thread set up, as it set it up. */
static void check(struct thread *t)
{
	struct timespec zero = { 0 };
	char name[16], want[16];
	sigset_t m, want_m;
	siginfo_t si;
	stack_t ss;
	void *head;
	size_t len;
	int ret;

	if (gettid() != t->tid)
		thread_fail(t, "tid %d, was %d", gettid(), t->tid);
	if ((unsigned long)__builtin_thread_pointer() != t->tp)
		thread_fail(t, "fs base %#lx, was %#lx", (unsigned long)__builtin_thread_pointer(),
			    t->tp);
	thread_mask(t->idx, &want_m);
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&m, s) != sigismember(&want_m, s))
			thread_fail(t, "signal %d is %sblocked", s, sigismember(&m, s) ? "" : "not ");
	if (sigaltstack(NULL, &ss) || ss.ss_sp != t->altstack ||
	    ss.ss_size != sizeof(t->altstack) || ss.ss_flags)
		thread_fail(t, "altstack %p/%zu/%#x, want %p/%zu", ss.ss_sp, ss.ss_size,
			    ss.ss_flags, t->altstack, sizeof(t->altstack));
	snprintf(want, sizeof(want), "arith-%d", t->idx);
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) || strcmp(name, want))
		thread_fail(t, "name '%s', want '%s'", name, want);
	sigpending(&m);
	for (int i = 0; i < NR_THREADS; i++)
		if (sigismember(&m, SIGRTMIN + i) != (i == t->idx))
			thread_fail(t, "SIGRTMIN+%d is %spending", i,
				    sigismember(&m, SIGRTMIN + i) ? "" : "not ");
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + t->idx);
	memset(&si, 0, sizeof(si));
	ret = sigtimedwait(&m, &si, &zero);
	if (ret != SIGRTMIN + t->idx || si.si_code > 0 || si.si_pid != getpid())
		thread_fail(t, "pending SIGRTMIN+%d lost or changed (%d, code %d pid %d)", t->idx,
			    ret, si.si_code, si.si_pid);
	if (syscall(SYS_get_robust_list, 0, &head, &len) || head != t->robust_head ||
	    len != t->robust_len)
		thread_fail(t, "robust list %p/%zu, was %p/%zu", head, len, t->robust_head,
			    t->robust_len);
	if (t->rseq_len && !rseq_busy(t->rseq_len))
		thread_fail(t, "rseq is not registered");
}

static void *worker(void *arg)
{
	struct thread *t = arg;

	setup(t);
	compute(t);
	check(t);
	return NULL;
}

static void wait_all_running(void)
{
	for (int i = 1; i < NR_THREADS; i++)
		while (!threads[i].iters)
			usleep(1000);
}

int main(int argc, char **argv)
{
	struct thread *lead = &threads[0];
	struct timespec ts;

	test_init(argc, argv);
	test_daemon();

	setup(lead);
	for (int i = 1; i < NR_THREADS; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].th, NULL, worker, &threads[i]))
			fail("pthread_create");
	}
	wait_all_running();
	test_ready();
	while (!test_sigterm && !stop) {
		/* The leader computes too, in slices between looks at SIGTERM. */
		uint64_t h = 0, x = 0;

		for (uint64_t n = 1; n <= 100000; n++) {
			h = h * HASH_MUL + n;
			x = x * HASH_MUL + n;
		}
		if (h != x)
			thread_fail(lead, "computation broke");
		usleep(100);
	}
	stop = 1;
	check(lead);

	/* Joining needs clear_child_tid: the kernel clears and wakes it at exit. */
	for (int i = 1; i < NR_THREADS; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_timedjoin_np(threads[i].th, NULL, &ts))
			fail("thread %d cannot be joined (tid %d): clear_child_tid lost?", i,
			     threads[i].tid);
	}
	for (int i = 0; i < NR_THREADS; i++)
		if (threads[i].err[0])
			fail("%s", threads[i].err);
	for (int i = 1; i < NR_THREADS; i++)
		test_msg("thread %d: %llu iterations\n", i, (unsigned long long)threads[i].iters);
	pass();
	return 0;
}
