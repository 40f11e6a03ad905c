// SPDX-License-Identifier: GPL-2.0
/*
 * `snap page-server -D DIR [--address A] [--port P]`: the receiving end of
 * `snap dump --page-server` (Documentation/page-server.md). As CRIU's: listen,
 * take one connection, serve that one dump and exit - 0 when the dump ended
 * with every image in place, 1 otherwise; --daemon goes to the background
 * once listening (--pidfile: the server's pid), --status-fd writes "\0"
 * there once listening. The session itself is mem/page-xfer-recv.c.
 *
 * `snap dump --lazy-pages` ends here too, serving the set it has just
 * written to `snap lazy-pages --page-server` (CRIU's lazy migration): then
 * the status-ready hook (action scripts, an RPC caller's notification)
 * says when it listens.
 */
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "cr/action-script.h"
#include "cr/announce.h"
#include "cr/page-server.h"
#include "log.h"
#include "mem/page-xfer.h"

/* "ADDR:PORT", "[ADDR]:PORT" for IPv6. */
static void name_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

/* Without --address: every address, IPv6 and IPv4 alike when the host has IPv6. */
static int bind_any(int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int zero = 0, one = 1;
	int sk = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (sk >= 0) {
		setsockopt(sk, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(sk, (struct sockaddr *)&a6, sizeof(a6)))
			return sk;
		close(sk);
	}
	sk = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return -1;
	setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!bind(sk, (struct sockaddr *)&a4, sizeof(a4)))
		return sk;
	close(sk);
	return -1;
}

static int bind_to(const char *address, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai, *a;
	char serv[16];
	int sk = -1, one = 1, ret;

	snprintf(serv, sizeof(serv), "%d", port);
	ret = getaddrinfo(address, serv, &hints, &ai);
	if (ret) {
		pr_err("page server: --address %s: %s", address, gai_strerror(ret));
		return -2;
	}
	for (a = ai; a; a = a->ai_next) {
		sk = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (sk < 0)
			continue;
		setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(sk, a->ai_addr, a->ai_addrlen))
			break;
		close(sk);
		sk = -1;
	}
	freeaddrinfo(ai);
	return sk;
}

/* The listening socket; its address in @name. */
int page_server_listen(const struct snap_opts *opts, char *name, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int port = opts->port < 0 ? 0 : opts->port;
	int sk = opts->address ? bind_to(opts->address, port) : bind_any(port);

	if (sk == -2)
		return -1;
	if (sk < 0) {
		pr_perror("page server: cannot bind to %s port %d",
			  opts->address ? opts->address : "any address", port);
		return -1;
	}
	/* One dump, one connection: nobody else need queue. */
	if (listen(sk, 1) || getsockname(sk, (struct sockaddr *)&ss, &len)) {
		pr_perror("page server: cannot listen on port %d", port);
		close(sk);
		return -1;
	}
	name_addr((struct sockaddr *)&ss, len, name, size);
	return sk;
}

static int open_dir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_perror("images directory %s", dir);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("images directory %s", dir);
	return fd;
}

/* Every sink of a live dump is open at once, each an fd or two here: room for big trees. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int page_server_run(const struct snap_opts *opts, int lsk, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int dirfd, sk = -1, one = 1, ret = -1;
	char peer[PS_NAME_MAX];

	dirfd = open_dir(opts->images_dir);
	if (dirfd < 0)
		goto out;
	page_xfer_remove_stale(dirfd);
	raise_fd_limit();
	pr_info("page server: listening on %s", name);
	ret = announce_listening(opts, "page server");
	if (ret) {
		ret = ret > 0 ? 0 : -1;
		goto out;
	}
	ret = -1;
	if (opts->lazy_pages && action_run(opts, ACT_STATUS_READY, 0))
		goto out;
	sk = accept4(lsk, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (sk < 0) {
		pr_perror("page server: accept on %s", name);
		goto out;
	}
	close(lsk);
	lsk = -1;
	setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ps_keepalive(sk);
	name_addr((struct sockaddr *)&ss, len, peer, sizeof(peer));
	pr_info("page server: a connection from %s", peer);
	ret = page_xfer_serve(sk, dirfd, opts, peer);
out:
	if (sk >= 0)
		close(sk);
	if (lsk >= 0)
		close(lsk);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}

int cmd_page_server(const struct snap_opts *opts)
{
	char name[PS_NAME_MAX];
	int lsk = page_server_listen(opts, name, sizeof(name));

	return lsk < 0 ? -1 : page_server_run(opts, lsk, name);
}
