/*
 * Events queued at the dump cannot be saved (reading them would take them
 * from the process): a dump that leaves the process running leaves them
 * queued, and the restored process reads IN_Q_OVERFLOW, then nothing, and
 * then the events made after the restore, with the right wd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char dir[4000];

/* The next event must be @wd's @mask (with @name if set); nothing after it if @last. */
static void expect(int fd, int wd, uint32_t mask, const char *name, int last)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *ev = (struct inotify_event *)buf;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t len;

	if (poll(&p, 1, 5000) != 1)
		fail("no event for wd %d mask %#x", wd, mask);
	/* One event a read: the buffer fits one at most. */
	len = read(fd, buf, sizeof(*ev) + 16);
	if (len < (ssize_t)sizeof(*ev))
		fail("read: %zd %m", len);
	if (ev->wd != wd || ev->mask != mask || (name && strcmp(ev->name, name)))
		fail("event wd %d mask %#x name '%s', expected wd %d mask %#x name '%s'", ev->wd,
		     ev->mask, ev->len ? ev->name : "", wd, mask, name ? name : "");
	if (last && (read(fd, buf, sizeof(buf)) >= 0 || errno != EAGAIN))
		fail("more events after wd %d mask %#x", wd, mask);
}

static void touch(const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Made by the original process in a leave-running dump, too. */
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0)
		fail("create %s: %m", path);
	close(fd);
}

int main(int argc, char **argv)
{
	int fd, wd;

	test_init(argc, argv);
	test_path(dir, sizeof(dir), "dir");
	if (mkdir(dir, 0700) && errno != EEXIST)
		fail("mkdir: %m");
	test_daemon();
	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0)
		fail("inotify_init1: %m");
	wd = inotify_add_watch(fd, dir, IN_CREATE);
	if (wd < 0)
		fail("inotify_add_watch: %m");
	touch("before");
	test_waitsig();

	if (test_restored()) {
		expect(fd, -1, IN_Q_OVERFLOW, NULL, 1);
	} else {
		expect(fd, wd, IN_CREATE, "before", 1);
	}
	touch("after");
	expect(fd, wd, IN_CREATE, "after", 1);
	pass();
	return 0;
}
