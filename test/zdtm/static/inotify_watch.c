/*
 * An inotify instance keeps every watch with its mask and its wd, and the
 * watches work: events made after the restore come with the right wd, mask
 * and name. Watches (the wds have gaps, some wide, as removed watches leave):
 *   D    a directory, IN_CREATE | IN_DELETE
 *   F    a file in it, IN_MODIFY | IN_CLOSE_WRITE
 *   O    a file, IN_ATTRIB | IN_ONESHOT
 *   L    a symlink watched itself (IN_DONT_FOLLOW), IN_ATTRIB
 * The instance is non-blocking, and a child shares it (forked after it was
 * made): one open file description in both, after the restore too.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { D, F, O, L, NR };

static const char *const names[NR] = { "dir", "dir/file", "oneshot", "link" };
static const uint32_t masks[NR] = {
	IN_CREATE | IN_DELETE,
	IN_MODIFY | IN_CLOSE_WRITE,
	IN_ATTRIB | IN_ONESHOT,
	IN_ATTRIB,
};
/* Watches added and removed before each: the gaps in the wds. */
static const int gaps[NR] = { 0, 3, 700, 1 };

static char paths[NR][4096];
static int wds[NR];

/* The instance's watches as fdinfo shows them: wd, inode and mask each. */
static void check_fdinfo(int fd)
{
	char path[64], line[512];
	int seen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned int wd, mask;
		unsigned long ino;
		struct stat st;
		int i;

		if (sscanf(line, "inotify wd:%x ino:%lx sdev:%*x mask:%x", &wd, &ino, &mask) != 3)
			continue;
		for (i = 0; i < NR && wds[i] != (int)wd; i++)
			;
		if (i == NR)
			fail("fdinfo has a watch wd %u that was not made", wd);
		if (lstat(paths[i], &st))
			fail("lstat %s: %m", paths[i]);
		if (st.st_ino != ino || mask != masks[i])
			fail("watch wd %u is on inode %lu with mask %#x, expected %s (inode %lu) "
			     "with %#x",
			     wd, ino, mask, names[i], (unsigned long)st.st_ino, masks[i]);
		seen++;
	}
	fclose(f);
	if (seen != NR)
		fail("fdinfo has %d watches, expected %d", seen, NR);
}

/* The next event must be @wd's with @mask (and @name if set). */
static void expect(int fd, int wd, uint32_t mask, const char *name)
{
	static char buf[4096] __attribute__((aligned(8)));
	static ssize_t len, off;
	struct inotify_event *ev;

	if (off >= len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1)
			fail("no event for wd %d mask %#x", wd, mask);
		len = read(fd, buf, sizeof(buf));
		if (len <= 0)
			fail("read: %m");
		off = 0;
	}
	ev = (struct inotify_event *)(buf + off);
	off += sizeof(*ev) + ev->len;
	if (ev->wd != wd || ev->mask != mask || (name && strcmp(ev->name, name)))
		fail("event wd %d mask %#x name '%s', expected wd %d mask %#x name '%s'", ev->wd,
		     ev->mask, ev->len ? ev->name : "", wd, mask, name ? name : "");
}

static void check_no_event(int fd)
{
	char buf[256];

	if (read(fd, buf, sizeof(buf)) >= 0 || errno != EAGAIN)
		fail("an event is queued that should not be");
}

static void make_events(int fd)
{
	char path[4096 + 8];
	int nfd;

	check_no_event(fd);
	snprintf(path, sizeof(path), "%s/new", paths[D]);
	nfd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (nfd < 0)
		fail("create %s: %m", path);
	close(nfd);
	expect(fd, wds[D], IN_CREATE, "new");
	if (unlink(path))
		fail("unlink %s: %m", path);
	expect(fd, wds[D], IN_DELETE, "new");

	nfd = open(paths[F], O_WRONLY);
	if (nfd < 0 || write(nfd, "x", 1) != 1)
		fail("write %s: %m", paths[F]);
	close(nfd);
	expect(fd, wds[F], IN_MODIFY, NULL);
	expect(fd, wds[F], IN_CLOSE_WRITE, NULL);

	if (chmod(paths[O], 0600))
		fail("chmod: %m");
	expect(fd, wds[O], IN_ATTRIB, NULL);
	expect(fd, wds[O], IN_IGNORED, NULL);

	if (lchown(paths[L], getuid(), getgid()))
		fail("lchown: %m");
	expect(fd, wds[L], IN_ATTRIB, NULL);
	check_no_event(fd);
}

static void make_files(void)
{
	int fd;

	for (int i = 0; i < NR; i++)
		test_path(paths[i], sizeof(paths[i]), names[i]);
	if (mkdir(paths[D], 0700) && errno != EEXIST)
		fail("mkdir: %m");
	for (int i = F; i <= O; i++) {
		fd = open(paths[i], O_CREAT | O_WRONLY, 0600);
		if (fd < 0)
			fail("create %s: %m", paths[i]);
		close(fd);
	}
	unlink(paths[L]);
	if (symlink(paths[F], paths[L]))
		fail("symlink: %m");
}

int main(int argc, char **argv)
{
	char drain[4096];
	pid_t child;
	int fd, status;

	test_init(argc, argv);
	make_files();
	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0)
		fail("inotify_init1: %m");
	for (int i = 0; i < NR; i++) {
		for (int g = 0; g < gaps[i]; g++) {
			int w = inotify_add_watch(fd, "/", IN_OPEN);

			if (w < 0 || inotify_rm_watch(fd, w))
				fail("inotify_add_watch /: %m");
		}
		wds[i] = inotify_add_watch(fd, paths[i], masks[i] | (i == L ? IN_DONT_FOLLOW : 0));
		if (wds[i] < 0)
			fail("inotify_add_watch %s: %m", paths[i]);
	}
	/* The IN_IGNORED of the removed watches. */
	while (read(fd, drain, sizeof(drain)) > 0)
		;
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
		fail("the child's inotify fd is not the parent's open file description");
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || status)
		fail("the child failed (status %#x)", status);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	check_fdinfo(fd);
	make_events(fd);
	pass();
	return 0;
}
