/*
 * A SysV attachment in parts: a segment of 8 pages attached twice; in the
 * first attachment pages 2-3 are made read-only (mprotect splits it in
 * three mappings) and pages 6-7 unmapped. Restored, the first attachment
 * has the same three parts with their protections and no tail, both see
 * the data, and a write through one shows in the other.
 */
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 8

static void check_part(char *a, int first, int last, const char *perms)
{
	struct test_vma vma;

	if (test_vma_at((unsigned long)(a + first * P), &vma))
		fail("no mapping at page %d of the attachment", first);
	if (vma.start != (unsigned long)(a + first * P) || vma.end != (unsigned long)(a + last * P) ||
	    strncmp(vma.perms, perms, 3) || vma.pgoff != first * P)
		fail("pages %d-%d are %lx-%lx %s at %lx, expected %s at %lx", first, last - 1,
		     vma.start, vma.end, vma.perms, vma.pgoff, perms, (unsigned long)first * P);
}

int main(int argc, char **argv)
{
	struct test_vma vma;
	char *a, *b;
	int id;

	test_init(argc, argv);
	test_daemon();
	id = shmget(IPC_PRIVATE, NP * P, IPC_CREAT | 0600);
	if (id < 0)
		fail("shmget: %m");
	a = shmat(id, NULL, 0);
	b = shmat(id, NULL, 0);
	if (a == (void *)-1 || b == (void *)-1)
		fail("shmat: %m");
	datagen(a, NP * P, 1);
	if (mprotect(a + 2 * P, 2 * P, PROT_READ) || munmap(a + 6 * P, 2 * P))
		fail("mprotect, munmap: %m");
	test_waitsig();

	check_part(a, 0, 2, "rw-");
	check_part(a, 2, 4, "r--");
	check_part(a, 4, 6, "rw-");
	if (!test_vma_at((unsigned long)(a + 6 * P), &vma) && vma.start < (unsigned long)(a + 8 * P) &&
	    strstr(vma.name, "SYSV"))
		fail("the unmapped end of the attachment is mapped again");
	CHECK_DATA(a, 6 * P, 1);
	CHECK_DATA(b, NP * P, 1);
	CHECK(test_faults(a + 2 * P, 1));
	a[5 * P] = ~b[5 * P];
	CHECK_EQ(b[5 * P], a[5 * P]);
	a[5 * P] = ~a[5 * P];
	if (shmdt(a) || shmdt(b) || shmctl(id, IPC_RMID, NULL))
		fail("shmdt, IPC_RMID: %m");
	pass();
	return 0;
}
