/*
 * A thread whose credentials differ from the main thread's: it changed its
 * effective uid with a raw syscall (glibc's seteuid() would change every
 * thread). Not dumpable today: bad/dump_thread_creds expects the dump to be
 * refused and this process to run on, and to pass when asked.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile int stop, changed;

static void *thread(void *arg)
{
	(void)arg;
	if (syscall(SYS_setresuid, -1, 1000, -1))
		return (void *)1;
	changed = 1;
	while (!stop)
		usleep(1000);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	sigset_t unused;
	void *ret;

	test_init(argc, argv);
	test_daemon();
	/* Threads made with SIGTERM blocked: it is main's to take (test_waitsig()). */
	test_block_sigterm(&unused);
	if (pthread_create(&th, NULL, thread, NULL))
		fail("pthread_create: %m");
	test_unblock_sigterm();
	while (!changed)
		usleep(1000);
	test_waitsig();
	stop = 1;
	pthread_join(th, &ret);
	if (ret)
		fail("the thread could not change its uid");
	CHECK_EQ(geteuid(), 0);
	pass();
	return 0;
}
