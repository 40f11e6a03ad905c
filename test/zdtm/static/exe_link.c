/* /proc/self/exe still names the test binary, which is also what is mapped as the executable. */
#include <limits.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	char before[PATH_MAX], after[PATH_MAX];
	struct stat st_before, st_after;
	struct test_vma vma;
	ssize_t n;

	test_init(argc, argv);
	n = readlink("/proc/self/exe", before, sizeof(before) - 1);
	if (n < 0)
		fail("readlink /proc/self/exe: %m");
	before[n] = '\0';
	if (stat("/proc/self/exe", &st_before))
		fail("stat /proc/self/exe: %m");

	test_daemon();
	test_waitsig();

	n = readlink("/proc/self/exe", after, sizeof(after) - 1);
	if (n < 0)
		fail("readlink /proc/self/exe: %m");
	after[n] = '\0';
	if (strcmp(before, after))
		fail("/proc/self/exe is %s, expected %s", after, before);
	if (stat("/proc/self/exe", &st_after))
		fail("stat /proc/self/exe: %m");
	if (st_after.st_ino != st_before.st_ino || st_after.st_dev != st_before.st_dev)
		fail("/proc/self/exe is another inode");
	/* The program headers are mapped from that same file. */
	if (test_vma_at(getauxval(AT_PHDR), &vma))
		fail("AT_PHDR %#lx is not mapped", getauxval(AT_PHDR));
	if (strcmp(vma.name, before))
		fail("the program headers are mapped from \"%s\", not %s", vma.name, before);
	pass();
	return 0;
}
