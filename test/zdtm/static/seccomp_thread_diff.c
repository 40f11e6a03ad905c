/*
 * Threads of one process with different seccomp filter chains, each acting
 * in its own thread only:
 *   main  "shared" (uname: errno 2345), then its own: getppid fails with EPERM;
 *   T1    "shared", then its own: getuid fails with EPERM (getppid works);
 *   T2    made before any filter: none at all (Seccomp 0), everything works;
 *   T3    "shared", then two of its own: getgid EPERM (LOG flag), getegid EACCES.
 * After the restore each thread checks in itself what is filtered and what is
 * not, and main reads every thread's Seccomp and Seccomp_filters fields in
 * /proc/PID/task/TID/status.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "zdtmtst.h"

#define UNAME_ERRNO 2345

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(val)    BPF_STMT(BPF_RET | BPF_K, (val))
/* if nr == @nr return @val, else go on */
#define ON(nr, val) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(val)
#define SYSCALL_NR                                                                 \
	LOAD(arch), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),  \
		RET(SECCOMP_RET_ALLOW), LOAD(nr)
#define FILTER(name, nr, val)                                                      \
	struct sock_filter name[] = { SYSCALL_NR, ON(nr, SECCOMP_RET_ERRNO | (val)), \
				      RET(SECCOMP_RET_ALLOW) }

static void install(struct sock_filter *insns, unsigned short len, unsigned int flags)
{
	struct sock_fprog prog = { .len = len, .filter = insns };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog))
		fail("seccomp: %m");
}

enum { T1, T2, T3, NTHREADS };

static volatile int installed[NTHREADS], go;
static pid_t tids[NTHREADS];
static int results[NTHREADS];

/* @nr fails with @err (0: it works). 0 if so, else -1. */
static int syscall_is(long nr, int err)
{
	long r;

	errno = 0;
	r = syscall(nr);
	return err ? (r == -1 && errno == err ? 0 : -1) : (r >= 0 ? 0 : -1);
}

static int uname_is(int err)
{
	struct utsname u;
	int r;

	errno = 0;
	r = uname(&u);
	return err ? (r == -1 && errno == err ? 0 : -1) : (r == 0 ? 0 : -1);
}

/* 0 if every filter of thread @who acts in the calling thread, and no other; else a line. */
static int check(int who)
{
	int shared = who != T2;

	if (uname_is(shared ? UNAME_ERRNO : 0))
		return __LINE__;
	if (syscall_is(__NR_getppid, who == -1 ? EPERM : 0))
		return __LINE__;
	if (syscall_is(__NR_getuid, who == T1 ? EPERM : 0))
		return __LINE__;
	if (syscall_is(__NR_getgid, who == T3 ? EPERM : 0))
		return __LINE__;
	if (syscall_is(__NR_getegid, who == T3 ? EACCES : 0))
		return __LINE__;
	return syscall(SYS_getpid) == getpid() ? 0 : __LINE__;
}

static void *thread(void *arg)
{
	int who = (long)arg;
	FILTER(t1, __NR_getuid, EPERM);
	FILTER(t3a, __NR_getgid, EPERM);
	FILTER(t3b, __NR_getegid, EACCES);

	tids[who] = syscall(SYS_gettid);
	if (who == T1)
		install(t1, ARRAY_SIZE(t1), 0);
	if (who == T3) {
		install(t3a, ARRAY_SIZE(t3a), SECCOMP_FILTER_FLAG_LOG);
		install(t3b, ARRAY_SIZE(t3b), 0);
	}
	results[who] = check(who);
	installed[who] = 1;
	while (!go)
		usleep(1000);
	results[who] = check(who);
	return NULL;
}

/* Field @field of /proc/self/task/@tid/status. */
static long task_status(pid_t tid, const char *field)
{
	char path[64], buf[8192], *p;
	size_t flen = strlen(field);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail("%s: %m", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		fail("read %s: %m", path);
	buf[n] = 0;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, field, flen) && p[flen] == ':')
			return strtol(p + flen + 1, NULL, 10);
	fail("%s: no %s", path, field);
	return -1;
}

static void expect_status(pid_t tid, const char *name, long mode, long filters)
{
	long m = task_status(tid, "Seccomp"), f = task_status(tid, "Seccomp_filters");

	if (m != mode || f != filters)
		fail("%s (%d): Seccomp %ld, Seccomp_filters %ld; expected %ld, %ld", name, tid, m,
		     f, mode, filters);
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	sigset_t unused;
	FILTER(shared, __NR_uname, UNAME_ERRNO);
	FILTER(own, __NR_getppid, EPERM);
	int i;

	test_init(argc, argv);
	test_daemon();

	/* Threads made with SIGTERM blocked: it is main's to take (test_waitsig()). */
	test_block_sigterm(&unused);
	if (pthread_create(&th[T2], NULL, thread, (void *)(long)T2))
		fail("pthread_create: %m");
	while (!installed[T2])
		usleep(1000);
	install(shared, ARRAY_SIZE(shared), 0);
	for (i = 0; i < NTHREADS; i++)
		if (i != T2 && pthread_create(&th[i], NULL, thread, (void *)(long)i))
			fail("pthread_create: %m");
	for (i = 0; i < NTHREADS; i++)
		while (!installed[i])
			usleep(1000);
	test_unblock_sigterm();
	install(own, ARRAY_SIZE(own), 0);
	for (i = 0; i < NTHREADS; i++)
		if (results[i])
			fail("thread %d: its filters do not act before the dump (line %d)", i + 1,
			     results[i]);
	if (check(-1))
		fail("main: its filters do not act before the dump (line %d)", check(-1));

	test_waitsig();

	expect_status(getpid(), "main", SECCOMP_MODE_FILTER, 2);
	expect_status(tids[T1], "T1", SECCOMP_MODE_FILTER, 2);
	expect_status(tids[T2], "T2", SECCOMP_MODE_DISABLED, 0);
	expect_status(tids[T3], "T3", SECCOMP_MODE_FILTER, 3);
	i = check(-1);
	if (i)
		fail("main: its filters do not act as they did (check at line %d)", i);
	go = 1;
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (results[i])
			fail("thread T%d: its filters do not act as they did (check at line %d)",
			     i + 1, results[i]);
	}
	pass();
	return 0;
}
