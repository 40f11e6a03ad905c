// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_REPAIR, both ways (see inet-repair.h).
 *
 * Sequence numbers. TCP_QUEUE_SEQ reads write_seq for the send queue and
 * rcv_nxt for the receive queue; a FIN counts one in each. The image holds
 * the sequence number of the first byte of each queue, FINs left out, so
 * that refilling the queues brings both back to what they were:
 *
 *   snd_seq = write_seq - [our FIN queued] - bytes in the send queue
 *   rcv_seq = rcv_nxt - [their FIN came] - bytes not read
 *
 * The send queue holds bytes sent and not acked (SIOCOUTQ counts them and
 * the unsent ones, and an unacked FIN) followed by bytes not sent yet
 * (SIOCOUTQNSD, with a FIN not sent yet). In repair mode, bytes written to
 * the send queue count as sent: the unacked part is refilled so (it goes
 * out again when the retransmission timer says), the unsent part is sent
 * once repair mode is off, as the program's own write would be.
 *
 * FINs. Ours, once sent, is queued again in repair mode by shutdown(), as
 * sent: it is retransmitted, and the peer acks it again. If it had not gone
 * out yet, shutdown() comes after the unsent bytes. Theirs cannot be queued
 * to read: a FIN packet is made up from the peer's address (inet-inject.c)
 * once the socket is out of repair mode, as the kernel would have received
 * it. The states come back as ESTABLISHED -> FIN_WAIT1 (then FIN_WAIT2 once
 * the peer acks again), CLOSE_WAIT, LAST_ACK (their FIN, then ours), and
 * CLOSING (ours, then theirs).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net/inet-repair.h"
#include "net/sk-opts.h"

/* TCP option kinds for TCP_REPAIR_OPTIONS (RFC 793, 7323, 2018). */
#define TCPOPT_MSS_KIND	      2
#define TCPOPT_WINDOW_KIND    3
#define TCPOPT_SACK_PERM_KIND 4
#define TCPOPT_TIMESTAMP_KIND 8

#define SEQ_AFTER(a, b) ((int32_t)((a) - (b)) > 0)

static const char *const state_names[] = {
	[TCPS_ESTABLISHED] = "ESTABLISHED",
	[TCPS_SYN_SENT] = "SYN_SENT",
	[TCPS_SYN_RECV] = "SYN_RECV",
	[TCPS_FIN_WAIT1] = "FIN_WAIT1",
	[TCPS_FIN_WAIT2] = "FIN_WAIT2",
	[TCPS_TIME_WAIT] = "TIME_WAIT",
	[TCPS_CLOSE] = "CLOSE",
	[TCPS_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCPS_LAST_ACK] = "LAST_ACK",
	[TCPS_LISTEN] = "LISTEN",
	[TCPS_CLOSING] = "CLOSING",
	[TCPS_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

const char *tcp_state_name(unsigned int state)
{
	if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "an unknown state";
}

bool tcp_state_repairable(unsigned int state)
{
	return state == TCPS_ESTABLISHED || state == TCPS_FIN_WAIT1 || state == TCPS_FIN_WAIT2 ||
	       state == TCPS_CLOSE_WAIT || state == TCPS_LAST_ACK || state == TCPS_CLOSING;
}

/* Our FIN is counted in write_seq. */
static bool fin_in_seq(unsigned int state)
{
	return state == TCPS_FIN_WAIT1 || state == TCPS_FIN_WAIT2 || state == TCPS_CLOSING ||
	       state == TCPS_LAST_ACK;
}

static bool fin_received(unsigned int state)
{
	return state == TCPS_CLOSE_WAIT || state == TCPS_LAST_ACK || state == TCPS_CLOSING;
}

static int set_int(int fd, int opt, int v)
{
	return setsockopt(fd, IPPROTO_TCP, opt, &v, sizeof(v));
}

static int get_int(int fd, int level, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, level, opt, v, &len);
}

int tcp_repair_on(int fd, const char *who)
{
	if (!set_int(fd, TCP_REPAIR, TCP_REPAIR_ON))
		return 0;
	if (errno == EPERM)
		pr_err("%s: TCP_REPAIR needs CAP_NET_ADMIN, which snap lacks", who);
	else
		pr_perror("%s: cannot put the connection in repair mode", who);
	return -1;
}

int tcp_repair_off(int fd, const char *who)
{
	/* Kernels before 4.17 lack NO_WP: their OFF sends a harmless window probe. */
	if (!set_int(fd, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP) ||
	    (errno == EINVAL && !set_int(fd, TCP_REPAIR, TCP_REPAIR_OFF)))
		return 0;
	pr_perror("%s: cannot take the connection out of repair mode", who);
	return -1;
}

/* Read queue @queue (TCP_SEND_QUEUE, TCP_RECV_QUEUE): its seq, and up to @max bytes of it. */
static int peek_queue(int fd, int queue, uint32_t *seq, uint8_t **buf, uint32_t max, uint32_t *len,
		      const char *who)
{
	ssize_t n;
	int v;

	*buf = NULL;
	*len = 0;
	if (set_int(fd, TCP_REPAIR_QUEUE, queue) || get_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &v)) {
		pr_perror("%s: cannot read the sequence number of its %s queue", who,
			  queue == TCP_SEND_QUEUE ? "send" : "receive");
		return -1;
	}
	*seq = v;
	if (!max)
		return 0;
	*buf = malloc(max);
	if (!*buf) {
		pr_err("%s: out of memory for %u queued bytes", who, max);
		return -1;
	}
	n = recv(fd, *buf, max, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN) {
			pr_perror("%s: cannot read its %s queue", who,
				  queue == TCP_SEND_QUEUE ? "send" : "receive");
			return -1;
		}
		n = 0;
	}
	*len = n;
	return 0;
}

