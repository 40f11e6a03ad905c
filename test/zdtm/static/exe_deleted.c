/*
 * A process whose executable was deleted (a binary replaced under a running
 * program): the test copies itself, runs the copy and deletes it. After
 * restore /proc/self/exe reads "PATH (deleted)" again and is the file the
 * text is mapped from, with no links, and the program runs on.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define ENV "ZDTM_EXE_DELETED"

static void copy_self(const char *path)
{
	char buf[65536];
	int in = open("/proc/self/exe", O_RDONLY), out;
	ssize_t n;

	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || out < 0)
		fail("copying the test binary to %s: %m", path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			fail("write %s: %m", path);
	if (n < 0 || close(out))
		fail("copying the test binary: %m");
	close(in);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], want[PATH_MAX + 16], link[PATH_MAX + 16], map[64];
	struct test_vma vma;
	struct stat exe, text;
	char *args[argc + 1];
	ssize_t n;

	/* test_init() takes its options out of argv; the copy needs them too. */
	memcpy(args, argv, (argc + 1) * sizeof(*args));
	test_init(argc, argv);
	if (!getenv(ENV)) {
		test_path(path, sizeof(path), "exe");
		copy_self(path);
		setenv(ENV, path, 1);
		execv(path, args);
		fail("execv %s: %m", path);
	}
	snprintf(path, sizeof(path), "%s", getenv(ENV));
	if (unlink(path))
		fail("unlink %s: %m", path);
	snprintf(want, sizeof(want), "%s (deleted)", path);

	test_daemon();
	test_waitsig();

	n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink /proc/self/exe: %m");
	link[n] = '\0';
	if (strcmp(link, want))
		fail("/proc/self/exe is %s, expected %s", link, want);
	if (test_vma_at((unsigned long)main, &vma) || strcmp(vma.name, want))
		fail("the text mapping is %s, expected %s", vma.name, want);
	snprintf(map, sizeof(map), "/proc/self/map_files/%lx-%lx", vma.start, vma.end);
	if (stat("/proc/self/exe", &exe) || stat(map, &text))
		fail("stat: %m");
	if (exe.st_dev != text.st_dev || exe.st_ino != text.st_ino)
		fail("/proc/self/exe is not the file the text is mapped from");
	CHECK_EQ(exe.st_nlink, 0);
	CHECK_EQ(exe.st_mode & 07777, 0755);
	pass();
	return 0;
}
