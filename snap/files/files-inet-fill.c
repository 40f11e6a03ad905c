// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, restore: once every file is open, before any process
 * exists, the connections made in repair mode are taken out of it (all of
 * them first: a connection whose two ends are in the tree must find its
 * peer out of repair mode when its first packet leaves), then each gets
 * its options, the bytes it had not sent, the peer's FIN, its shutdown
 * state and its file flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "files/files-inet.h"
#include "log.h"
#include "net/sk-opts.h"

int inet_finish_fd(int fd, const InetSkEntry *ie, const char *who)
{
	int how = -1;

	/* A connection's FINs say the rest: only what the program shut itself is left. */
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
	if (fcntl(fd, F_SETFL, ie->flags)) {
		pr_perror("%s: cannot set file flags %#o", who, ie->flags);
		return -1;
	}
	return 0;
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

static int finish_conn(struct restore_ctx *ctx, const struct inet_rsk *r)
{
	const FileEntry *fe = files_entry(ctx, r->id);
	const InetSkEntry *ie = r->ie;
	char who[INET_WHO_MAX];
	int fd = files_fd_of(ctx, r->id);
	struct tcp_ends e;

	inet_rwho(fe, who, sizeof(who));
	ends_of(ie, &e);
	/*
	 * Options after repair mode (leaving it resets SO_REUSEADDR); the
	 * socket filter after the peer's FIN, which it might drop, and before
	 * anything leaves, whose answer it might drop.
	 */
	if (inet_opts_restore(fd, ie, who) || tcp_conn_fin_in(fd, ie->conn, &e, who) ||
	    sk_opts_restore(fd, ie->opts, who) ||
	    tcp_conn_send(fd, ie->state, ie->conn, r->snd, who))
		return -1;
	return inet_finish_fd(fd, ie, who);
}

int inet_all_opened(struct restore_ctx *ctx, void *st)
{
	struct inet_restore_state *rs = st;
	char who[INET_WHO_MAX];

	for (size_t i = 0; i < rs->nr_sk; i++) {
		const struct inet_rsk *r = &rs->sk[i];

		if (r->repair &&
		    tcp_repair_off(files_fd_of(ctx, r->id),
				   inet_rwho(files_entry(ctx, r->id), who, sizeof(who))))
			return -1;
	}
	for (size_t i = 0; i < rs->nr_sk; i++)
		if (rs->sk[i].repair && finish_conn(ctx, &rs->sk[i]))
			return -1;
	return 0;
}
