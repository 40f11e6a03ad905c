// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, restore: the connections made in repair mode, finished.
 *
 * all_opened(), every file open, before any process exists: each gets its
 * file flags (before the SIGIO owner, which comes once the processes
 * exist), and snap keeps an fd of its own on it (snap closes its files
 * once the processes are made).
 *
 * tree_restored(), every process restored and stopped, the network lock
 * gone, right before the tree is let go: through those fds, the
 * connections leave repair mode (all of them first: a connection whose two
 * ends are in the tree must find its peer out of repair mode when its
 * first packet leaves), then each gets its options, the peer's FIN, the
 * bytes it had not sent and its shutdown state. Until then a connection
 * is in repair mode, so a restore failing on the way closes it without a
 * word to its peer; so does one failing halfway through tree_restored():
 * restore_free() puts the connections back in repair mode before the last
 * close. The lock goes first, as CRIU does it, so that what a connection
 * sends as it leaves repair mode (an ACK of the FIN made up, bytes not
 * sent) is not dropped and left to wait for a retransmission.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "files/files-inet.h"
#include "log.h"
#include "net/sk-opts.h"

static int set_flags(int fd, const InetSkEntry *ie, const char *who)
{
	if (fcntl(fd, F_SETFL, ie->flags)) {
		pr_perror("%s: cannot set file flags %#o", who, ie->flags);
		return -1;
	}
	return 0;
}

/* Shut down as @ie was: only what the program shut itself, a connection's FINs say the rest. */
static int shut_as_was(int fd, const InetSkEntry *ie, const char *who)
{
	int how = -1;

	if (ie->has_shutdown && !ie->conn) {
		if (ie->shutdown == (INET_RCV_SHUTDOWN | INET_SEND_SHUTDOWN))
			how = SHUT_RDWR;
		else if (ie->shutdown & INET_RCV_SHUTDOWN)
			how = SHUT_RD;
		else if (ie->shutdown & INET_SEND_SHUTDOWN)
			how = SHUT_WR;
	} else if (ie->conn && ie->has_shutdown && ie->shutdown & INET_RCV_SHUTDOWN &&
		   !ie->conn->fin_rcvd) {
		how = SHUT_RD;
	}
	/* An unconnected socket says ENOTCONN, and is marked shut all the same. */
	if (how >= 0 && shutdown(fd, how) && errno != ENOTCONN) {
		pr_perror("%s: cannot shut it down as it was (%#x)", who, ie->shutdown);
		return -1;
	}
	return 0;
}

int inet_finish_fd(int fd, const InetSkEntry *ie, const char *who)
{
	return shut_as_was(fd, ie, who) || set_flags(fd, ie, who) ? -1 : 0;
}

static void ends_of(const InetSkEntry *ie, struct tcp_ends *e)
{
	memset(e, 0, sizeof(*e));
	e->family = ie->family;
	memcpy(e->laddr, ie->src_addr.data, ie->src_addr.len);
	memcpy(e->raddr, ie->dst_addr.data, ie->dst_addr.len);
	e->lport = ie->src_port;
	e->rport = ie->dst_port;
}

static const char *rwho(const struct restore_ctx *ctx, const struct inet_rsk *r, char *buf)
{
	return inet_rwho(files_entry(ctx, r->id), buf, INET_WHO_MAX);
}

int inet_all_opened(struct restore_ctx *ctx, void *st)
{
	struct inet_restore_state *rs = st;
	char who[INET_WHO_MAX];

	for (size_t i = 0; i < rs->nr_sk; i++) {
		struct inet_rsk *r = &rs->sk[i];
		int fd = files_fd_of(ctx, r->id);

		if (!r->repair)
			continue;
		if (set_flags(fd, r->ie, rwho(ctx, r, who)))
			return -1;
		r->own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (r->own_fd < 0) {
			pr_perror("%s: cannot keep an fd on it", who);
			return -1;
		}
	}
	return 0;
}

