/*
 * For bad/dump_fanotify_mntns: a fanotify mark on a mount namespace
 * (FAN_MARK_MNTNS, Linux 6.14), which snap does not save: the dump must
 * refuse it. Passes if the mark is still there after SIGTERM.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef FAN_REPORT_MNT
#define FAN_REPORT_MNT 0x00004000
#endif
#ifndef FAN_MARK_MNTNS
#define FAN_MARK_MNTNS 0x00000110
#endif
#ifndef FAN_MNT_ATTACH
#define FAN_MNT_ATTACH 0x01000000
#endif

int main(int argc, char **argv)
{
	char path[64], line[256];
	int fd, ns, found = 0;
	FILE *f;

	test_init(argc, argv);
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_MNT, 0);
	ns = open("/proc/self/ns/mnt", O_RDONLY);
	if (fd < 0 || ns < 0 ||
	    fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MNTNS, FAN_MNT_ATTACH, ns, NULL))
		skip("no fanotify marks on mount namespaces here: %m");
	close(ns);
	test_daemon();
	test_waitsig();

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	while (fgets(line, sizeof(line), f))
		found += !strncmp(line, "fanotify mnt_ns:", 16);
	fclose(f);
	if (found != 1)
		fail("%d mount namespace marks, expected 1", found);
	pass();
	return 0;
}
