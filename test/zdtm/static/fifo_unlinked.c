/*
 * FIFOs unlinked while open, with data queued: A's name is free at restore,
 * B's was taken by a regular file. After restore both are still unlinked
 * FIFOs ("... (deleted)", no links, their mode) with their data, each pair
 * of ends on one pipe; A shows its old name; B's name still holds the
 * regular file, untouched, and nothing is left in the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN	5000
#define TAKEN	"taken"

struct fifo {
	char path[4096];
	int r, w;
	unsigned long seed;
};

static void make(struct fifo *f, const char *name, mode_t mode, unsigned long seed)
{
	static unsigned char data[LEN];

	test_path(f->path, sizeof(f->path), name);
	unlink(f->path);
	if (mkfifo(f->path, 0600) || chmod(f->path, mode))
		fail("mkfifo %s: %m", f->path);
	f->r = open(f->path, O_RDONLY | O_NONBLOCK);
	f->w = open(f->path, O_WRONLY);
	if (f->r < 0 || f->w < 0)
		fail("open %s: %m", f->path);
	f->seed = seed;
	datagen(data, LEN, seed);
	if (write(f->w, data, LEN) != LEN)
		fail("write: %m");
	if (unlink(f->path))
		fail("unlink %s: %m", f->path);
}

static void check(struct fifo *f, mode_t mode, int same_name)
{
	static unsigned char data[LEN + 1];
	char link[64], target[4096 + 32], want[4096 + 32];
	struct stat r, w;
	ssize_t n;

	if (fstat(f->r, &r) || fstat(f->w, &w))
		fail("fstat: %m");
	if (!S_ISFIFO(r.st_mode) || r.st_nlink || r.st_ino != w.st_ino)
		fail("%s: not one unlinked fifo (mode %o, %lu links)", f->path, r.st_mode,
		     (unsigned long)r.st_nlink);
	CHECK_EQ(r.st_mode & 07777, mode);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", f->r);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		fail("readlink: %m");
	target[n] = '\0';
	snprintf(want, sizeof(want), "%s (deleted)", f->path);
	if (same_name ? strcmp(target, want) : !strstr(target, " (deleted)"))
		fail("fd %d reads %s, expected %s", f->r, target,
		     same_name ? want : "a deleted file");
	n = read(f->r, data, LEN + 1);
	if (n != LEN)
		fail("%s: read %zd bytes, expected %d", f->path, n, LEN);
	CHECK_DATA(data, LEN, f->seed);
	if (write(f->w, "x", 1) != 1 || read(f->r, data, 2) != 1 || data[0] != 'x')
		fail("%s: the ends are not one pipe", f->path);
}

int main(int argc, char **argv)
{
	char buf[16], dir[4096], *slash;
	struct fifo a, b;
	struct dirent *de;
	DIR *d;
	int fd;

	test_init(argc, argv);
	test_daemon();
	make(&a, "fifo-a", 0640, 0xa);
	make(&b, "fifo-b", 0604, 0xb);
	fd = open(b.path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, TAKEN, strlen(TAKEN)) != (ssize_t)strlen(TAKEN))
		fail("%s: %m", b.path);
	close(fd);
	test_waitsig();

	check(&a, 0640, 1);
	check(&b, 0604, 0);
	if (access(a.path, F_OK) == 0 || errno != ENOENT)
		fail("%s exists again", a.path);
	fd = open(b.path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)strlen(TAKEN) ||
	    memcmp(buf, TAKEN, strlen(TAKEN)))
		fail("%s is not the file that took the name", b.path);
	close(fd);
	snprintf(dir, sizeof(dir), "%s", b.path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	d = opendir(dir);
	if (!d)
		fail("opendir %s: %m", dir);
	while ((de = readdir(d)))
		if (strstr(de->d_name, "snap-ghost"))
			fail("%s/%s was left behind", dir, de->d_name);
	closedir(d);
	pass();
	return 0;
}
