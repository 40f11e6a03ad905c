/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP connections through TCP_REPAIR (linux/tcp.h; CAP_NET_ADMIN): what a
 * connection is (sequence numbers, agreed options, windows, queues, FINs
 * sent and received) read from a socket in repair mode, and made again on
 * a new socket without a packet on the wire until repair mode is left.
 * The socket kind (snap/files/files-inet*.c) decides when; this file only
 * knows the kernel's side.
 *
 * Restore, in order: tcp_repair_on() and tcp_conn_restore_seqs() on a new
 * socket, bind() and connect() (no SYN in repair mode), then
 * tcp_conn_restore() (options, queues, window, our FIN); later, once every
 * socket of the tree exists, tcp_repair_off(), tcp_conn_fin_in() (the
 * peer's FIN) and tcp_conn_send() (bytes not sent yet, shutdown).
 */
#ifndef SNAP_NET_INET_REPAIR_H
#define SNAP_NET_INET_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/tcp.h>

#include "net/sk-opts.h"
#include "sk-inet.pb-c.h"

/* Kernel TCP states (include/net/tcp_states.h). */
enum {
	TCPS_ESTABLISHED = 1,
	TCPS_SYN_SENT,
	TCPS_SYN_RECV,
	TCPS_FIN_WAIT1,
	TCPS_FIN_WAIT2,
	TCPS_TIME_WAIT,
	TCPS_CLOSE,
	TCPS_CLOSE_WAIT,
	TCPS_LAST_ACK,
	TCPS_LISTEN,
	TCPS_CLOSING,
	TCPS_NEW_SYN_RECV,
};

/* "ESTABLISHED", "FIN_WAIT2"... */
const char *tcp_state_name(unsigned int state);
/* A state between ESTABLISHED and CLOSE that a saved connection can come back in. */
bool tcp_state_repairable(unsigned int state);

/* Enter repair mode. 0 or -1 logged (EPERM: snap lacks CAP_NET_ADMIN). */
int tcp_repair_on(int fd, const char *who);
/* Leave it without a window probe (TCP_REPAIR_OFF_NO_WP, or OFF on kernels without). */
int tcp_repair_off(int fd, const char *who);

/* A connection's queues as read: the send queue (unacked, then unsent) and the receive queue. */
struct tcp_queues {
	uint8_t *snd, *rcv;
	uint32_t snd_len, rcv_len;
};

/*
 * @fd, in repair mode, in TCP state @state: its connection into @c and
 * @q (both the caller's; free @q with tcp_queues_free()). @ti and @rd were
 * read before repair mode (the options the connection agreed, its buffer
 * sizes and SO_PEEK_OFF): not read again. 0 or -1 logged.
 */
int tcp_conn_dump(int fd, unsigned int state, const struct tcp_info *ti,
		  const struct sk_read *rd, TcpConn *c, struct tcp_queues *q, const char *who);
void tcp_queues_free(struct tcp_queues *q);

/* Check @c as read from an image, with its queues' lengths. 0 or -1 logged. */
int tcp_conn_check(const TcpConn *c, unsigned int state, uint32_t snd_len, uint32_t rcv_len,
		   const char *who);

/* A new socket in repair mode, before bind() and connect(): its sequence numbers. */
int tcp_conn_restore_seqs(int fd, const TcpConn *c, const char *who);
/*
 * Connected in repair mode: the agreed options, the queues (@snd holds
 * unacked + unsent bytes, @rcv the bytes to read), the windows, and a FIN
 * that had gone out. 0 or -1 logged.
 */
int tcp_conn_restore(int fd, unsigned int state, const TcpConn *c, const uint8_t *snd,
		     const uint8_t *rcv, const char *who);

/* The two ends, for the peer's FIN: addresses in network order, ports in host order. */
struct tcp_ends {
	int family;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
};

/*
 * In repair mode, before anything can come in: the program's socket filter
 * in @o, if it had one, so that nothing it would have dropped gets in
 * between repair mode and finish (the peer's answer to what goes out then,
 * a reset from a peer that is gone, a FIN retransmitted). A connection
 * whose peer's FIN is to be fed in gets a filter that lets only FINs in,
 * until sk_opts_restore() sets the program's. 0 or -1 logged.
 */
int tcp_conn_filter(int fd, const TcpConn *c, const SkOpts *o, const char *who);
/*
 * Out of repair mode: the peer's FIN, if it had come, made up and fed in
 * (a socket filter of the program's would drop it: set it after). 0 or -1
 * logged.
 */
int tcp_conn_fin_in(int fd, const TcpConn *c, const struct tcp_ends *e, const char *who);
/*
 * Then send the bytes that had not been sent, and shut down our side if it
 * was and our FIN had not gone out (or, in LAST_ACK, comes after theirs).
 */
int tcp_conn_send(int fd, unsigned int state, const TcpConn *c, const uint8_t *snd,
		  const char *who);

/*
 * A packet from the peer, made up and delivered through a raw socket
 * (inet-inject.c): a FIN with @seq, acking @ack, window field @win. @e's
 * remote end sends it to its local end. 0 or -1 logged.
 */
int inet_inject_fin(const struct tcp_ends *e, uint32_t seq, uint32_t ack, uint16_t win,
		    const char *who);
/*
 * A datagram of @protocol (UDP or UDP-lite) from @src:@sport to @dst:@dport,
 * delivered as if it came from there. 0 or -1 logged.
 */
int inet_inject_dgram(int family, int protocol, const uint8_t *src, uint16_t sport,
		      const uint8_t *dst, uint16_t dport, const uint8_t *data, size_t len,
		      const char *who);

#endif
