// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, dump: the TCP part, and the end of the dump.
 *
 * A listener saves its backlog. Connections waiting in its queue, not
 * accepted yet, are refused by name: the kernel has no way to put a
 * connection back into a listener's queue, and accepting it in snap would
 * hand the program a connection it never accepted. A dump that leaves the
 * tree running leaves them out with a warning instead: the program accepts
 * them as if nothing happened, and a server whose clients connect for each
 * request nearly always has one waiting, so refusing would make it
 * impossible to snapshot live.
 *
 * A connection (ESTABLISHED up to CLOSE) is refused by name unless the
 * dump has --tcp-established (saved through TCP_REPAIR) or --tcp-close
 * (saved as connected, restored closed). Repair mode is entered only for
 * the time it takes to read it, the tree frozen, and left without a window
 * probe, so that a dump that leaves the tree running leaves the connection
 * as it was. A dump that kills the tree keeps its own fd on each saved
 * connection (named in dump_ctx.lock_conns for the network lock:
 * files-inet-lock.c), and at write() puts it back in repair mode: the kill
 * then closes it without a FIN or a reset to the peer. If that dump fails
 * after write(), unfreeze(), just before the tree runs on, takes them out
 * of repair mode again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-inet.h"
#include "image.h"
#include "log.h"

static bool any_addr(const InetSkEntry *ie)
{
	static const uint8_t zero[16];

	return !ie->has_src_addr || !memcmp(ie->src_addr.data, zero, ie->src_addr.len);
}

/*
 * The connections waiting in the listener's queue, by their peers (the
 * walked tables alone list them; the error is said without names if the
 * walk fails).
 */
static void refuse_waiting(struct inet_dump_state *is, const InetSkEntry *ie, uint32_t nr,
			   const char *who)
{
	char peers[256] = "", a[INET_ADDR_STR];
	size_t n = 0, named = 0;

	inet_diag_walk(&is->diag);
	for (size_t i = 0; i < is->diag.nr_waiting && named < 3; i++) {
		const struct inet_diag *w = &is->diag.waiting[i];

		if (w->family != ie->family || w->sport != ie->src_port ||
		    (!any_addr(ie) && memcmp(w->src, ie->src_addr.data, ie->src_addr.len)))
			continue;
		n += snprintf(peers + n, sizeof(peers) - n, "%s%s", named ? ", " : " (from ",
			      inet_addr_str(w->family, w->dst, w->dport, a, sizeof(a)));
		named++;
	}
	if (named)
		snprintf(peers + n, sizeof(peers) - n, ")");
	pr_err("%s: listening, with %u connection%s not accepted yet%s: snap cannot put a "
	       "connection back in a listener's queue; dump once the program has accepted them",
	       who, nr, nr == 1 ? "" : "s", peers);
}

/* A killing dump: keep our own fd on the connection, for write() and dump_free(). */
static int hold(struct inet_dump_state *is, int fd, int reuseaddr, const char *who)
{
	struct inet_held *h;

	if (is->nr_held == is->cap_held) {
		size_t cap = is->cap_held ? is->cap_held * 2 : 16;

		h = realloc(is->held, cap * sizeof(*h));
		if (!h) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		is->held = h;
		is->cap_held = cap;
	}
	h = &is->held[is->nr_held];
	h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (h->fd < 0) {
		pr_perror("%s: cannot keep an fd on it", who);
		return -1;
	}
	h->repair = false;
	h->reuseaddr = reuseaddr;
	snprintf(h->who, sizeof(h->who), "%s", who);
	is->nr_held++;
	return 0;
}

/* Out of repair mode, with the SO_REUSEADDR it had (repair mode overwrites it). */
static int leave_repair(int fd, int reuseaddr, const char *who)
{
	if (tcp_repair_off(fd, who))
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuseaddr, sizeof(reuseaddr))) {
		pr_perror("%s: cannot put SO_REUSEADDR back", who);
		return -1;
	}
	return 0;
}

