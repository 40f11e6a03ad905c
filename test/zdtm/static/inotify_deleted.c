/*
 * For bad/dump_inotify_deleted: an inotify watch on a file deleted while
 * open (the open fd keeps the watch), which no path reaches: the dump must
 * refuse it. Passes if the watch is still there after SIGTERM (a refused
 * dump left the process as it was).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	char path[4096], line[512];
	int fd, in, wd, found = 0;
	FILE *f;

	test_init(argc, argv);
	test_daemon();
	test_path(path, sizeof(path), "gone");
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	in = inotify_init1(0);
	if (fd < 0 || in < 0)
		fail("open: %m");
	wd = inotify_add_watch(in, path, IN_MODIFY);
	if (wd < 0 || unlink(path))
		fail("watch: %m");
	test_waitsig();

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", in);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	while (fgets(line, sizeof(line), f))
		found += !strncmp(line, "inotify wd:", 11);
	fclose(f);
	if (found != 1)
		fail("%d watches, expected 1", found);
	close(fd);
	pass();
	return 0;
}
