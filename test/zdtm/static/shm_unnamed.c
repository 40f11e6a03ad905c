/*
 * Mappings of shared memory objects that no name or fd reaches any more:
 *   ms, mp   a memfd mapped shared and private (some pages COWed), its fd
 *            closed: "/memfd:NAME (deleted)";
 *   a, ap    shared anonymous memory and a private mapping of it made
 *            through /proc/self/map_files (both "/dev/zero (deleted)");
 *   lp       the same for an object whose shared mapping is gone: only the
 *            private mapping keeps it;
 *   fs, fp   a /dev/shm file mapped shared and private, then unlinked.
 * After restore each keeps its data (COWed pages their own), its name and
 * its sharing: a write to an object shows in the pages of its private
 * mappings that were not COWed, and not the other way round.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 8
#define COW 2		/* the page each private mapping writes */

static char *map(int fd, int flags)
{
	char *p = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

/* A private mapping of the object that @shared maps, through map_files. */
static char *map_private_of(char *shared)
{
	char path[96];
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)shared,
		 (unsigned long)shared + NP * P);
	fd = open(path, O_RDWR);
	if (fd < 0)
		fail("open %s: %m", path);
	p = map(fd, MAP_PRIVATE);
	close(fd);
	return p;
}

static void check_name(const char *what, char *p, const char *name, char perm)
{
	struct test_vma vma;

	if (test_vma_at((unsigned long)p, &vma))
		fail("%s: no mapping at %p", what, (void *)p);
	if (strcmp(vma.name, name) || vma.perms[3] != perm)
		fail("%s mapping at %p is %s %s, expected %c %s", what, (void *)p, vma.perms,
		     vma.name, perm, name);
}

/* @priv, a private mapping of @seed's data with page COW written with @seed + 50. */
static void check_private(const char *what, char *priv, uint64_t seed)
{
	for (int pg = 0; pg < NP; pg++)
		if (datachk(priv + pg * P, P, pg == COW ? seed + 50 : seed + pg) >= 0)
			fail("%s mapping: page %d differs", what, pg);
}

static void fill(char *p, uint64_t seed)
{
	for (int pg = 0; pg < NP; pg++)
		datagen(p + pg * P, P, seed + pg);
}

/* A write to the object shows in private page 5, not COWed; private writes stay private. */
static void check_shared(const char *what, char *obj, char *priv)
{
	obj[5 * P] = 0x5a;
	obj[COW * P] = 0x33;
	priv[6 * P] = 0x44;
	if (priv[5 * P] != 0x5a || priv[COW * P] == 0x33 || obj[6 * P] == 0x44)
		fail("%s: the private mapping and its object are no longer one object", what);
}

int main(int argc, char **argv)
{
	char *ms, *mp, *a, *ap, *lp, *fs, *fp, *gone, shm[64];
	int fd;

	test_init(argc, argv);
	fd = memfd_create("closed", 0);
	if (fd < 0 || ftruncate(fd, NP * P))
		fail("memfd: %m");
	ms = map(fd, MAP_SHARED);
	fill(ms, 10);
	mp = map(fd, MAP_PRIVATE);
	datagen(mp + COW * P, P, 60);
	close(fd);

	a = map(-1, MAP_SHARED | MAP_ANONYMOUS);
	fill(a, 20);
	ap = map_private_of(a);
	datagen(ap + COW * P, P, 70);

	gone = map(-1, MAP_SHARED | MAP_ANONYMOUS);
	fill(gone, 30);
	lp = map_private_of(gone);
	datagen(lp + COW * P, P, 80);
	munmap(gone, NP * P);

	snprintf(shm, sizeof(shm), "/snap-unnamed-%d", getpid());
	fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, NP * P))
		fail("shm_open: %m");
	fs = map(fd, MAP_SHARED);
	fill(fs, 40);
	fp = map(fd, MAP_PRIVATE);
	datagen(fp + COW * P, P, 90);
	close(fd);
	if (shm_unlink(shm))
		fail("shm_unlink: %m");
	snprintf(shm, sizeof(shm), "/dev/shm/snap-unnamed-%d (deleted)", getpid());

	test_daemon();
	test_waitsig();

	check_name("memfd shared", ms, "/memfd:closed (deleted)", 's');
	check_name("memfd private", mp, "/memfd:closed (deleted)", 'p');
	check_name("shared anon", a, "/dev/zero (deleted)", 's');
	check_name("private of shared anon", ap, "/dev/zero (deleted)", 'p');
	check_name("lone private of shared anon", lp, "/dev/zero (deleted)", 'p');
	check_name("/dev/shm shared", fs, shm, 's');
	check_name("/dev/shm private", fp, shm, 'p');
	for (int pg = 0; pg < NP; pg++) {
		CHECK_DATA(ms + pg * P, P, 10 + pg);
		CHECK_DATA(a + pg * P, P, 20 + pg);
		CHECK_DATA(fs + pg * P, P, 40 + pg);
	}
	check_private("memfd private", mp, 10);
	check_private("private of shared anon", ap, 20);
	check_private("lone private of shared anon", lp, 30);
	check_private("/dev/shm private", fp, 40);
	check_shared("memfd", ms, mp);
	check_shared("shared anon", a, ap);
	check_shared("/dev/shm file", fs, fp);
	pass();
	return 0;
}
