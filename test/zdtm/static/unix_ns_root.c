/*
 * Unix socket names that only the tree's own mount namespace has (the "ns"
 * flavour): a tmpfs the test mounts on /dev/unixroot (a directory of its
 * own /dev, which snap's namespace does not have) holds a listening stream
 * socket, a dgram socket and a dgram client's name, each socket file with
 * its own mode and owner. A stream client is connected and accepted, the
 * dgram client connected to the dgram socket; data waits both ways.
 * After restore: the names (getsockname), the socket files (mode, owner),
 * the queued data, both connections both ways, and a new client of each
 * that reaches its socket by path.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "zdtmtst.h"
#include "unix-util.h"

#define DIR "/dev/unixroot"
#define STREAM DIR "/stream"
#define DGRAM DIR "/dgram"
#define CLIENT DIR "/client"

static socklen_t addr_of(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static int sock_at(int type, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct sockaddr_un a;
	socklen_t len = addr_of(path, &a);
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) || chmod(path, mode) ||
	    chown(path, uid, gid))
		fail("bind %s: %m", path);
	return fd;
}

static int sock_to(int type, int fd, const char *path)
{
	struct sockaddr_un a;
	socklen_t len = addr_of(path, &a);

	if (fd < 0)
		fd = socket(AF_UNIX, type, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, len))
		fail("connect to %s: %m", path);
	return fd;
}

static void send_str(int fd, const char *s)
{
	if (send(fd, s, strlen(s), MSG_DONTWAIT) != (ssize_t)strlen(s))
		fail("send '%s': %m", s);
}

/* The next message (or bytes) on @fd are @s, from @from when not NULL. */
static void expect_str(int fd, const char *s, const char *from)
{
	struct sockaddr_un a;
	socklen_t alen = sizeof(a);
	char buf[64];
	ssize_t n;

	memset(&a, 0, sizeof(a));
	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&a, &alen);
	if (n != (ssize_t)strlen(s) || memcmp(buf, s, n))
		fail("fd %d: '%s' expected, got %zd bytes (%m)", fd, s, n);
	if (from && strcmp(a.sun_path, from))
		fail("fd %d: '%s' came from '%s', not %s", fd, s, a.sun_path, from);
}

static void expect_name(int fd, const char *path)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	if (getsockname(fd, (struct sockaddr *)&a, &len) || strcmp(a.sun_path, path))
		fail("fd %d is named '%s', not %s (%m)", fd, a.sun_path, path);
}

static void expect_file(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (stat(path, &st))
		fail("stat %s: %m", path);
	if (st.st_mode != (S_IFSOCK | mode) || st.st_uid != uid || st.st_gid != gid)
		fail("%s: mode %o owner %u:%u, expected %o %u:%u", path, st.st_mode, st.st_uid,
		     st.st_gid, S_IFSOCK | mode, uid, gid);
}

int main(int argc, char **argv)
{
	int l, d, c, a, k, n, m;
	struct sockaddr_un to;
	socklen_t tolen;
	char byte;

	test_init(argc, argv);
	if (mkdir(DIR, 0755) || mount("unixroot", DIR, "tmpfs", 0, "mode=755"))
		fail("tmpfs on %s: %m", DIR);
	l = sock_at(SOCK_STREAM, STREAM, 0640, 1234, 5678);
	if (listen(l, 4))
		fail("listen: %m");
	d = sock_at(SOCK_DGRAM, DGRAM, 0604, 4321, 8765);
	k = sock_at(SOCK_DGRAM, CLIENT, 0600, 0, 0);
	c = sock_to(SOCK_STREAM, -1, STREAM);
	a = accept(l, NULL, NULL);
	if (a < 0)
		fail("accept: %m");
	sock_to(SOCK_DGRAM, k, DGRAM);
	send_str(c, "c2a-before");
	send_str(a, "a2c-before");
	send_str(k, "k-before");

	test_daemon();
	test_waitsig();

	expect_name(l, STREAM);
	expect_name(a, STREAM);
	expect_name(d, DGRAM);
	expect_name(k, CLIENT);
	expect_file(STREAM, 0640, 1234, 5678);
	expect_file(DGRAM, 0604, 4321, 8765);
	expect_file(CLIENT, 0600, 0, 0);
	/* The old connections: what waited, then both ways again. */
	expect_str(a, "c2a-before", NULL);
	expect_str(c, "a2c-before", NULL);
	expect_str(d, "k-before", CLIENT);
	send_str(c, "c2a-after");
	send_str(a, "a2c-after");
	expect_str(a, "c2a-after", NULL);
	expect_str(c, "a2c-after", NULL);
	tolen = addr_of(CLIENT, &to);
	if (sendto(d, "d2k", 3, MSG_DONTWAIT, (struct sockaddr *)&to, tolen) != 3)
		fail("sendto %s: %m", CLIENT);
	expect_str(k, "d2k", DGRAM);
	send_str(k, "k-after");
	expect_str(d, "k-after", CLIENT);
	/* New clients, by path. */
	n = sock_to(SOCK_STREAM, -1, STREAM);
	m = accept(l, NULL, NULL);
	if (m < 0 || write(n, "x", 1) != 1 || read(m, &byte, 1) != 1 || byte != 'x')
		fail("a new client of %s: %m", STREAM);
	n = socket(AF_UNIX, SOCK_DGRAM, 0);
	tolen = addr_of(DGRAM, &to);
	if (n < 0 || sendto(n, "new", 3, 0, (struct sockaddr *)&to, tolen) != 3)
		fail("sendto %s from a new socket: %m", DGRAM);
	expect_str(d, "new", "");
	pass();
	return 0;
}