/* The receive queue, read from its start whatever SO_PEEK_OFF (@off) the program set. */
static int peek_rcv(int fd, int off, uint32_t *seq, uint8_t **buf, uint32_t max, uint32_t *len,
		    const char *who)
{
	int ret, zero = 0;

	if (off > 0 && setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("%s: cannot reset SO_PEEK_OFF to read its queue", who);
		return -1;
	}
	ret = peek_queue(fd, TCP_RECV_QUEUE, seq, buf, max, len, who);
	if (off >= 0 && setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) {
		pr_perror("%s: cannot put SO_PEEK_OFF back to %d", who, off);
		return -1;
	}
	return ret;
}

static int dump_queues(int fd, unsigned int state, int peek_off, TcpConn *c,
		       struct tcp_queues *q, const char *who)
{
	int outq, nsd, inq;
	uint32_t wseq, rnxt;
	bool fin_unacked;

	if (ioctl(fd, SIOCOUTQ, &outq) || ioctl(fd, SIOCOUTQNSD, &nsd) ||
	    ioctl(fd, SIOCINQ, &inq) || outq < 0 || nsd < 0 || inq < 0 || nsd > outq) {
		pr_perror("%s: cannot read its queue lengths", who);
		return -1;
	}
	if (peek_queue(fd, TCP_SEND_QUEUE, &wseq, &q->snd, outq, &q->snd_len, who) ||
	    peek_rcv(fd, peek_off, &rnxt, &q->rcv, inq, &q->rcv_len, who))
		return -1;
	/* Whatever SIOCOUTQ counts beyond the bytes is our FIN, not acked yet. */
	fin_unacked = fin_in_seq(state) && (uint32_t)outq == q->snd_len + 1;
	if ((uint32_t)outq != q->snd_len + fin_unacked || q->rcv_len != (uint32_t)inq) {
		pr_err("%s: its queues hold %u and %u bytes, the kernel said %d and %d "
		       "(urgent data?)",
		       who, q->snd_len, q->rcv_len, outq - fin_unacked, inq);
		return -1;
	}
	/* A FIN not sent yet is the last thing queued: it counts in SIOCOUTQNSD too. */
	c->fin_queued = fin_unacked && nsd > 0;
	c->has_fin_queued = c->fin_queued;
	c->fin_sent = fin_in_seq(state) && !c->fin_queued;
	c->has_fin_sent = c->fin_sent;
	c->fin_rcvd = fin_received(state);
	c->has_fin_rcvd = c->fin_rcvd;
	c->unsent = nsd - c->fin_queued;
	c->unacked = q->snd_len - c->unsent;
	c->inq = q->rcv_len;
	c->snd_seq = wseq - fin_in_seq(state) - q->snd_len;
	c->rcv_seq = rnxt - c->fin_rcvd - q->rcv_len;
	return 0;
}