static int dump_conn(struct dump_ctx *ctx, struct inet_dump_state *is, const struct fd_desc *d,
		     InetSkEntry *ie, const struct tcp_info *ti, const struct sk_read *rd,
		     const char *who)
{
	const struct snap_opts *o = ctx->opts;
	int reuseaddr = rd->reuseaddr, ret;
	struct tcp_queues q;
	TcpConn *c;

	if (!o->tcp_established && !o->tcp_close) {
		pr_err("%s: an established TCP connection (%s): pass --tcp-established to save it, "
		       "or --tcp-close to restore it closed",
		       who, tcp_state_name(ie->state));
		return -1;
	}
	/* The kernel tuned them for this connection: a new one tunes its own. */
	if (ie->opts)
		ie->opts->has_rcvbuf = ie->opts->has_sndbuf = false;
	if (!o->tcp_established) {
		ie->has_closed = ie->closed = true;
		return 0;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	tcp_conn__init(c);
	ie->conn = c;
	/* Repair mode clears it: what to put back. */
	if (reuseaddr < 0) {
		pr_err("%s: no SO_REUSEADDR read to put back after repair mode", who);
		return -1;
	}
	if (tcp_repair_on(d->local, who))
		return -1;
	ret = tcp_conn_dump(d->local, ie->state, ti, rd, c, &q, who);
	if (leave_repair(d->local, reuseaddr, who))
		ret = -1;
	if (!ret && q.snd_len) {
		ret = inet_queue_add(is, ie->ino, INET_QUEUE__INET_SEND, q.snd, q.snd_len, NULL, 0,
				     0);
		q.snd = NULL;
	}
	if (!ret && q.rcv_len) {
		ret = inet_queue_add(is, ie->ino, INET_QUEUE__INET_RECV, q.rcv, q.rcv_len, NULL, 0,
				     0);
		q.rcv = NULL;
	}
	tcp_queues_free(&q);
	if (ret || o->leave_running)
		return ret;
	return inet_lock_add(ctx, is, ie) || hold(is, d->local, reuseaddr, who) ? -1 : 0;
}

int inet_tcp_dump(struct dump_ctx *ctx, struct inet_dump_state *is, const struct fd_desc *d,
		  const struct inet_diag *diag, InetSkEntry *ie, const struct sk_read *rd,
		  const char *who)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(d->local, IPPROTO_TCP, TCP_INFO, &ti, &len)) {
		pr_perror("%s: cannot read TCP_INFO", who);
		return -1;
	}
	ie->state = ti.tcpi_state;
	if (diag && diag->md5) {
		pr_err("%s: it has TCP-MD5 keys (TCP_MD5SIG), which snap does not save", who);
		return -1;
	}
	if (diag && diag->ulp[0]) {
		pr_err("%s: it runs the upper layer protocol \"%s\" (TCP_ULP: kTLS...), which snap "
		       "does not save",
		       who, diag->ulp);
		return -1;
	}
	switch (ie->state) {
	case TCPS_LISTEN:
		/* For a listener TCP_INFO counts the queue (unacked) and its length (sacked). */
		ie->has_backlog = true;
		ie->backlog = ti.tcpi_sacked;
		if (!ti.tcpi_unacked)
			return 0;
		if (!ctx->opts->leave_running && !ctx->opts->tcp_skip_in_flight) {
			refuse_waiting(is, ie, ti.tcpi_unacked, who);
			return -1;
		}
		/* Left out: the running program accepts them, or nobody (their peers reset). */
		if (ctx->opts->leave_running)
			pr_warn("%s: %u connection%s waiting to be accepted left out: the program "
				"running on accepts %s, a restore of this image has none",
				who, ti.tcpi_unacked, ti.tcpi_unacked == 1 ? "" : "s",
				ti.tcpi_unacked == 1 ? "it" : "them");
		else
			pr_warn("%s: %u connection%s waiting to be accepted left out "
				"(--tcp-skip-in-flight): a restore of this image has none, and "
				"their peers are reset",
				who, ti.tcpi_unacked, ti.tcpi_unacked == 1 ? "" : "s");
		return 0;
	case TCPS_CLOSE: {
		int inq = 0;

		if (!ioctl(d->local, SIOCINQ, &inq) && inq > 0) {
			pr_err("%s: a closed TCP connection with %d bytes not read yet: snap "
			       "cannot "
			       "queue bytes to a closed socket",
			       who, inq);
			return -1;
		}
		/*
		 * getsockname() still reads the port of a connection that is over;
		 * sock_diag lists a closed socket only while it holds its port.
		 */
		if (!diag && !is->diag.no_tcp)
			ie->has_src_addr = ie->has_src_port = false;
		return 0;
	}
	case TCPS_SYN_SENT:
		if (!ctx->opts->tcp_skip_in_flight) {
			pr_err("%s: a connect() in progress (SYN_SENT), which snap cannot save "
			       "(--tcp-skip-in-flight saves it never connected)",
			       who);
			return -1;
		}
		/* Bound where connect() bound it; a connect() restarted starts over. */
		pr_warn("%s: a connect() in progress saved as a socket never connected "
			"(--tcp-skip-in-flight)",
			who);
		ie->state = TCPS_CLOSE;
		ie->has_dst_addr = ie->has_dst_port = false;
		return 0;
	default:
		if (tcp_state_repairable(ie->state))
			return dump_conn(ctx, is, d, ie, &ti, rd, who);
		pr_err("%s: a TCP socket in state %s, which snap cannot save", who,
		       tcp_state_name(ie->state));
		return -1;
	}
}

int inet_write(struct dump_ctx *ctx, void *st)
{
	struct inet_dump_state *is = st;
	struct image *img;
	int ret = 0;

	/* The tree is frozen still, and killed next if all goes well. */
	for (size_t i = 0; i < is->nr_held; i++) {
		if (tcp_repair_on(is->held[i].fd, is->held[i].who))
			return -1;
		is->held[i].repair = true;
		pr_debug("%s: in repair mode until the tree is killed", is->held[i].who);
	}
	if (!is->nr_dumped)
		return 0;
	img = img_open_write(ctx->dirfd, IMG_INET_QUEUES, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < is->nr_q && !ret; i++)
		ret = img_write(img, &is->q[i]->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

void inet_unfreeze(struct dump_ctx *ctx, void *st, bool killed)
{
	struct inet_dump_state *is = st;

	(void)ctx;
	/* Killed: our close is the last or comes before it, both in repair mode. */
	if (killed)
		return;
	for (size_t i = 0; i < is->nr_held; i++) {
		struct inet_held *h = &is->held[i];

		if (!h->repair)
			continue;
		pr_debug("%s: out of repair mode: the dump failed, the tree runs on", h->who);
		if (!leave_repair(h->fd, h->reuseaddr, h->who))
			h->repair = false;
	}
}

void inet_dump_free(void *st)
{
	struct inet_dump_state *is = st;

	for (size_t i = 0; i < is->nr_held; i++)
		close(is->held[i].fd);
	free(is->held);
	for (size_t i = 0; i < is->nr_q; i++)
		inet_queue_entry__free_unpacked(is->q[i], NULL);
	free(is->q);
	inet_diag_free(&is->diag);
	inet_mc_cands_free(&is->mc);
	sk_kind_cache_free(&is->sk_defaults);
	sk_kind_cache_free(&is->inet_defaults);
	if (is->ctx)
		inet_lock_free(is->ctx, is);
}
