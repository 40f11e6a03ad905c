/*
 * SysV shared memory: a segment attached twice (one read-only) and a
 * segment the process created but keeps detached keep their id, key, mode,
 * size and data; a segment marked for removal stays attached and removed.
 * The detached one is made by the daemon itself: snap takes the segments a
 * task of the tree created or last attached.
 */
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE

static int seg(key_t key, size_t size, int mode)
{
	int id = shmget(key, size, IPC_CREAT | IPC_EXCL | mode);

	if (id < 0)
		fail("shmget %#x: %m", key);
	return id;
}

static void check_seg(int id, key_t key, size_t size, int mode, int nattch)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds))
		fail("segment %d is gone: %m", id);
	CHECK_EQ(ds.shm_perm.__key, key);
	CHECK_EQ(ds.shm_segsz, size);
	CHECK_EQ(ds.shm_perm.mode & 01777, mode);
	CHECK_EQ(ds.shm_nattch, nattch);
}

int main(int argc, char **argv)
{
	key_t key = 0x5a000000 | (getpid() & 0xffffff);
	int id, idle, gone;
	char *a, *ro, *g, *p;

	test_init(argc, argv);
	id = seg(key, 24 * P, 0600);
	gone = seg(IPC_PRIVATE, 2 * P, 0600);
	a = shmat(id, NULL, 0);
	ro = shmat(id, NULL, SHM_RDONLY);
	g = shmat(gone, NULL, 0);
	if (a == (void *)-1 || ro == (void *)-1 || g == (void *)-1)
		fail("shmat: %m");
	datagen(a, 4 * P, 1);
	datagen(a + 20 * P, 4 * P, 2);
	datagen(g, 2 * P, 4);
	if (shmctl(gone, IPC_RMID, NULL))
		fail("IPC_RMID: %m");

	test_daemon();
	idle = seg(key + 1, 3 * P + 10, 0640);
	p = shmat(idle, NULL, 0);
	if (p == (void *)-1)
		fail("shmat: %m");
	datagen(p, 3 * P + 10, 3);
	if (shmdt(p))
		fail("shmdt: %m");
	test_waitsig();

	check_seg(id, key, 24 * P, 0600, 2);
	check_seg(idle, key + 1, 3 * P + 10, 0640, 0);
	check_seg(gone, IPC_PRIVATE, 2 * P, 0600 | SHM_DEST, 1);
	CHECK_DATA(a, 4 * P, 1);
	CHECK_DATA(ro + 20 * P, 4 * P, 2);
	CHECK(zerochk(a + 4 * P, 16 * P) < 0);
	CHECK(test_faults(ro, 1));
	CHECK_DATA(g, 2 * P, 4);
	a[5 * P] = 9;
	CHECK_EQ(ro[5 * P], 9);
	p = shmat(idle, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		fail("shmat idle: %m");
	CHECK_DATA(p, 3 * P + 10, 3);
	if (shmdt(p) || shmdt(a) || shmdt(ro) || shmdt(g))
		fail("shmdt after restore: %m");
	shmctl(id, IPC_RMID, NULL);
	shmctl(idle, IPC_RMID, NULL);
	pass();
	return 0;
}