static int dump_options(int fd, const struct tcp_info *ti, TcpConn *c, const char *who)
{
	int v;

	if (get_int(fd, IPPROTO_TCP, TCP_MAXSEG, &v)) {
		pr_perror("%s: cannot read the options its connection agreed", who);
		return -1;
	}
	/* In repair mode TCP_MAXSEG reads mss_clamp, what the peer allowed. */
	c->mss = v;
	if (ti->tcpi_options & TCPI_OPT_WSCALE) {
		c->has_snd_wscale = c->has_rcv_wscale = true;
		c->snd_wscale = ti->tcpi_snd_wscale;
		c->rcv_wscale = ti->tcpi_rcv_wscale;
	}
	c->has_sack = c->sack = ti->tcpi_options & TCPI_OPT_SACK;
	c->has_timestamps = c->timestamps = ti->tcpi_options & TCPI_OPT_TIMESTAMPS;
	if (c->timestamps) {
		if (get_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v)) {
			pr_perror("%s: cannot read TCP_TIMESTAMP", who);
			return -1;
		}
		c->has_tsval = true;
		c->tsval = v;
	}
	return 0;
}

static int dump_window(int fd, TcpConn *c, const char *who)
{
	struct tcp_repair_window w;
	socklen_t len = sizeof(w);
	uint32_t rcv_nxt = c->rcv_seq + c->inq;

	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len)) {
		pr_perror("%s: cannot read its windows (TCP_REPAIR_WINDOW)", who);
		return -1;
	}
	c->has_snd_wl1 = c->has_snd_wnd = c->has_max_window = true;
	c->has_rcv_wnd = c->has_rcv_wup = true;
	c->snd_wl1 = w.snd_wl1;
	c->snd_wnd = w.snd_wnd;
	c->max_window = w.max_window;
	c->rcv_wnd = w.rcv_wnd;
	/* The window was last advertised past their FIN, which comes back later. */
	c->rcv_wup = SEQ_AFTER(w.rcv_wup, rcv_nxt) ? rcv_nxt : w.rcv_wup;
	if (SEQ_AFTER(c->snd_wl1, rcv_nxt))
		c->snd_wl1 = rcv_nxt;
	return 0;
}

int tcp_conn_dump(int fd, unsigned int state, const struct tcp_info *ti,
		  const struct sk_read *rd, TcpConn *c, struct tcp_queues *q, const char *who)
{
	memset(q, 0, sizeof(*q));
	if (dump_queues(fd, state, rd->peek_off, c, q, who) || dump_options(fd, ti, c, who) ||
	    dump_window(fd, c, who))
		return -1;
	c->has_sndbuf = c->has_rcvbuf = true;
	c->sndbuf = rd->sndbuf;
	c->rcvbuf = rd->rcvbuf;
	return 0;
}

void tcp_queues_free(struct tcp_queues *q)
{
	free(q->snd);
	free(q->rcv);
	memset(q, 0, sizeof(*q));
}

int tcp_conn_check(const TcpConn *c, unsigned int state, uint32_t snd_len, uint32_t rcv_len,
		   const char *who)
{
	if (!tcp_state_repairable(state)) {
		pr_err("%s: a saved connection in TCP state %u (%s)", who, state,
		       tcp_state_name(state));
		return -1;
	}
	if ((uint64_t)c->unacked + c->unsent != snd_len || c->inq != rcv_len) {
		pr_err("%s: its connection says %u + %u bytes to send and %u to read, its queues "
		       "hold %u and %u",
		       who, c->unacked, c->unsent, c->inq, snd_len, rcv_len);
		return -1;
	}
	if ((c->has_snd_wscale && c->snd_wscale > 14) ||
	    (c->has_rcv_wscale && c->rcv_wscale > 14) || c->mss > 65535 ||
	    (c->fin_sent && c->fin_queued) ||
	    ((c->fin_sent || c->fin_queued) != fin_in_seq(state)) ||
	    c->fin_rcvd != fin_received(state)) {
		pr_err("%s: its connection's options or FINs do not fit TCP state %s", who,
		       tcp_state_name(state));
		return -1;
	}
	return 0;
}

