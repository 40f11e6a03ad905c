/*
 * Mappings of deleted files. File F (16 pages) is open as an fd, mapped
 * private read-write (some pages written: COWed), private read-only and
 * shared, then unlinked. File G (8 pages) is only mapped, privately, its fd
 * closed. After restore every mapping shows its file "(deleted)" with its
 * data, COWed pages included; F's fd and mappings are still one file (a
 * write through the fd shows in the shared mapping and in pages the private
 * one did not COW; a write through the shared mapping reaches the fd).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define FNP 16
#define GNP 8

static int cowed(int pg)
{
	return pg == 2 || pg == 5 || pg == 6;
}

static char *map(int fd, size_t len, int prot, int flags, off_t off)
{
	char *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

static int make_file(const char *name, char *path, size_t size, int np, uint64_t seed)
{
	char buf[P];
	int fd;

	test_path(path, size, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		fail("%s: %m", path);
	for (int pg = 0; pg < np; pg++) {
		datagen(buf, P, seed + pg);
		if (pwrite(fd, buf, P, pg * P) != P)
			fail("pwrite: %m");
	}
	return fd;
}

static void check_deleted(char *p, const char *path, char perm)
{
	struct test_vma vma;
	char want[PATH_MAX + 16];

	snprintf(want, sizeof(want), "%s (deleted)", path);
	if (test_vma_at((unsigned long)p, &vma))
		fail("no mapping at %p", (void *)p);
	if (strcmp(vma.name, want) || vma.perms[3] != perm)
		fail("mapping at %p is %s %s, expected %c %s", (void *)p, vma.perms, vma.name,
		     perm, want);
}

/* The mapping at @p is of the same file as @fd (map_files names whole mappings). */
static void check_same(char *p, int fd)
{
	struct test_vma vma;
	struct stat a, b;
	char link[64];

	if (test_vma_at((unsigned long)p, &vma))
		fail("no mapping at %p", (void *)p);
	snprintf(link, sizeof(link), "/proc/self/map_files/%lx-%lx", vma.start, vma.end);
	if (fstat(fd, &a) || stat(link, &b))
		fail("stat %s: %m", link);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		fail("the mapping at %p and the fd are no longer one file", (void *)p);
}

int main(int argc, char **argv)
{
	char fpath[PATH_MAX], gpath[PATH_MAX], *priv, *ro, *sh, *g, buf[P];
	int fd, gfd, pg;

	test_init(argc, argv);
	fd = make_file("F", fpath, sizeof(fpath), FNP, 100);
	gfd = make_file("G", gpath, sizeof(gpath), GNP, 200);
	priv = map(fd, FNP * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	ro = map(fd, 8 * P, PROT_READ, MAP_PRIVATE, 8 * P);
	sh = map(fd, FNP * P, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	g = map(gfd, GNP * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	for (pg = 0; pg < FNP; pg++)
		if (cowed(pg))
			datagen(priv + pg * P, P, 300 + pg);
	datagen(g + 3 * P, P, 400);
	if (unlink(fpath) || unlink(gpath) || lseek(fd, 777, SEEK_SET) != 777)
		fail("unlink: %m");
	close(gfd);

	test_daemon();
	test_waitsig();

	check_deleted(priv, fpath, 'p');
	check_deleted(ro, fpath, 'p');
	check_deleted(sh, fpath, 's');
	check_deleted(g, gpath, 'p');
	check_same(priv, fd);
	check_same(sh, fd);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 777);
	for (pg = 0; pg < FNP; pg++) {
		CHECK_DATA(priv + pg * P, P, cowed(pg) ? 300 + pg : 100 + pg);
		CHECK_DATA(sh + pg * P, P, 100 + pg);
		if (pg >= 8)
			CHECK_DATA(ro + (pg - 8) * P, P, 100 + pg);
	}
	for (pg = 0; pg < GNP; pg++)
		CHECK_DATA(g + pg * P, P, pg == 3 ? 400 : 200 + pg);
	CHECK(test_faults(ro, 1));

	/* One file: the fd, the shared mapping and the untouched private pages. */
	if (pwrite(fd, "fd!", 3, 3 * P) != 3)
		fail("pwrite: %m");
	CHECK(!memcmp(sh + 3 * P, "fd!", 3));
	CHECK(!memcmp(priv + 3 * P, "fd!", 3));
	CHECK_DATA(priv + 2 * P, P, 302);
	memcpy(sh + 9 * P, "sh!", 3);
	if (pread(fd, buf, 3, 9 * P) != 3)
		fail("pread: %m");
	CHECK(!memcmp(buf, "sh!", 3));
	CHECK(!memcmp(ro + P, "sh!", 3));
	pass();
	return 0;
}