static int finish_conn(const struct inet_rsk *r, const char *who)
{
	const InetSkEntry *ie = r->ie;
	const SkOpts *opts = ie->opts;
	struct tcp_ends e;
	SkOpts rest;

	/* tcp_conn_filter() set the program's filter already, unless a FIN was due first. */
	if (opts && opts->n_filter && !ie->conn->fin_rcvd) {
		rest = *opts;
		rest.n_filter = 0;
		opts = &rest;
	}
	ends_of(ie, &e);
	/*
	 * Options after repair mode (leaving it resets SO_REUSEADDR); the
	 * socket filter after the peer's FIN, which it might drop (until then,
	 * tcp_conn_filter() let only FINs in).
	 */
	if (inet_opts_restore(r->own_fd, ie, who) || tcp_conn_fin_in(r->own_fd, ie->conn, &e, who))
		return -1;
	/* Where a slow restore let the peer's answers in unfiltered (the tests stall it). */
	fault_stall("tcp-fin-in");
	if (sk_opts_restore(r->own_fd, opts, who) ||
	    tcp_conn_send(r->own_fd, ie->state, ie->conn, r->snd, who))
		return -1;
	return shut_as_was(r->own_fd, ie, who);
}

/*
 * A connection saved in FIN_WAIT2 comes back in FIN_WAIT1: leaving repair
 * mode sends a window probe, and the peer's answer acks the FIN again. A
 * local peer answers within microseconds, but through softirq, which may
 * not have run by the time the tree goes on: wait for it, a little, so that
 * the program finds the state it left. A peer slower than that (remote, or
 * gone) is not an error: the retransmitted FIN gets there later.
 */
static void settle(const struct inet_restore_state *rs)
{
	uint64_t until = now_ns() + 200 * 1000 * 1000ull;

	for (size_t i = 0; i < rs->nr_sk; i++) {
		const struct inet_rsk *r = &rs->sk[i];
		struct tcp_info ti;
		socklen_t len;

		if (r->own_fd < 0 || r->ie->state != TCPS_FIN_WAIT2)
			continue;
		for (;;) {
			len = sizeof(ti);
			if (getsockopt(r->own_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
			    ti.tcpi_state != TCPS_FIN_WAIT1 || now_ns() > until)
				break;
			usleep(500);
		}
	}
}

int inet_tree_restored(struct restore_ctx *ctx, void *st)
{
	struct inet_restore_state *rs = st;
	char who[INET_WHO_MAX];

	for (size_t i = 0; i < rs->nr_sk; i++) {
		struct inet_rsk *r = &rs->sk[i];

		if (r->own_fd < 0)
			continue;
		if (tcp_repair_off(r->own_fd, rwho(ctx, r, who)))
			return -1;
		r->repair = false;
	}
	for (size_t i = 0; i < rs->nr_sk; i++) {
		struct inet_rsk *r = &rs->sk[i];

		if (r->own_fd >= 0 && finish_conn(r, rwho(ctx, r, who)))
			return -1;
	}
	settle(rs);
	/* The processes hold them now: whatever comes is theirs. */
	for (size_t i = 0; i < rs->nr_sk; i++) {
		if (rs->sk[i].own_fd >= 0)
			close(rs->sk[i].own_fd);
		rs->sk[i].own_fd = -1;
	}
	return 0;
}

void inet_conns_drop(struct inet_restore_state *rs)
{
	int on = 1;

	for (size_t i = 0; i < rs->nr_sk; i++) {
		struct inet_rsk *r = &rs->sk[i];

		if (r->own_fd < 0)
			continue;
		/* A restore failing in tree_restored(): silent again before the last close. */
		if (!r->repair && setsockopt(r->own_fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)))
			pr_warn("files.img file id %u: cannot put the connection back in repair "
				"mode: its peer may see it closed (%s)",
				r->id, strerror(errno));
		close(r->own_fd);
		r->own_fd = -1;
	}
}
