/*
 * A file open under a name since unlinked, with another hard link left
 * (dumped with --link-remap): restored, the fd reads "OLD (deleted)" again,
 * is the same file as the other link (a write through either shows in the
 * other), keeps its offset and flags, and the link the dump made is gone
 * (the file has one link) once restored.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DATA "link remap data\n"

/* Entries of @dir whose name starts with ".snap-link-remap". */
static int remaps_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		fail("opendir %s: %m", dir);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, ".snap-link-remap", 16);
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], old[PATH_MAX + 8], other[PATH_MAX + 8], fdlink[64];
	char got[PATH_MAX], want[PATH_MAX + 32], buf[64];
	struct stat st, ost;
	ssize_t n;
	int fd, ofd;

	test_init(argc, argv);
	test_daemon();
	test_path(dir, sizeof(dir), "link_remap.d");
	snprintf(old, sizeof(old), "%s/old", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail("mkdir %s: %m", dir);
	fd = open(old, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0640);
	if (fd < 0 || write(fd, DATA, strlen(DATA)) != (ssize_t)strlen(DATA) ||
	    lseek(fd, 5, SEEK_SET) != 5)
		fail("writing %s: %m", old);
	if (link(old, other) || unlink(old))
		fail("link, unlink: %m");
	test_waitsig();

	snprintf(fdlink, sizeof(fdlink), "/proc/self/fd/%d", fd);
	n = readlink(fdlink, got, sizeof(got) - 1);
	if (n < 0)
		fail("readlink: %m");
	got[n] = '\0';
	snprintf(want, sizeof(want), "%s (deleted)", old);
	if (strcmp(got, want))
		fail("the fd reads \"%s\", expected \"%s\"", got, want);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
	CHECK(fcntl(fd, F_GETFL) & O_APPEND);
	ofd = open(other, O_RDWR);
	if (ofd < 0 || fstat(fd, &st) || fstat(ofd, &ost))
		fail("the other link: %m");
	if (st.st_dev != ost.st_dev || st.st_ino != ost.st_ino)
		fail("the fd is not the file of the other link");
	/* The dump's link is there until the restore, gone after it. */
	CHECK_EQ(st.st_nlink, test_restored() ? 1 : 2);
	CHECK_EQ(remaps_in(dir), test_restored() ? 0 : 1);
	if (write(fd, "more\n", 5) != 5 || pread(ofd, buf, sizeof(buf), 0) < 0)
		fail("write through the fd, read through the other link: %m");
	if (strncmp(buf, DATA "more\n", strlen(DATA) + 5))
		fail("the other link reads \"%.*s\"", (int)(strlen(DATA) + 5), buf);
	pass();
	return 0;
}
