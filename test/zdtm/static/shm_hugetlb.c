/*
 * Shared memory in 2 MiB huge pages comes back in huge pages, with its data
 * and its holes:
 *  - shared anonymous hugetlb memory (four huge pages: the first and third
 *    written, the second written with zeros only, the fourth never
 *    touched), shared with a child that writes into it after the restore;
 *  - an MFD_HUGETLB memfd (two huge pages, the second written), mapped and
 *    kept open at an offset;
 *  - an SHM_HUGETLB SysV segment of a huge page and three 4 KiB pages (two
 *    huge pages in the kernel), all written, attached.
 * The image holds only the pages with data (max_image_pages): a hole, or a
 * huge page of zeros, costs nothing in it. run.py reserves the huge pages.
 */
#include <errno.h>
#include <linux/magic.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define HP (2UL << 20)
#define SEG (HP + 3 * PAGE_SIZE)
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif

static void no_pages(const char *what)
{
	if (errno == ENOMEM)
		skip("no free 2 MiB huge pages for %s: reserve some in "
		     "/proc/sys/vm/nr_hugepages (run.py does)",
		     what);
	fail("%s: %m", what);
}

static void check_huge(const char *what, const void *p)
{
	long kb = test_smaps_kb((unsigned long)p, "KernelPageSize");

	if (kb != HP >> 10 || !test_vmflag((unsigned long)p, "ht"))
		fail("%s is not in 2 MiB huge pages (KernelPageSize %ld kB)", what, kb);
}

/* The child: after the restore, writes through its own mapping of @anon. */
static void child(char *anon, int go)
{
	char c;

	if (read(go, &c, 1) != 1)
		_exit(1);
	anon[3 * HP + 5] = 0x77;
	_exit(anon[0] == c ? 0 : 2);
}

int main(int argc, char **argv)
{
	char *anon, *mfd_map, *seg, *again;
	int mfd, id, go[2], status;
	struct shmid_ds ds;
	struct statfs sf;
	pid_t pid;

	test_init(argc, argv);
	test_daemon();
	anon = mmap(NULL, 4 * HP, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	if (anon == MAP_FAILED)
		no_pages("shared anonymous hugetlb memory");
	datagen(anon, HP, 1);
	anon[HP + 100] = 0;
	datagen(anon + 2 * HP, HP, 2);

	mfd = memfd_create("huge-memfd", MFD_HUGETLB);
	if (mfd < 0 || ftruncate(mfd, 2 * HP))
		fail("memfd_create(MFD_HUGETLB): %m");
	mfd_map = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mfd_map == MAP_FAILED)
		no_pages("the hugetlb memfd");
	datagen(mfd_map + HP, HP, 3);
	if (lseek(mfd, 12345, SEEK_SET) != 12345)
		fail("lseek: %m");

	id = shmget(IPC_PRIVATE, SEG, IPC_CREAT | 0600 | SHM_HUGETLB);
	if (id < 0)
		no_pages("an SHM_HUGETLB segment");
	seg = shmat(id, NULL, 0);
	if (seg == (void *)-1)
		fail("shmat: %m");
	datagen(seg, SEG, 4);

	if (pipe(go))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (!pid)
		child(anon, go[0]);
	test_waitsig();

	check_huge("the shared anonymous mapping", anon);
	check_huge("the memfd's mapping", mfd_map);
	check_huge("the SysV segment", seg);
	CHECK_DATA(anon, HP, 1);
	CHECK(zerochk(anon + HP, HP) < 0);
	CHECK_DATA(anon + 2 * HP, HP, 2);
	CHECK(zerochk(anon + 3 * HP, HP) < 0);

	if (fstatfs(mfd, &sf))
		fail("fstatfs memfd: %m");
	CHECK_EQ(sf.f_type, HUGETLBFS_MAGIC);
	CHECK_EQ(sf.f_bsize, HP);
	CHECK_EQ(lseek(mfd, 0, SEEK_CUR), 12345);
	CHECK_DATA(mfd_map + HP, HP, 3);
	again = mmap(NULL, 2 * HP, PROT_READ, MAP_SHARED, mfd, 0);
	if (again == MAP_FAILED)
		fail("mapping the memfd again: %m");
	CHECK_DATA(again + HP, HP, 3);
	CHECK(zerochk(again, HP) < 0);

	if (shmctl(id, IPC_STAT, &ds))
		fail("IPC_STAT: %m");
	CHECK_EQ(ds.shm_segsz, SEG);
	CHECK_DATA(seg, SEG, 4);
	CHECK(zerochk(seg + SEG, HP - 3 * PAGE_SIZE) < 0);

	/* Still one object with the child: its write shows here. */
	if (write(go[1], anon, 1) != 1 || waitpid(pid, &status, 0) != pid)
		fail("the child: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child ended with status %#x", status);
	CHECK_EQ(anon[3 * HP + 5], 0x77);
	if (shmdt(seg) || shmctl(id, IPC_RMID, NULL))
		fail("removing the segment: %m");
	pass();
	return 0;
}
