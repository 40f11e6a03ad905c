/* Threads: threads come and go during the dump; the seize takes those there and lets all go. */
/*
 * Two threads keep creating short-lived threads, which exit at once, so
 * that threads appear and die while snap seizes the process. The dump must
 * not stumble on a thread that died between the listing and its seize, must
 * leave none stopped, and the process (original with --leave-running, or
 * restored) must go on making threads: after SIGTERM both spawners must
 * have made more within seconds.
 */
#include <pthread.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SPAWNERS 2
#define TIMEOUT_S 5

static volatile uint64_t made[SPAWNERS];
static volatile int stop;

static void *brief(void *arg)
{
	return arg;
}

static void *spawner(void *arg)
{
	volatile uint64_t *count = arg;
	pthread_attr_t attr;
	pthread_t th;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	while (!stop) {
		if (pthread_create(&th, &attr, brief, NULL))
			usleep(1000); /* out of something for a moment: try again */
		else
			(*count)++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[SPAWNERS];
	uint64_t before[SPAWNERS];
	sigset_t m;

	test_init(argc, argv);
	test_daemon();

	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	for (int i = 0; i < SPAWNERS; i++)
		if (pthread_create(&th[i], NULL, spawner, (void *)&made[i]))
			fail("pthread_create");
	pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	for (int i = 0; i < SPAWNERS; i++)
		while (made[i] < 100)
			usleep(1000);
	test_waitsig();

	for (int i = 0; i < SPAWNERS; i++)
		before[i] = made[i];
	for (int i = 0; i < SPAWNERS; i++)
		for (int ms = 0; made[i] < before[i] + 100; ms++) {
			if (ms > TIMEOUT_S * 1000)
				fail("spawner %d is stuck at %llu threads", i,
				     (unsigned long long)made[i]);
			usleep(1000);
		}
	stop = 1;
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(th[i], NULL);
	test_msg("%llu + %llu threads made\n", (unsigned long long)made[0],
		 (unsigned long long)made[1]);
	pass();
	return 0;
}
