/*
 * A fanotify group (FAN_CLASS_NOTIF, non-blocking) keeps its flags and every
 * mark, and the marks work after the restore:
 *   an inode mark on directory D: FAN_OPEN | FAN_CLOSE_WRITE of its children;
 *   an ignore mark on D/quiet: its FAN_OPEN is ignored (survives modify);
 *   a mount mark on the mount of D: FAN_CLOSE_WRITE;
 *   a filesystem mark on the filesystem of D: FAN_OPEN_EXEC.
 * fdinfo lists the same marks (inode, device, mount, masks, flags) as before
 * the dump (the mount mark on the mount of D, whatever that mount's id).
 * Opening D/file for writing gives FAN_OPEN then FAN_CLOSE_WRITE; opening
 * D/quiet gives nothing; writing a file outside D gives
 * FAN_CLOSE_WRITE through the mount mark. Other processes' events on the
 * mount are skipped. A child shares the group (forked after it was made).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAX_LINES 16

static char dir[4000], file[4096], quiet[4096], outside[4096];

/* The id of the mount @path is on, as fdinfo shows it. */
static unsigned int mount_id(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &stx) || !(stx.stx_mask & STATX_MNT_ID))
		fail("statx %s: %m", path);
	return stx.stx_mnt_id;
}

/*
 * The group's fdinfo lines that start with "fanotify", sorted. A mount
 * mark on the mount of dir reads "mnt_id:dir": a restore in a mount
 * namespace of its own makes that mount again, with an id of its own.
 */
static int read_marks(int fd, char lines[][256])
{
	char path[64], line[256];
	unsigned int id, dir_id = mount_id(dir);
	int n = 0, at;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "fanotify", 8) || n >= MAX_LINES)
			continue;
		if (sscanf(line, "fanotify mnt_id:%x%n", &id, &at) == 1 && id == dir_id)
			snprintf(lines[n++], 256, "fanotify mnt_id:dir%s", line + at);
		else
			strcpy(lines[n++], line);
	}
	fclose(f);
	qsort(lines, n, sizeof(lines[0]), (int (*)(const void *, const void *))strcmp);
	return n;
}

/*
 * Our next events (others' are skipped) must be on inode @path, their masks
 * adding up to @mask: unread events on one file may be merged.
 */
static void expect(int fd, const char *path, uint64_t mask)
{
	struct fanotify_event_metadata m;
	struct stat want, got;
	uint64_t seen = 0;
	ssize_t len;

	if (stat(path, &want))
		fail("stat %s: %m", path);
	while (seen != mask) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1)
			fail("no event %#llx on %s", (unsigned long long)(mask & ~seen), path);
		/* One event a read: the rest stay queued for the next one. */
		len = read(fd, &m, sizeof(m));
		if (len != sizeof(m))
			fail("read: %zd %m", len);
		if (m.mask & FAN_Q_OVERFLOW)
			fail("the queue overflowed");
		if (m.pid != getpid()) {
			close(m.fd);
			continue;
		}
		if (fstat(m.fd, &got))
			fail("fstat event fd: %m");
		close(m.fd);
		if (got.st_ino != want.st_ino || (m.mask & ~mask))
			fail("event %#llx on inode %lu, expected %#llx on %s (inode %lu)",
			     (unsigned long long)m.mask, (unsigned long)got.st_ino,
			     (unsigned long long)mask, path, (unsigned long)want.st_ino);
		seen |= m.mask;
	}
}

static void write_close(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, "x", 1) != 1)
		fail("write %s: %m", path);
	close(fd);
}

static void make_events(int fd)
{
	int q;

	q = open(quiet, O_RDONLY);
	if (q < 0)
		fail("open %s: %m", quiet);
	close(q);
	write_close(file);
	expect(fd, file, FAN_OPEN | FAN_CLOSE_WRITE);
	write_close(outside);
	expect(fd, outside, FAN_CLOSE_WRITE);
}

static void mark(int fd, unsigned int flags, uint64_t mask, const char *path)
{
	if (fanotify_mark(fd, FAN_MARK_ADD | flags, mask, AT_FDCWD, path))
		fail("fanotify_mark %#x %#llx %s: %m", flags, (unsigned long long)mask, path);
}

int main(int argc, char **argv)
{
	static char before[MAX_LINES][256], after[MAX_LINES][256];
	int fd, n, status;
	pid_t child;

	test_init(argc, argv);
	test_path(dir, sizeof(dir), "dir");
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(quiet, sizeof(quiet), "%s/quiet", dir);
	test_path(outside, sizeof(outside), "outside");
	if (mkdir(dir, 0700) && errno != EEXIST)
		fail("mkdir: %m");
	write_close(file);
	write_close(quiet);
	write_close(outside);

	/* O_NONBLOCK: another process's event on a FIFO must not block our read(). */
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC,
			   O_RDONLY | O_LARGEFILE | O_NONBLOCK);
	if (fd < 0)
		skip("fanotify_init: %m");
	mark(fd, 0, FAN_OPEN | FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, dir);
	mark(fd, FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_OPEN, quiet);
	mark(fd, FAN_MARK_MOUNT, FAN_CLOSE_WRITE, dir);
	mark(fd, FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC, dir);
	n = read_marks(fd, before);
	if (n != 5)
		fail("fdinfo shows %d fanotify lines, expected the flags and 4 marks", n);

	test_daemon();
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (child == 0) {
		while (!test_sigterm)
			pause();
		_exit(0);
	}
	test_waitsig();

	if (syscall(SYS_kcmp, getpid(), child, KCMP_FILE, fd, fd))
		fail("the child's fanotify fd is not the parent's open file description");
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || status)
		fail("the child failed (status %#x)", status);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	if (read_marks(fd, after) != n)
		fail("fdinfo shows other marks after the restore");
	for (int i = 0; i < n; i++)
		if (strcmp(before[i], after[i]))
			fail("fdinfo line '%.*s' became '%.*s'", (int)strlen(before[i]) - 1,
			     before[i], (int)strlen(after[i]) - 1, after[i]);
	make_events(fd);
	pass();
	return 0;
}
