/*
 * Two stacked seccomp filters survive and still act: the older one makes
 * getppid() fail with errno 1234, the newer one (installed with the LOG flag)
 * makes uname() fail with 2345 and kills the process on socket(), which the
 * dump's parasite calls: snap must keep its own syscalls out of the filter.
 * With the argument "threads", three more threads made after the filters
 * (so they have the chain too) check the same in themselves.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "zdtmtst.h"

#define GETPPID_ERRNO 1234
#define UNAME_ERRNO   2345

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(val)    BPF_STMT(BPF_RET | BPF_K, (val))
/* if nr == @nr return @val, else go on */
#define ON(nr, val) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(val)
/* Other architectures go through; for x86_64, load the syscall number. */
#define SYSCALL_NR                                                                 \
	LOAD(arch), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),  \
		RET(SECCOMP_RET_ALLOW), LOAD(nr)

static void install(struct sock_filter *insns, unsigned short len, unsigned int flags)
{
	struct sock_fprog prog = {.len = len, .filter = insns};

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog))
		fail("seccomp: %m");
}

#define NTHREADS 3

static volatile int go;
static int results[NTHREADS];

/* 0 if both filters act in the calling thread, else the line that failed. */
static int check_filters(void)
{
	struct utsname u;

	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != GETPPID_ERRNO)
		return __LINE__;
	errno = 0;
	if (uname(&u) != -1 || errno != UNAME_ERRNO)
		return __LINE__;
	return syscall(SYS_getpid) == getpid() ? 0 : __LINE__;
}

static void *thread(void *arg)
{
	int *result = arg;

	while (!go)
		usleep(1000);
	*result = check_filters();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	sigset_t unused;
	int threads;
	struct sock_filter older[] = {
		SYSCALL_NR,
		ON(__NR_getppid, SECCOMP_RET_ERRNO | GETPPID_ERRNO),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_filter newer[] = {
		SYSCALL_NR,
		ON(__NR_uname, SECCOMP_RET_ERRNO | UNAME_ERRNO),
		ON(__NR_socket, SECCOMP_RET_KILL_PROCESS),
		RET(SECCOMP_RET_ALLOW),
	};

	test_init(argc, argv);
	test_daemon();

	install(older, ARRAY_SIZE(older), 0);
	install(newer, ARRAY_SIZE(newer), SECCOMP_FILTER_FLAG_LOG);
	threads = test_argc > 1 && !strcmp(test_argv[1], "threads") ? NTHREADS : 0;
	/* Threads made with SIGTERM blocked: it is main's to take (test_waitsig()). */
	test_block_sigterm(&unused);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, thread, &results[i]))
			fail("pthread_create: %m");
	test_unblock_sigterm();

	test_waitsig();

	CHECK_EQ(test_status_long("Seccomp"), SECCOMP_MODE_FILTER);
	CHECK_EQ(test_status_long("Seccomp_filters"), 2);
	CHECK_EQ(check_filters(), 0);
	go = 1;
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (results[i])
			fail("thread %d: its filters do not act (check at line %d)", i + 1,
			     results[i]);
	}
	pass();
	return 0;
}
