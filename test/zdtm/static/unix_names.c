/*
 * Unix socket names: bound to a path (mode 0600), to a relative path, to an
 * abstract name, autobound, unbound, bound to a path since removed, a
 * listener with an accepted connection (which shares its name), an accepted
 * connection whose listener was closed, and a listener whose path was
 * removed with a connection waiting. Each reads the same name after
 * restore; paths exist as they did (the removed ones do not); the names
 * still reach their sockets.
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "zdtmtst.h"
#include "unix-util.h"

struct named {
	int fd;
	struct sockaddr_un a;
	socklen_t len;
};

static void name_of(int fd, struct named *n)
{
	n->fd = fd;
	n->len = sizeof(n->a);
	memset(&n->a, 0, sizeof(n->a));
	if (getsockname(fd, (struct sockaddr *)&n->a, &n->len))
		fail("getsockname: %m");
}

static void same_name(const struct named *n, const char *what)
{
	struct named now;

	name_of(n->fd, &now);
	if (now.len != n->len || memcmp(&now.a, &n->a, n->len))
		fail("%s: its name changed (length %u, was %u: '%s')", what, now.len, n->len,
		     now.a.sun_path[0] ? now.a.sun_path : now.a.sun_path + 1);
}

static int bound(int type, const char *name, int abstract)
{
	struct sockaddr_un a;
	socklen_t len = sk_addr(&a, name, abstract);
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len))
		fail("bind %s: %m", name);
	return fd;
}

int main(int argc, char **argv)
{
	char p_path[256], p_rm[256], p_lis[256], p_old[256], p_gone[256], abs_name[64], rel[64];
	char dir[256];
	struct named path, rm, absn, rel_n, unb, autob, lis, acc, cli, old_acc, old_cli, gone,
		gone_cli;
	int fd, one = 1, c, a;
	struct sockaddr_un sa;
	socklen_t salen;
	struct stat st;

	test_init(argc, argv);
	test_path(p_path, sizeof(p_path), "path.sock");
	test_path(p_lis, sizeof(p_lis), "listen.sock");
	test_path(p_old, sizeof(p_old), "closed-listener.sock");
	test_path(p_gone, sizeof(p_gone), "gone-listener.sock");
	unlink(p_old);
	unlink(p_gone);
	snprintf(p_rm, sizeof(p_rm), "%s", p_path);
	snprintf(dir, sizeof(dir), "%s", dirname(p_rm));
	test_path(p_rm, sizeof(p_rm), "removed.sock");
	snprintf(abs_name, sizeof(abs_name), "zdtm-unix-names-%d", getpid());
	snprintf(rel, sizeof(rel), "rel-%d.sock", getpid());
	unlink(p_path);
	unlink(p_rm);
	unlink(p_lis);

	name_of(bound(SOCK_DGRAM, p_path, 0), &path);
	if (chmod(p_path, 0600))
		fail("chmod: %m");
	name_of(bound(SOCK_DGRAM, p_rm, 0), &rm);
	if (unlink(p_rm))
		fail("unlink: %m");
	fd = bound(SOCK_STREAM, abs_name, 1);
	if (listen(fd, 4))
		fail("listen: %m");
	name_of(fd, &absn);
	if (chdir(dir))
		fail("chdir: %m");
	unlink(rel);
	name_of(bound(SOCK_DGRAM, rel, 0), &rel_n);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	name_of(fd, &unb);
	/* Autobound: SO_PASSCRED makes a send bind it to an abstract name. */
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    sendto(fd, "a", 1, 0, (struct sockaddr *)&path.a, path.len) != 1)
		fail("autobind: %m");
	name_of(fd, &autob);
	if (autob.len <= offsetof(struct sockaddr_un, sun_path) || autob.a.sun_path[0])
		fail("not autobound");
	fd = bound(SOCK_STREAM, p_lis, 0);
	if (listen(fd, 4))
		fail("listen: %m");
	name_of(fd, &lis);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&lis.a, lis.len))
		fail("connect: %m");
	a = accept(fd, NULL, NULL);
	if (a < 0)
		fail("accept: %m");
	name_of(a, &acc);
	name_of(c, &cli);
	/* Accepted, then its listener closed: the name lives on in the connection. */
	fd = bound(SOCK_STREAM, p_old, 0);
	if (listen(fd, 4))
		fail("listen: %m");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	name_of(fd, &old_acc);
	if (connect(c, (struct sockaddr *)&old_acc.a, old_acc.len) ||
	    (a = accept(fd, NULL, NULL)) < 0)
		fail("accept: %m");
	close(fd);
	name_of(a, &old_acc);
	name_of(c, &old_cli);
	/* A listener whose path was removed, with a connection waiting in it. */
	fd = bound(SOCK_STREAM, p_gone, 0);
	if (listen(fd, 4))
		fail("listen: %m");
	name_of(fd, &gone);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&gone.a, gone.len) || unlink(p_gone))
		fail("connect: %m");
	name_of(c, &gone_cli);

	test_daemon();
	test_waitsig();

	same_name(&path, "the path");
	same_name(&rm, "the removed path");
	same_name(&absn, "the abstract name");
	same_name(&rel_n, "the relative path");
	same_name(&unb, "the unbound socket");
	same_name(&autob, "the autobound socket");
	same_name(&lis, "the listener");
	same_name(&acc, "the accepted socket");
	same_name(&cli, "the connected client");
	same_name(&old_acc, "the connection of a closed listener");
	same_name(&old_cli, "the client of a closed listener");
	same_name(&gone, "the listener whose path was removed");
	same_name(&gone_cli, "the client waiting on it");
	if (!stat(p_gone, &st) || errno != ENOENT)
		fail("%s exists again", p_gone);
	if (stat(p_old, &st) || !S_ISSOCK(st.st_mode))
		fail("%s: the closed listener's socket file is gone (%m)", p_old);
	sk_check_pair(old_acc.fd, old_cli.fd);
	a = accept(gone.fd, NULL, NULL);
	if (a < 0)
		fail("the connection waiting on the listener whose path was removed is gone: %m");
	sk_check_pair(a, gone_cli.fd);
	if (stat(p_path, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600)
		fail("%s: not a socket file of mode 0600 (%m)", p_path);
	if (!stat(p_rm, &st) || errno != ENOENT)
		fail("%s exists again", p_rm);
	if (stat(rel, &st) || !S_ISSOCK(st.st_mode))
		fail("%s/%s: not a socket file (%m)", dir, rel);

	/* The names reach their sockets: the queued datagram, then new ones. */
	if (recv(path.fd, p_rm, sizeof(p_rm), MSG_DONTWAIT) != 1)
		fail("the autobound socket's datagram is gone: %m");
	salen = sizeof(sa);
	if (sendto(unb.fd, "x", 1, 0, (struct sockaddr *)&path.a, path.len) != 1 ||
	    recvfrom(path.fd, p_rm, 4, MSG_DONTWAIT, (struct sockaddr *)&sa, &salen) != 1)
		fail("the path no longer reaches its socket: %m");
	if (sendto(unb.fd, "y", 1, 0, (struct sockaddr *)&rel_n.a, rel_n.len) != 1 ||
	    recv(rel_n.fd, p_rm, 4, MSG_DONTWAIT) != 1)
		fail("the relative path no longer reaches its socket: %m");
	if (sendto(unb.fd, "z", 1, 0, (struct sockaddr *)&autob.a, autob.len) != 1 ||
	    recv(autob.fd, p_rm, 4, MSG_DONTWAIT) != 1)
		fail("the autobound name no longer reaches its socket: %m");
	sk_check_pair(acc.fd, cli.fd);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&absn.a, absn.len) || accept(absn.fd, NULL, NULL) < 0)
		fail("the abstract name no longer reaches its listener: %m");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&lis.a, lis.len) || accept(lis.fd, NULL, NULL) < 0)
		fail("the path no longer reaches its listener: %m");
	pass();
	return 0;
}