int tcp_conn_restore_seqs(int fd, const TcpConn *c, const char *who)
{
	if (set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) ||
	    set_int(fd, TCP_QUEUE_SEQ, c->snd_seq) ||
	    set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) ||
	    set_int(fd, TCP_QUEUE_SEQ, c->rcv_seq)) {
		pr_perror("%s: cannot set its sequence numbers", who);
		return -1;
	}
	return 0;
}

static int restore_options(int fd, const TcpConn *c, const char *who)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n].opt_code = TCPOPT_MSS_KIND;
	o[n++].opt_val = c->mss;
	if (c->has_snd_wscale) {
		o[n].opt_code = TCPOPT_WINDOW_KIND;
		o[n++].opt_val = c->snd_wscale | c->rcv_wscale << 16;
	}
	if (c->sack) {
		o[n].opt_code = TCPOPT_SACK_PERM_KIND;
		o[n++].opt_val = 0;
	}
	if (c->timestamps) {
		o[n].opt_code = TCPOPT_TIMESTAMP_KIND;
		o[n++].opt_val = 0;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0]))) {
		pr_perror("%s: cannot set the options its connection agreed", who);
		return -1;
	}
	if (c->has_tsval && set_int(fd, TCP_TIMESTAMP, c->tsval)) {
		pr_perror("%s: cannot set its TCP timestamp", who);
		return -1;
	}
	return 0;
}

/* Room in buffer @opt (SO_SNDBUF, SO_RCVBUF) for @bytes more: the kernel's own size at dump. */
static int make_room(int fd, int opt, int force, uint32_t bytes, uint32_t was, const char *who)
{
	int now, want;

	if (get_int(fd, SOL_SOCKET, opt, &now) || (uint64_t)now >= (uint64_t)bytes * 2)
		return 0;
	want = was > (uint64_t)bytes * 2 ? was : bytes * 2 + 65536;
	want /= 2;
	if (setsockopt(fd, SOL_SOCKET, force, &want, sizeof(want))) {
		pr_perror("%s: cannot make room for %u queued bytes", who, bytes);
		return -1;
	}
	pr_debug("%s: %s raised to %d to hold %u queued bytes (no longer tuned by the kernel)", who,
		 opt == SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF", want * 2, bytes);
	return 0;
}

/* All of @len bytes into the repair queue @queue. */
static int fill_queue(int fd, int queue, const uint8_t *buf, uint32_t len, const char *who)
{
	uint32_t done = 0;

	if (!len)
		return 0;
	if (set_int(fd, TCP_REPAIR_QUEUE, queue)) {
		pr_perror("%s: TCP_REPAIR_QUEUE", who);
		return -1;
	}
	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_DONTWAIT);

		if (n <= 0) {
			pr_perror("%s: cannot refill its %s queue (%u of %u bytes in)", who,
				  queue == TCP_SEND_QUEUE ? "send" : "receive", done, len);
			return -1;
		}
		done += n;
	}
	return 0;
}

static int restore_window(int fd, const TcpConn *c, const char *who)
{
	struct tcp_repair_window w = {
		.snd_wl1 = c->snd_wl1,
		.snd_wnd = c->snd_wnd,
		.max_window = c->max_window,
		.rcv_wnd = c->rcv_wnd,
		.rcv_wup = c->rcv_wup,
	};

	if (!c->has_snd_wl1)
		return 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w))) {
		pr_perror("%s: cannot set its windows (TCP_REPAIR_WINDOW)", who);
		return -1;
	}
	return 0;
}

