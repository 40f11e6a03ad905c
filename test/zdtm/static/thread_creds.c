/*
 * Threads with credentials of their own (the kernel keeps them per thread;
 * raw syscalls and libcap's cap_set_proc() change only the caller's): one
 * thread takes uid 1000, gid 1001 and groups 5 and 6; another drops
 * CAP_NET_RAW from its effective and permitted sets and CAP_MKNOD from its
 * bounding set. Restored, every thread (the main one, still root with all
 * its capabilities, included) has the ids, groups and capability sets it
 * had: /proc/self/task/TID/status reads the same.
 */
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR 3

static pid_t tids[NR];
static int ready;

/* The credential lines of thread @tid's status. */
static void creds_of(pid_t tid, char *buf, size_t size)
{
	static const char *const keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:",
					    "CapEff:", "CapBnd:", "CapAmb:" };
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    strlen(buf) + strlen(line) < size)
				strcat(buf, line);
	fclose(f);
}

static void drop_net_raw(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		fail("capget: %m");
	data[0].effective &= ~(1U << CAP_NET_RAW);
	data[0].permitted &= ~(1U << CAP_NET_RAW);
	if (syscall(SYS_capset, &hdr, data) || prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0))
		fail("dropping capabilities in a thread: %m");
}

static void *thread(void *arg)
{
	long n = (long)arg;
	gid_t groups[] = { 5, 6 };

	/* Raw syscalls: glibc's set*id() would change every thread. */
	if (n == 1 && (syscall(SYS_setgroups, 2, groups) ||
		       syscall(SYS_setresgid, 1001, 1001, 1001) ||
		       syscall(SYS_setresuid, 1000, 1000, 1000)))
		fail("changing a thread's ids: %m");
	if (n == 2)
		drop_net_raw();
	tids[n] = gettid();
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	char before[NR][2048], after[2048];
	sigset_t unused;
	pthread_t th;

	test_init(argc, argv);
	test_daemon();
	tids[0] = gettid();
	/* Threads made with SIGTERM blocked: it is main's to take (test_waitsig()). */
	test_block_sigterm(&unused);
	for (long i = 1; i < NR; i++)
		if (pthread_create(&th, NULL, thread, (void *)i))
			fail("pthread_create");
	test_unblock_sigterm();
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < NR - 1)
		usleep(1000);
	for (int i = 0; i < NR; i++)
		creds_of(tids[i], before[i], sizeof(before[i]));
	if (!strstr(before[1], "Uid:\t1000\t1000\t1000\t1000") || !strstr(before[1], "Groups:\t5 6"))
		fail("the first thread did not take its ids:\n%s", before[1]);
	if (!strcmp(before[0], before[2]))
		fail("the second thread kept the main thread's capabilities");
	test_waitsig();

	for (int i = 0; i < NR; i++) {
		creds_of(tids[i], after, sizeof(after));
		if (strcmp(after, before[i]))
			fail("thread %d (%d) has other credentials:\n%s\nexpected:\n%s", i, tids[i],
			     after, before[i]);
	}
	pass();
	return 0;
}
