/*
 * Relative sleeps the dump interrupts sleep the rest of their time after
 * restore, rather than end early with EINTR (a restored task has no restart
 * block; glibc's sleep() would return early to a caller that ignores what
 * it returns). Four threads sleep 5 s: nanosleep() with one timespec for
 * the request and the time left (glibc's sleep()), and with two;
 * clock_nanosleep() on CLOCK_MONOTONIC and CLOCK_REALTIME, with two. Each
 * must return 0 after at least 5 s by CLOCK_MONOTONIC, and leave the
 * request it was given untouched; so must a child process's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SLEEP_S 5
#define SLEEPERS 4

struct sleeper {
	int kind;
	pid_t tid;
	int ret, err;
	double slept;
	struct timespec req, rem;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;
	double start = now();

	s->tid = syscall(SYS_gettid);
	s->req = (struct timespec){ .tv_sec = SLEEP_S };
	switch (s->kind) {
	case 0:
		s->rem = s->req;
		s->ret = syscall(SYS_nanosleep, &s->rem, &s->rem);
		break;
	case 1:
		s->ret = syscall(SYS_nanosleep, &s->req, &s->rem);
		break;
	case 2:
		s->ret = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &s->req, &s->rem);
		break;
	default:
		s->ret = syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &s->req, &s->rem);
		break;
	}
	s->err = s->ret ? errno : 0;
	s->slept = now() - start;
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *what[SLEEPERS] = {
		"nanosleep(&ts, &ts)",
		"nanosleep(&req, &rem)",
		"clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem)",
		"clock_nanosleep(CLOCK_REALTIME, 0, &req, &rem)",
	};
	struct sleeper s[SLEEPERS] = { { 0 } }, cs = { .kind = 1 };
	pthread_t th[SLEEPERS];
	int status = 0;
	pid_t child;

	test_init(argc, argv);
	/* Threads do not survive the daemon's fork: made in it, ready once all sleep. */
	test_daemon();
	/* A child process sleeps too: exit 0 only if it slept its whole time. */
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (!child) {
		sleeper(&cs);
		_exit(cs.ret || cs.slept < SLEEP_S);
	}
	test_wait_syscall(child, SYS_nanosleep);
	for (int i = 0; i < SLEEPERS; i++) {
		s[i].kind = i;
		if (pthread_create(&th[i], NULL, sleeper, &s[i]))
			fail("pthread_create");
	}
	for (int i = 0; i < SLEEPERS; i++) {
		while (!__atomic_load_n(&s[i].tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		test_wait_syscall(s[i].tid, i < 2 ? SYS_nanosleep : SYS_clock_nanosleep);
	}

	test_ready();
	test_waitsig();

	for (int i = 0; i < SLEEPERS; i++) {
		pthread_join(th[i], NULL);
		if (s[i].ret || s[i].slept < SLEEP_S)
			fail("%s returned %d (%s) after %.2f s of %d", what[i], s[i].ret,
			     s[i].ret ? strerror(s[i].err) : "-", s[i].slept, SLEEP_S);
		if (i && (s[i].req.tv_sec != SLEEP_S || s[i].req.tv_nsec))
			fail("%s: its request changed to %ld.%09ld s", what[i],
			     (long)s[i].req.tv_sec, s[i].req.tv_nsec);
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's nanosleep(&req, &rem) did not sleep its time (status %#x)", status);
	pass();
	return 0;
}