int tcp_conn_restore(int fd, unsigned int state, const TcpConn *c, const uint8_t *snd,
		     const uint8_t *rcv, const char *who)
{
	if (restore_options(fd, c, who) ||
	    make_room(fd, SO_SNDBUF, SO_SNDBUFFORCE, c->unacked + c->unsent, c->sndbuf, who) ||
	    make_room(fd, SO_RCVBUF, SO_RCVBUFFORCE, c->inq, c->rcvbuf, who) ||
	    fill_queue(fd, TCP_SEND_QUEUE, snd, c->unacked, who) ||
	    fill_queue(fd, TCP_RECV_QUEUE, rcv, c->inq, who) || restore_window(fd, c, who))
		return -1;
	/* Our FIN had gone out: queued as sent. In LAST_ACK it follows theirs (finish). */
	if (c->fin_sent && state != TCPS_LAST_ACK &&
	    (set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) || shutdown(fd, SHUT_WR))) {
		pr_perror("%s: cannot queue its FIN again", who);
		return -1;
	}
	return 0;
}

/* The FIN we made up moved the socket on (it is taken in by the time sendto() returns). */
static int fin_taken(int fd, const char *who)
{
	struct tcp_info ti;

	for (int i = 0; i < 100; i++) {
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len)) {
			pr_perror("%s: TCP_INFO", who);
			return -1;
		}
		if (ti.tcpi_state != TCPS_ESTABLISHED && ti.tcpi_state != TCPS_FIN_WAIT1 &&
		    ti.tcpi_state != TCPS_FIN_WAIT2)
			return 0;
		usleep(1000);
	}
	pr_err("%s: the FIN it had received, made up again, did not get in (state %s)", who,
	       tcp_state_name(ti.tcpi_state));
	return -1;
}

/*
 * A filter that lets in only segments with FIN set: a socket filter sees
 * the TCP header first, flags in byte 13.
 */
static int fin_only(int fd, const char *who)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x01, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (!setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		return 0;
	pr_perror("%s: cannot filter what comes in until its own filter is back", who);
	return -1;
}

int tcp_conn_filter(int fd, const TcpConn *c, const SkOpts *o, const char *who)
{
	if (!o || !o->n_filter)
		return 0;
	return c->fin_rcvd ? fin_only(fd, who) : sk_opts_restore_filter(fd, o, who);
}

int tcp_conn_fin_in(int fd, const TcpConn *c, const struct tcp_ends *e, const char *who)
{
	uint32_t wnd = c->snd_wnd >> (c->has_snd_wscale ? c->snd_wscale : 0);

	if (!c->fin_rcvd)
		return 0;
	if (inet_inject_fin(e, c->rcv_seq + c->inq, c->snd_seq, wnd > 65535 ? 65535 : wnd, who))
		return -1;
	return fin_taken(fd, who);
}

/*
 * A peer that is gone (its TIME_WAIT left behind in another network
 * namespace, or the peer closed while the process was down) answers what
 * the connection sends with a reset, which may come before the restore is
 * done with it: the program finds it reset, as it would have had it been
 * running. True if so, said once.
 */
static bool reset_meanwhile(int fd, const char *who)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || ti.tcpi_state != TCPS_CLOSE)
		return false;
	pr_warn("%s: its peer reset it during the restore; the program will find it reset", who);
	return true;
}

int tcp_conn_send(int fd, unsigned int state, const TcpConn *c, const uint8_t *snd, const char *who)
{
	bool shut = c->fin_queued || (c->fin_sent && state == TCPS_LAST_ACK);
	uint32_t done = 0;

	/* Looked at first: a failed send() would take the error the program is to find. */
	if ((c->unsent || shut) && reset_meanwhile(fd, who))
		return 0;

	while (done < c->unsent) {
		ssize_t n = send(fd, snd + c->unacked + done, c->unsent - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0) {
			if (reset_meanwhile(fd, who))
				return 0;
			pr_perror("%s: cannot send the %u bytes it had not sent (%u sent)", who,
				  c->unsent, done);
			return -1;
		}
		done += n;
	}
	if (shut && shutdown(fd, SHUT_WR) && !reset_meanwhile(fd, who)) {
		pr_perror("%s: cannot shut it down for writing again", who);
		return -1;
	}
	return 0;
}
