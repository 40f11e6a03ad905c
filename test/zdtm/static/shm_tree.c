/*
 * Shared memory between a parent and its child: a MAP_SHARED|MAP_ANONYMOUS
 * area, a memfd, a SysV segment and a /dev/shm file, each mapped by both
 * (inherited over fork; the /dev/shm file stays until the end). The child also keeps writing a ring into the
 * shared anonymous area as fast as it can - during a live dump too: page
 * s % N gets sequence number s, and before overwriting it the child checks it
 * still holds s - N. A write made after the freeze that reached the image,
 * or one lost, breaks that chain once the restored child goes on.
 * After SIGTERM the child stops, checks the other objects' data and writes a
 * marker into each; the parent checks it sees the markers: one object again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RING_PAGES 1024
#define OBJ_SIZE (16 * PAGE_SIZE)
#define WORDS (PAGE_SIZE / sizeof(uint64_t))

enum { ANON, MEMFD, SYSV, POSIX, NR };

static volatile uint64_t *ring;
static char *obj[NR];
static const char *names[NR] = { "anon", "memfd", "sysv", "posix" };
static char shm_path[64];

static void make_objects(void)
{
	int fd, id;

	obj[ANON] = mmap(NULL, OBJ_SIZE + RING_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = memfd_create("shm_tree", 0);
	if (obj[ANON] == MAP_FAILED || fd < 0 || ftruncate(fd, OBJ_SIZE))
		fail("anon/memfd: %m");
	obj[MEMFD] = mmap(NULL, OBJ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	id = shmget(IPC_PRIVATE, OBJ_SIZE, IPC_CREAT | 0600);
	if (id < 0)
		fail("shmget: %m");
	obj[SYSV] = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);	/* gone once both detach */
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/snap-zdtm-shm_tree-%d", getpid());
	fd = open(shm_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, OBJ_SIZE))
		fail("%s: %m", shm_path);
	obj[POSIX] = mmap(NULL, OBJ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (obj[MEMFD] == MAP_FAILED || obj[SYSV] == (void *)-1 || obj[POSIX] == MAP_FAILED)
		fail("mmap: %m");
	for (int i = 0; i < NR; i++)
		datagen(obj[i], OBJ_SIZE, i + 1);
	ring = (volatile uint64_t *)(obj[ANON] + OBJ_SIZE);
	for (uint64_t k = 0; k < RING_PAGES; k++)
		ring[k * WORDS] = k - RING_PAGES;	/* as if written one lap ago */
}

/* The child: the ring until SIGTERM, then the checks and the markers. */
static void __attribute__((noreturn)) writer(void)
{
	uint64_t s = 0;

	while (!test_sigterm) {
		volatile uint64_t *p = ring + (s % RING_PAGES) * WORDS;

		if (p[0] != s - RING_PAGES)
			_exit(10);
		p[0] = s++;
	}
	for (int i = 0; i < NR; i++) {
		if (datachk(obj[i], OBJ_SIZE, i + 1) >= 0)
			_exit(20 + i);
		obj[i][0] = 'C';
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int status;
	pid_t child;

	test_init(argc, argv);
	make_objects();
	test_daemon();
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (child == 0)
		writer();
	test_waitsig();

	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		fail("the child: status %#x", status);
	if (WEXITSTATUS(status) == 10)
		fail("the child's ring broke: a page of shared memory is not as it wrote it");
	if (WEXITSTATUS(status) >= 20)
		fail("the child sees wrong data in the %s object", names[WEXITSTATUS(status) - 20]);
	for (int i = 0; i < NR; i++)
		if (obj[i][0] != 'C')
			fail("the child's write to the %s object does not show here: not shared",
			     names[i]);
	unlink(shm_path);
	pass();
	return 0;
}
