/* The working directory survives: getcwd() and relative paths resolve to the same directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MARKER "cwd marker\n"

int main(int argc, char **argv)
{
	char dir[PATH_MAX], sub[PATH_MAX + 16], cwd[PATH_MAX], buf[64];
	struct stat before, after;
	int fd;

	test_init(argc, argv);
	test_path(dir, sizeof(dir), "cwd.d");
	snprintf(sub, sizeof(sub), "%s/sub dir", dir);
	if ((mkdir(dir, 0755) && errno != EEXIST) || (mkdir(sub, 0755) && errno != EEXIST))
		fail("mkdir %s: %m", sub);
	if (chdir(sub))
		fail("chdir %s: %m", sub);
	fd = open("marker", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || write(fd, MARKER, strlen(MARKER)) != (ssize_t)strlen(MARKER))
		fail("marker: %m");
	close(fd);
	if (stat(".", &before))
		fail("stat .: %m");

	test_daemon();
	test_waitsig();

	if (!getcwd(cwd, sizeof(cwd)))
		fail("getcwd: %m");
	if (strcmp(cwd, sub))
		fail("cwd is \"%s\", expected \"%s\"", cwd, sub);
	if (stat(".", &after))
		fail("stat .: %m");
	if (after.st_dev != before.st_dev || after.st_ino != before.st_ino)
		fail("\".\" is another directory");
	fd = open("marker", O_RDONLY);
	if (fd < 0)
		fail("open marker relative to the cwd: %m");
	memset(buf, 0, sizeof(buf));
	if (read(fd, buf, sizeof(buf) - 1) < 0 || strcmp(buf, MARKER))
		fail("marker reads \"%s\"", buf);
	close(fd);
	pass();
	return 0;
}
