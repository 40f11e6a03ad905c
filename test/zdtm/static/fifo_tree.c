/*
 * A FIFO on a tmpfs of the test's own mount namespace in the ns flavour
 * (/dev/shm, which the flavour's root mounts for itself; the host's
 * otherwise): a reader and a writer end, bytes queued. After restore the
 * ends are the FIFO at that path (same inode as the path shows), the bytes
 * come back, and what the writer writes the reader reads.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	char path[64], buf[32];
	struct stat ps, rs, ws;
	int r, w;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "/dev/shm/zdtm-fifo-tree-%d", getpid());
	unlink(path);
	if (mkfifo(path, 0600))
		skip("mkfifo %s: %m", path);
	r = open(path, O_RDONLY | O_NONBLOCK);
	w = open(path, O_WRONLY);
	if (r < 0 || w < 0 || write(w, "fifo-bytes", 10) != 10)
		fail("fifo %s: %m", path);

	test_daemon();
	test_waitsig();

	if (stat(path, &ps) || fstat(r, &rs) || fstat(w, &ws))
		fail("stat: %m");
	if (rs.st_ino != ps.st_ino || ws.st_ino != ps.st_ino || rs.st_dev != ps.st_dev)
		fail("the ends are not the fifo at %s (inodes %lu %lu, path %lu)", path,
		     (unsigned long)rs.st_ino, (unsigned long)ws.st_ino, (unsigned long)ps.st_ino);
	if (read(r, buf, sizeof(buf)) != 10 || memcmp(buf, "fifo-bytes", 10))
		fail("the queued bytes did not come back (%m)");
	if (write(w, "more", 4) != 4 || read(r, buf, sizeof(buf)) != 4 || memcmp(buf, "more", 4))
		fail("the ends are not one fifo (%m)");
	unlink(path);
	pass();
	return 0;
}
