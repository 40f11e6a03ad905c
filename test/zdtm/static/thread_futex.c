/* Threads: futex ping-pong, and threads blocked in futex, read, nanosleep, across the dump. */
/*
 * Two threads take turns on a futex word: each FUTEX_WAITs until the count
 * has its parity, increments it and FUTEX_WAKEs the other. A lost wakeup or a
 * wait that does not resume stalls them. Three more threads are blocked at
 * the dump: in FUTEX_WAIT on a gate, in read() of a pipe, in a loop of
 * nanosleep()s. After SIGTERM the ping-pong must advance, the gate's waiter
 * wake with 0 once the gate opens (never before), the reader get the byte
 * written then, and the sleeper finish another sleep; all within seconds.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define TIMEOUT_S 5

static volatile uint32_t turn, gate;
static volatile uint64_t rounds[2], sleeps;
static volatile int stop;
static int pipefd[2];
static pid_t blocked_tid[3];
static char err[3][128];

static long futex(volatile uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void *pingpong(void *arg)
{
	uint32_t me = (uintptr_t)arg;

	for (;;) {
		/*
		 * turn before stop: main sets stop before it moves turn, so a
		 * turn read before the move is waited on and woken, and one
		 * read after it comes with stop seen.
		 */
		uint32_t v = __atomic_load_n(&turn, __ATOMIC_SEQ_CST);

		if (__atomic_load_n(&stop, __ATOMIC_SEQ_CST))
			break;
		if (v % 2 != me) {
			futex(&turn, FUTEX_WAIT, v);
			continue;
		}
		rounds[me]++;
		__atomic_store_n(&turn, v + 1, __ATOMIC_SEQ_CST);
		futex(&turn, FUTEX_WAKE, 1);
	}
	return NULL;
}

/* Blocked in FUTEX_WAIT from before the dump until the gate opens. */
static void *gate_waiter(void *arg)
{
	long ret;

	(void)arg;
	blocked_tid[0] = gettid();
	while (!gate) {
		ret = futex(&gate, FUTEX_WAIT, 0);
		if (!gate)
			snprintf(err[0], sizeof(err[0]),
				 "FUTEX_WAIT returned %ld (errno %d) with the gate closed", ret,
				 errno);
		else if (ret)
			snprintf(err[0], sizeof(err[0]), "FUTEX_WAIT returned %ld (errno %d)", ret,
				 errno);
	}
	return NULL;
}

/* Blocked in read() from before the dump until SIGTERM's byte comes. */
static void *reader(void *arg)
{
	ssize_t n;
	char c = 0;

	(void)arg;
	blocked_tid[1] = gettid();
	n = read(pipefd[0], &c, 1);
	if (n != 1 || c != 'x')
		snprintf(err[1], sizeof(err[1]), "read returned %zd (errno %d), byte %#x", n, errno,
			 c);
	return NULL;
}

/*
 * Sleeps of 200 ms. A restored thread has no kernel restart block, so an
 * interrupted sleep returns EINTR with the time left, and goes on.
 */
static void *sleeper(void *arg)
{
	struct timespec req, rem;

	(void)arg;
	blocked_tid[2] = gettid();
	while (!stop) {
		req = (struct timespec){ 0, 200 * 1000 * 1000 };
		while (nanosleep(&req, &rem)) {
			if (errno != EINTR) {
				snprintf(err[2], sizeof(err[2]), "nanosleep: errno %d", errno);
				return NULL;
			}
			req = rem;
		}
		sleeps++;
	}
	return NULL;
}

/* Whether thread @tid sleeps in the kernel. */
static int sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[2] == 'S';
}

static int wait_until(volatile uint64_t *v, uint64_t at_least)
{
	for (int i = 0; i < TIMEOUT_S * 1000; i++) {
		if (*v >= at_least)
			return 0;
		usleep(1000);
	}
	return -1;
}

static void join(pthread_t th, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TIMEOUT_S;
	if (pthread_timedjoin_np(th, NULL, &ts))
		fail("the %s thread did not finish in %d s", what, TIMEOUT_S);
}

int main(int argc, char **argv)
{
	void *(*fn[5])(void *) = { pingpong, pingpong, gate_waiter, reader, sleeper };
	const char *names[5] = { "ping", "pong", "futex", "reader", "sleeper" };
	pthread_t th[5];
	uint64_t r0, r1, s;
	sigset_t m;

	test_init(argc, argv);
	if (pipe(pipefd))
		fail("pipe: %m");
	test_daemon();

	/* SIGTERM is for the main thread. */
	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	for (int i = 0; i < 5; i++)
		if (pthread_create(&th[i], NULL, fn[i], (void *)(uintptr_t)i))
			fail("pthread_create");
	pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	for (int i = 0; i < 3; i++)
		while (!blocked_tid[i] || !sleeping(blocked_tid[i]))
			usleep(1000);
	if (wait_until(&rounds[1], 1000))
		fail("the ping-pong does not start");
	test_waitsig();

	r0 = rounds[0];
	r1 = rounds[1];
	s = sleeps;
	if (wait_until(&rounds[0], r0 + 1000) || wait_until(&rounds[1], r1 + 1000))
		fail("the ping-pong stalled at %llu/%llu rounds: a lost wakeup",
		     (unsigned long long)rounds[0], (unsigned long long)rounds[1]);
	if (wait_until(&sleeps, s + 1))
		fail("the sleeper did not wake up");
	gate = 1;
	futex(&gate, FUTEX_WAKE, INT_MAX);
	if (write(pipefd[1], "x", 1) != 1)
		fail("write: %m");
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&turn, 1, __ATOMIC_SEQ_CST);
	futex(&turn, FUTEX_WAKE, INT_MAX);
	for (int i = 0; i < 5; i++)
		join(th[i], names[i]);
	for (int i = 0; i < 3; i++)
		if (err[i][0])
			fail("%s: %s", names[i + 2], err[i]);
	test_msg("%llu + %llu rounds, %llu sleeps\n", (unsigned long long)rounds[0],
		 (unsigned long long)rounds[1], (unsigned long long)sleeps);
	pass();
	return 0;
}
