/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's view of inet and packet sockets through sock_diag
 * (INET_DIAG, PACKET_DIAG) and libnl3: one dump per family and protocol
 * lists every socket of the thread's network namespace with what no syscall on
 * the socket tells: its shutdown state, the connections waiting in a TCP
 * listener's queue (sockets without an inode yet), TCP-MD5 keys and upper
 * layer protocols (kTLS), a packet socket's memberships, rings and fanout.
 * Dump looks the tree's sockets up one by one while frozen (a walk of the
 * kernel's TCP table costs 1.3 ms here, a lookup about 25 µs), and walks
 * the tables once where that does not do: past 16 sockets, a listener with
 * connections queued, a socket the lookup does not find, a dump that locks
 * the network (it names the tree's connections by inode). A socket not
 * listed lives in another network namespace, or is of a kind the kernel
 * has no diag module for (raw, ping): the caller then asks SIOCGSKNS which.
 */
#ifndef SNAP_NET_INET_DIAG_H
#define SNAP_NET_INET_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/inet_diag.h>

/* One inet socket as sock_diag shows it. */
struct inet_diag {
	uint32_t ino;			/* 0: a connection not accepted yet */
	uint8_t family;			/* AF_INET, AF_INET6 */
	uint8_t protocol;		/* IPPROTO_TCP, UDP, UDPLITE, RAW */
	uint8_t state;			/* TCP_* states (UDP: ESTABLISHED once connected) */
	uint8_t shutdown;		/* RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2 */
	uint8_t src[16], dst[16];	/* network order; IPv4 in the first 4 bytes */
	uint16_t sport, dport;		/* host order */
	uint32_t ifindex;		/* bound to this device */
	uint32_t rqueue, wqueue;	/* listener: waiting, backlog; else bytes queued */
	bool md5;			/* TCP-MD5 keys set (TCP_MD5SIG) */
	char ulp[16];			/* upper layer protocol ("tls"), or "" */
	/*
	 * Options it tells, so that they need no getsockopt() (-1, false:
	 * it did not): IP_TOS, IPV6_TCLASS, and INET_DIAG_SOCKOPT's bits.
	 */
	int16_t tos, tclass;
	bool has_sockopt;
	struct inet_diag_sockopt sockopt;
};

struct inet_diag_table {
	struct inet_diag *sk;		/* with an inode, sorted by ino */
	size_t nr;
	/* TCP, no inode, ESTABLISHED or CLOSE_WAIT: not accepted yet */
	struct inet_diag *waiting;
	size_t nr_waiting;
	bool no_raw;			/* the kernel has no raw_diag: raw sockets not listed */
	bool no_tcp;			/* ... no tcp_diag */
	bool walked;			/* the fields above are filled */
	struct inet_diag *exact;	/* looked up one by one before any walk */
	size_t nr_exact, cap_exact;
};

/* Past this many sockets looked up one by one, one walk of the tables costs less. */
#define INET_DIAG_EXACT_MAX 16

/*
 * Every TCP, UDP, UDP-lite and raw socket of the thread's network namespace
 * into @t (zeroed at first), once. 0 or -1 logged.
 */
int inet_diag_walk(struct inet_diag_table *t);
/* Socket @ino in the walked tables, or NULL. */
const struct inet_diag *inet_diag_find(const struct inet_diag_table *t, uint32_t ino);
/*
 * Socket @fd, inode @ino: looked up alone, or found in the tables walked
 * when that does not do. *@out NULL when sock_diag does not list it. 0 or
 * -1 logged.
 */
int inet_diag_lookup(struct inet_diag_table *t, int fd, uint32_t ino, const struct inet_diag **out);
void inet_diag_free(struct inet_diag_table *t);

/*
 * Whether socket @fd lives in the thread's network namespace (the
 * tree's, while snap dumps its fds: ns/net-ns.h) (SIOCGSKNS): 1 or 0, or -1
 * with errno set, not logged. For a socket the tables do not
 * list.
 */
int sk_in_our_netns(int fd);

/*
 * A raw or ping socket as /proc/net/{raw,raw6,icmp,icmp6} shows it: the
 * kernel has no diag module for ping sockets, and getpeername() cannot
 * tell a connected one (its peer port is 0).
 */
struct inet_proc_sk {
	uint8_t state;
	uint8_t src[16], dst[16];	/* network order */
};

/* Socket @ino of that file: 1 found, 0 not, -1 logged. */
int inet_proc_find(int family, bool ping, uint32_t ino, struct inet_proc_sk *out);

/* One packet socket as sock_diag shows it. */
struct packet_diag_mc {
	uint32_t ifindex, count;
	uint16_t type, alen;
	uint8_t addr[32];
};

/* A ring as PACKET_DIAG_RX_RING/TX_RING show it (struct packet_diag_ring). */
struct packet_ring_cfg {
	uint32_t block_size, block_nr, frame_size, frame_nr;
	uint32_t retire_tmo, sizeof_priv, features;	/* TPACKET_V3 */
};

struct packet_diag {
	uint32_t ino;
	uint8_t type;			/* SOCK_RAW, SOCK_DGRAM */
	uint16_t protocol;		/* ethertype, network order as in socket(2) */
	uint32_t ifindex, version, reserve, copy_thresh, tstamp, flags;	/* PDI_* flags */
	struct packet_diag_mc *mc;
	uint32_t nr_mc;
	bool rx_ring, tx_ring;		/* PACKET_RX_RING, PACKET_TX_RING set up */
	struct packet_ring_cfg rx;	/* rx_ring: as set */
	bool fanout;			/* in a PACKET_FANOUT group */
	uint32_t fanout_id;
	bool filter;			/* a socket filter is attached */
};

struct packet_diag_table {
	struct packet_diag *sk;		/* sorted by ino */
	size_t nr;
};

/* Every packet socket of the thread's network namespace. 0 or -1 logged. */
int packet_diag_collect(struct packet_diag_table *t);
const struct packet_diag *packet_diag_find(const struct packet_diag_table *t, uint32_t ino);
void packet_diag_free(struct packet_diag_table *t);

#endif
