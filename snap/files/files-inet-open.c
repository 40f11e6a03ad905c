// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, restore: each socket made again in snap, before any
 * process, in snap's network namespace.
 *
 *   listener   options, bind (SO_REUSEADDR meanwhile: the port may have
 *              connections in TIME_WAIT), listen with its backlog;
 *   connection in repair mode: sequence numbers, bind, connect (no SYN),
 *              options agreed, queues, windows; all_opened() finishes it;
 *   closed     (--tcp-close) a fresh socket shut down both ways: reads the
 *              end of stream, writes fail with EPIPE;
 *   UDP        bound, its datagrams delivered again, then connected;
 *   raw, ping  bound (a ping socket's port is its echo id), connected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files/files-inet.h"
#include "log.h"
#include "net/sk-opts.h"

static bool any_addr(const InetSkEntry *ie)
{
	static const uint8_t zero[16];

	return !ie->has_src_addr || !memcmp(ie->src_addr.data, zero, ie->src_addr.len);
}

static int set_reuse(int fd, int v)
{
	return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
}

static int do_bind(int fd, const InetSkEntry *ie, const char *who)
{
	struct sockaddr_storage ss;
	char a[INET_ADDR_STR];
	socklen_t len;

	if (!ie->has_src_addr)
		return 0;
	len = inet_sockaddr(ie->family, ie->src_addr.data, ie->type == SOCK_RAW ? 0 : ie->src_port,
			    ie->scope_id, &ss);
	if (!bind(fd, (struct sockaddr *)&ss, len))
		return 0;
	inet_addr_str(ie->family, ie->src_addr.data, ie->src_port, a, sizeof(a));
	if (errno == EADDRINUSE)
		pr_err("%s: address %s is in use by another socket now: free it and restore again",
		       who, a);
	else
		pr_perror("%s: cannot bind to %s", who, a);
	return -1;
}

static int do_connect(int fd, const InetSkEntry *ie, const char *who)
{
	struct sockaddr_storage ss;
	char a[INET_ADDR_STR];
	socklen_t len;

	if (!ie->has_dst_addr)
		return 0;
	len = inet_sockaddr(ie->family, ie->dst_addr.data, ie->dst_port, ie->scope_id, &ss);
	if (!connect(fd, (struct sockaddr *)&ss, len))
		return 0;
	inet_addr_str(ie->family, ie->dst_addr.data, ie->dst_port, a, sizeof(a));
	if (errno == EADDRNOTAVAIL && ie->conn)
		pr_err("%s: another socket has this connection's addresses now (to %s): free them "
		       "and restore again",
		       who, a);
	else
		pr_perror("%s: cannot connect to %s", who, a);
	return -1;
}

/* Bind with SO_REUSEADDR on, then as the program had it. */
static int bind_reusing(int fd, const InetSkEntry *ie, const char *who)
{
	int was = ie->opts && ie->opts->has_reuseaddr ? ie->opts->reuseaddr : 0;

	if (set_reuse(fd, 1) || do_bind(fd, ie, who))
		return -1;
	if (set_reuse(fd, was)) {
		pr_perror("%s: cannot set SO_REUSEADDR", who);
		return -1;
	}
	return 0;
}

/* SOL_SOCKET last: IP_TOS sets SO_PRIORITY as it goes. */
static int all_opts(int fd, const InetSkEntry *ie, const char *who)
{
	return inet_opts_restore(fd, ie, who) || inet_mc_restore(fd, ie, who) ||
	       sk_opts_restore(fd, ie->opts, who);
}

static int open_listener(int fd, const InetSkEntry *ie, const char *who)
{
	if (inet_opts_restore_bind(fd, ie, who) || sk_opts_restore_bind(fd, ie->opts, who) ||
	    bind_reusing(fd, ie, who) || all_opts(fd, ie, who))
		return -1;
	if (listen(fd, ie->backlog)) {
		pr_perror("%s: cannot listen (backlog %u)", who, ie->backlog);
		return -1;
	}
	return inet_finish_fd(fd, ie, who);
}

/*
 * A connection, in repair mode: all_opened() takes it out. Its bind options
 * go first: repair mode lets it bind next to its listener (the kernel's
 * forced reuse), and setting SO_REUSEADDR after would take that back, so a
 * connection accepted from a SO_REUSEADDR listener (any server's) would
 * find its own listener in the way. finish_conn() sets it as it was.
 */
static int open_conn(int fd, struct inet_rsk *r, const char *who)
{
	const InetSkEntry *ie = r->ie;

	if (inet_opts_restore_bind(fd, ie, who) || sk_opts_restore_bind(fd, ie->opts, who) ||
	    tcp_repair_on(fd, who) || tcp_conn_restore_seqs(fd, ie->conn, who) ||
	    do_bind(fd, ie, who) || do_connect(fd, ie, who) ||
	    tcp_conn_restore(fd, ie->state, ie->conn, r->snd, r->rcv, who) ||
	    tcp_conn_filter(fd, ie->conn, ie->opts, who))
		return -1;
	r->repair = true;
	return 0;
}

/* --tcp-close: a socket that reads the end and cannot be written, as CRIU gives. */
static int open_closed(int fd, const InetSkEntry *ie, const char *who)
{
	if (inet_opts_restore_bind(fd, ie, who) || all_opts(fd, ie, who))
		return -1;
	/* Unconnected: shutdown() says ENOTCONN but marks the socket shut all the same. */
	if (shutdown(fd, SHUT_RDWR) && errno != ENOTCONN) {
		pr_perror("%s: cannot shut it down", who);
		return -1;
	}
	if (fcntl(fd, F_SETFL, ie->flags)) {
		pr_perror("%s: cannot set file flags %#o", who, ie->flags);
		return -1;
	}
	return 0;
}

static int open_tcp(int fd, struct inet_rsk *r, const char *who)
{
	const InetSkEntry *ie = r->ie;

	if (ie->state == TCPS_LISTEN)
		return open_listener(fd, ie, who);
	if (r->closed)
		return open_closed(fd, ie, who);
	if (ie->conn)
		return open_conn(fd, r, who);
	/* CLOSE: bound or not. */
	if (inet_opts_restore_bind(fd, ie, who) || sk_opts_restore_bind(fd, ie->opts, who) ||
	    (ie->has_src_port && ie->src_port && bind_reusing(fd, ie, who)) ||
	    all_opts(fd, ie, who))
		return -1;
	return inet_finish_fd(fd, ie, who);
}

static int open_dgram(int fd, struct inet_rsk *r, const char *who)
{
	const InetSkEntry *ie = r->ie;
	int half;

	if (inet_opts_restore_bind(fd, ie, who) || sk_opts_restore_bind(fd, ie->opts, who))
		return -1;
	/* A raw socket reads its protocol as its port: bound only to an address. */
	if ((ie->type != SOCK_RAW || !any_addr(ie)) && do_bind(fd, ie, who))
		return -1;
	/* Room for the queue before it comes in; the filter after (it would filter it). */
	half = ie->opts && ie->opts->has_rcvbuf ? ie->opts->rcvbuf / 2 : 0;
	if (half && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof(half))) {
		pr_perror("%s: cannot set SO_RCVBUF", who);
		return -1;
	}
	if (inet_dgram_restore(fd, r, who) || all_opts(fd, ie, who) || do_connect(fd, ie, who))
		return -1;
	return inet_finish_fd(fd, ie, who);
}

