/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The options of an inet socket below SOL_SOCKET (sk-opts.h has those):
 * IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP and the raw ones
 * (ICMP_FILTER, IPV6_CHECKSUM), and the multicast groups it joined. Saved
 * in an inet_sk_entry when they differ from a fresh socket of the same
 * family, type and protocol, and set again on the restored socket.
 */
#ifndef SNAP_NET_INET_OPTS_H
#define SNAP_NET_INET_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "net/inet-diag.h"
#include "net/sk-opts.h"
#include "sk-inet.pb-c.h"


/*
 * Fill @ie's ip, tcp, udp and raw options from @fd, a socket of
 * ie->family, type and protocol in ie->state, and from @diag, its
 * sock_diag record if it has one, against a fresh socket's (in @cache if
 * not NULL). @who names it in messages. 0 or -1 logged.
 */
int inet_opts_dump(int fd, InetSkEntry *ie, const struct inet_diag *diag,
		   struct sk_kind_cache *cache, const char *who);
/*
 * The options bind() heeds (IP_FREEBIND, IP_TRANSPARENT, IPV6_V6ONLY,
 * IP_BIND_ADDRESS_NO_PORT...): set before it. 0 or -1 logged.
 */
int inet_opts_restore_bind(int fd, const InetSkEntry *ie, const char *who);
/* The other options of @ie: after inet_opts_restore_bind(). 0 or -1 logged. */
int inet_opts_restore(int fd, const InetSkEntry *ie, const char *who);
/* Check the options of @ie as read from an image: 0, or -1 logged naming @who. */
int inet_opts_check(const InetSkEntry *ie, const char *who);

/*
 * Multicast groups (inet-mcast.c). No syscall lists the groups a socket
 * joined; /proc/net/igmp and igmp6 list every group joined on each
 * interface, and MCAST_MSFILTER then tells whether a socket is in one, with
 * its source filter.
 */
struct inet_mc_cand {
	int family;
	uint32_t ifindex;
	uint8_t group[16];
};

struct inet_mc_cands {
	struct inet_mc_cand *c;
	size_t nr;
};

/* The groups joined on any interface of the thread's network namespace. 0 or -1 logged. */
int inet_mc_cands_read(struct inet_mc_cands *c);
void inet_mc_cands_free(struct inet_mc_cands *c);
/* The groups of @c that @fd (a socket of ie->family) is in, into ie->mc. 0 or -1 logged. */
int inet_mc_dump(int fd, InetSkEntry *ie, const struct inet_mc_cands *c, const char *who);
/* Join ie->mc again, with their source filters. 0 or -1 logged. */
int inet_mc_restore(int fd, const InetSkEntry *ie, const char *who);

#endif