int inet_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct inet_restore_state *rs = st;
	const InetSkEntry *ie = fe->inet_sk;
	char who[INET_WHO_MAX];
	struct inet_rsk *r;
	int fd, ret;

	if (!rs->checked) {
		if (inet_loaded(rs))
			return -1;
		rs->checked = true;
	}
	r = inet_rsk_find(rs, fe->id);
	inet_rwho(fe, who, sizeof(who));
	if (!r) {
		pr_err("%s: not prepared", who);
		return -1;
	}
	/*
	 * Files open in the fd table's order, not the kernel's: a connection
	 * accepted from a listener shares its port, and once it holds the
	 * port the listener's listen() fails with EADDRINUSE. The other way
	 * round, repair mode lets the connection bind next to the listener.
	 */
	if (ie->conn && !r->closed && inet_listener_missing(ctx, rs, ie->src_port))
		return FD_AGAIN;
	fd = socket(ie->family, ie->type | SOCK_CLOEXEC, ie->protocol);
	if (fd < 0) {
		char proto[48];

		pr_perror("%s: cannot make a %s socket", who,
			  inet_proto_str(ie->family, ie->type, ie->protocol, proto, sizeof(proto)));
		return -1;
	}
	ret = ie->type == SOCK_STREAM ? open_tcp(fd, r, who) : open_dgram(fd, r, who);
	if (ret) {
		close(fd);
		return -1;
	}
	return fd;
}
