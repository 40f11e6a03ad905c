// SPDX-License-Identifier: GPL-2.0
/*
 * Inet socket options below SOL_SOCKET (see inet-opts.h). The int options
 * are one table: each is read on the socket and on a fresh socket of the
 * same family, type and protocol (read once a kind in a dump: the
 * cache), and saved only when they differ; an option the kind of socket
 * lacks fails on the fresh one and is left out. The few
 * that are not ints (IP_MULTICAST_IF, TCP_CONGESTION, the ICMP filters)
 * have their own code.
 *
 * Order at restore: what bind() heeds comes before it (restore_bind); the
 * rest after, for a TCP connection once it is out of repair mode.
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/icmp.h>

#include "log.h"
#include "net/inet-opts.h"

#ifndef SOL_RAW
#define SOL_RAW 255
#endif

/* The part of an inet_sk_entry an option lives in. */
enum opt_msg { IN_IP, IN_TCP, IN_ENTRY };

#define F_BIND	 1 /* bind() heeds it: set before */
#define F_UNCONN 2 /* saved for a listener or an unconnected socket only */
#define TCP_MAXSEG_SETTABLE 32767 /* the most setsockopt(TCP_MAXSEG) takes */
/*
 * Multicast: not for TCP (setting it fails; an accepted socket reads the
 * TTL its SYN came with).
 */
#define F_DGRAM 4

struct int_opt {
	int level, opt;
	const char *name;
	enum opt_msg msg;
	size_t has, val; /* offsets of has_<f> and <f>, both 32 bits wide */
	unsigned int flags;
};

#define IP_OPT(l, o, f, fl)                                                                        \
	{                                                                                          \
		l, o, #o, IN_IP, offsetof(IpOpts, has_##f), offsetof(IpOpts, f), fl                \
	}
#define TCP_OPT(o, f, fl)                                                                          \
	{                                                                                          \
		IPPROTO_TCP, o, #o, IN_TCP, offsetof(TcpOpts, has_##f), offsetof(TcpOpts, f), fl   \
	}
#define SK_OPT(l, o, f)                                                                            \
	{                                                                                          \
		l, o, #o, IN_ENTRY, offsetof(InetSkEntry, has_##f), offsetof(InetSkEntry, f), 0    \
	}

static const struct int_opt int_opts[] = {
	IP_OPT(IPPROTO_IP, IP_FREEBIND, freebind, F_BIND),
	IP_OPT(IPPROTO_IP, IP_TRANSPARENT, transparent, F_BIND),
	IP_OPT(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, bind_address_no_port, F_BIND),
	IP_OPT(IPPROTO_IP, IP_TOS, tos, 0),
	IP_OPT(IPPROTO_IP, IP_TTL, ttl, 0),
	IP_OPT(IPPROTO_IP, IP_MULTICAST_TTL, mc_ttl, F_DGRAM),
	IP_OPT(IPPROTO_IP, IP_MULTICAST_LOOP, mc_loop, F_DGRAM),
	IP_OPT(IPPROTO_IP, IP_MULTICAST_ALL, mc_all, F_DGRAM),
	IP_OPT(IPPROTO_IP, IP_RECVERR, recverr, 0),
	IP_OPT(IPPROTO_IP, IP_PKTINFO, pktinfo, 0),
	IP_OPT(IPPROTO_IP, IP_RECVTTL, recvttl, 0),
	IP_OPT(IPPROTO_IP, IP_RECVTOS, recvtos, 0),
	IP_OPT(IPPROTO_IP, IP_MTU_DISCOVER, mtu_discover, 0),
	IP_OPT(IPPROTO_IP, IP_NODEFRAG, nodefrag, 0),
	IP_OPT(IPPROTO_IP, IP_HDRINCL, hdrincl, 0),
	IP_OPT(IPPROTO_IP, IP_RECVORIGDSTADDR, recvorigdstaddr, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_V6ONLY, v6only, F_BIND),
	IP_OPT(IPPROTO_IPV6, IPV6_FREEBIND, freebind6, F_BIND),
	IP_OPT(IPPROTO_IPV6, IPV6_TRANSPARENT, transparent6, F_BIND),
	IP_OPT(IPPROTO_IPV6, IPV6_TCLASS, tclass, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS, unicast_hops, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, mc6_hops, F_DGRAM),
	IP_OPT(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, mc6_loop, F_DGRAM),
	IP_OPT(IPPROTO_IPV6, IPV6_MULTICAST_IF, mc6_ifindex, F_DGRAM),
	IP_OPT(IPPROTO_IPV6, IPV6_MULTICAST_ALL, mc6_all, F_DGRAM),
	IP_OPT(IPPROTO_IPV6, IPV6_RECVPKTINFO, recvpktinfo6, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, recvhoplimit, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_RECVTCLASS, recvtclass, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_RECVERR, recverr6, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_MTU_DISCOVER, mtu_discover6, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, autoflowlabel, 0),
	IP_OPT(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, recvorigdstaddr6, 0),
	TCP_OPT(TCP_NODELAY, nodelay, 0),
	TCP_OPT(TCP_CORK, cork, 0),
	TCP_OPT(TCP_KEEPIDLE, keepidle, 0),
	TCP_OPT(TCP_KEEPINTVL, keepintvl, 0),
	TCP_OPT(TCP_KEEPCNT, keepcnt, 0),
	TCP_OPT(TCP_DEFER_ACCEPT, defer_accept, 0),
	TCP_OPT(TCP_FASTOPEN, fastopen, 0),
	TCP_OPT(TCP_FASTOPEN_CONNECT, fastopen_connect, 0),
	/* Once connected these read what the connection agreed, not what was set. */
	TCP_OPT(TCP_MAXSEG, maxseg, F_UNCONN),
	TCP_OPT(TCP_WINDOW_CLAMP, window_clamp, F_UNCONN),
	TCP_OPT(TCP_USER_TIMEOUT, user_timeout, 0),
	TCP_OPT(TCP_NOTSENT_LOWAT, notsent_lowat, 0),
	TCP_OPT(TCP_SYNCNT, syncnt, 0),
	TCP_OPT(TCP_LINGER2, linger2, 0),
	TCP_OPT(TCP_THIN_LINEAR_TIMEOUTS, thin_linear_timeouts, 0),
	SK_OPT(IPPROTO_UDP, UDP_CORK, udp_cork),
	SK_OPT(IPPROTO_UDP, UDP_SEGMENT, udp_segment),
	SK_OPT(IPPROTO_UDP, UDP_GRO, udp_gro),
	SK_OPT(IPPROTO_IPV6, IPV6_CHECKSUM, ipv6_checksum),
};

#define TCP_LISTEN_STATE 10
#define TCP_CLOSE_STATE	 7

static void *part(InetSkEntry *ie, enum opt_msg m)
{
	return m == IN_IP ? (void *)ie->ip : m == IN_TCP ? (void *)ie->tcp : (void *)ie;
}

static const void *cpart(const InetSkEntry *ie, enum opt_msg m)
{
	return m == IN_IP    ? (const void *)ie->ip
	       : m == IN_TCP ? (const void *)ie->tcp
			     : (const void *)ie;
}

static uint32_t get_field(const void *msg, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)msg + off, sizeof(v));
	return v;
}

static void set_field(void *msg, size_t off, uint32_t v)
{
	memcpy((char *)msg + off, &v, sizeof(v));
}

/* The part @m of @ie, made if it is not there yet. */
static void *need_part(InetSkEntry *ie, enum opt_msg m)
{
	if (m == IN_IP && !ie->ip) {
		ie->ip = malloc(sizeof(*ie->ip));
		if (ie->ip)
			ip_opts__init(ie->ip);
	} else if (m == IN_TCP && !ie->tcp) {
		ie->tcp = malloc(sizeof(*ie->tcp));
		if (ie->tcp)
			tcp_opts__init(ie->tcp);
	}
	return part(ie, m);
}

static int get_int(int fd, int level, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	*v = 0;
	return getsockopt(fd, level, opt, v, &len);
}

static bool unconnected(const InetSkEntry *ie)
{
	return ie->state == TCP_LISTEN_STATE || ie->state == TCP_CLOSE_STATE;
}

#define NR_INT_OPTS (sizeof(int_opts) / sizeof(int_opts[0]))

/* A fresh socket's values for one kind of socket (inet-opts.h). */
struct inet_kind_defaults {
	struct sk_kind k;
	int ints[NR_INT_OPTS];
	bool has_int[NR_INT_OPTS];	/* the kind has the option */
	bool has_mc_if, has_cc, has_icmp;
	struct in_addr mc_if;
	char cc[32];
	socklen_t icmp_len;
	uint8_t icmp[sizeof(struct icmp6_filter)];
};

/* Where a raw socket of @family keeps its ICMP filter. */
static void icmp_filter_opt(int family, int *level, int *opt)
{
	*level = family == AF_INET ? SOL_RAW : IPPROTO_ICMPV6;
	*opt = family == AF_INET ? ICMP_FILTER : ICMP6_FILTER;
}

/* Every option of the table and the others, read on a fresh socket of @ie's kind. */
static int read_defaults(const InetSkEntry *ie, struct inet_kind_defaults *def, const char *who)
{
	int fresh = socket(ie->family, ie->type | SOCK_CLOEXEC, ie->protocol), level, opt;
	socklen_t len;

	if (fresh < 0) {
		pr_perror("%s: cannot make a fresh socket to compare its options with", who);
		return -1;
	}
	memset(def, 0, sizeof(*def));
	def->k = (struct sk_kind){ie->family, ie->type, ie->protocol};
	for (size_t i = 0; i < NR_INT_OPTS; i++)
		def->has_int[i] =
			!get_int(fresh, int_opts[i].level, int_opts[i].opt, &def->ints[i]);
	len = sizeof(def->mc_if);
	def->has_mc_if = !getsockopt(fresh, IPPROTO_IP, IP_MULTICAST_IF, &def->mc_if, &len);
	len = sizeof(def->cc) - 1;
	def->has_cc = !getsockopt(fresh, IPPROTO_TCP, TCP_CONGESTION, def->cc, &len);
	icmp_filter_opt(ie->family, &level, &opt);
	def->icmp_len = sizeof(def->icmp);
	def->has_icmp =
		ie->type == SOCK_RAW && !getsockopt(fresh, level, opt, def->icmp, &def->icmp_len);
	close(fresh);
	return 0;
}

/* The defaults of @ie's kind: from @c once read, else read (and kept in @c). NULL logged. */
static const struct inet_kind_defaults *defaults(struct sk_kind_cache *c, const InetSkEntry *ie,
						 struct inet_kind_defaults *tmp, const char *who)
{
	struct sk_kind k = {ie->family, ie->type, ie->protocol};
	const struct inet_kind_defaults *hit = c ? sk_kind_find(c, sizeof(*hit), &k) : NULL;

	if (hit)
		return hit;
	if (read_defaults(ie, tmp, who))
		return NULL;
	/* Not kept (no memory): the next socket of the kind reads them again. */
	hit = c ? sk_kind_keep(c, sizeof(*tmp), tmp) : NULL;
	return hit ? hit : tmp;
}

/*
 * Option @o as sock_diag told it in @diag (which holds them as the option
 * reads them), else false: then getsockopt() reads it. A socket's dump is
 * mostly getsockopt() calls, ~1 µs each on this machine: a TCP connection
 * needs 7 fewer so.
 */
static bool from_diag(const struct inet_diag *diag, const struct int_opt *o, int *v)
{
	const struct inet_diag_sockopt *so = &diag->sockopt;

	if (o->level == IPPROTO_IPV6 && o->opt == IPV6_TCLASS) {
		*v = diag->tclass;
		return diag->tclass >= 0;
	}
	if (o->level == IPPROTO_IP && o->opt == IP_TOS) {
		*v = diag->tos;
		return diag->tos >= 0;
	}
	if (o->level != IPPROTO_IP || !diag->has_sockopt)
		return false;
	switch (o->opt) {
	case IP_FREEBIND:
		*v = so->freebind;
		return true;
	case IP_TRANSPARENT:
		*v = so->transparent;
		return true;
	case IP_BIND_ADDRESS_NO_PORT:
		*v = so->bind_address_no_port;
		return true;
	case IP_RECVERR:
		*v = so->recverr;
		return true;
	case IP_NODEFRAG:
		*v = so->nodefrag;
		return true;
	case IP_HDRINCL:
		*v = so->hdrincl;
		return true;
	case IP_MULTICAST_LOOP:
		*v = so->mc_loop;
		return true;
	case IP_MULTICAST_ALL:
		*v = so->mc_all;
		return true;
	}
	return false;
}

static int dump_ints(int fd, const struct inet_kind_defaults *def, InetSkEntry *ie,
		     const struct inet_diag *diag, const char *who)
{
	for (size_t i = 0; i < NR_INT_OPTS; i++) {
		const struct int_opt *o = &int_opts[i];
		void *msg;
		int v;

		if ((o->flags & F_UNCONN && !unconnected(ie)) ||
		    (o->flags & F_DGRAM && ie->type == SOCK_STREAM) || !def->has_int[i])
			continue;
		if ((!diag || !from_diag(diag, o, &v)) && get_int(fd, o->level, o->opt, &v)) {
			pr_perror("%s: cannot read %s", who, o->name);
			return -1;
		}
		if (v == def->ints[i])
			continue;
		/*
		 * A closed socket that was connected reads the MSS its
		 * connection had, which may be above what setsockopt() takes
		 * (the kernel's MAX_TCP_WINDOW): no one set that.
		 */
		if (o->level == IPPROTO_TCP && o->opt == TCP_MAXSEG && v > TCP_MAXSEG_SETTABLE)
			continue;
		msg = need_part(ie, o->msg);
		if (!msg) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		set_field(msg, o->has, 1);
		set_field(msg, o->val, v);
	}
	return 0;
}

static int dump_mc_if(int fd, const struct inet_kind_defaults *def, InetSkEntry *ie,
		      const char *who)
{
	struct in_addr a = {0};
	socklen_t len = sizeof(a);

	if (!def->has_mc_if)
		return 0;
	if (getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, &len)) {
		pr_perror("%s: cannot read IP_MULTICAST_IF", who);
		return -1;
	}
	if (a.s_addr == def->mc_if.s_addr)
		return 0;
	if (!need_part(ie, IN_IP))
		goto oom;
	ie->ip->has_mc_addr = true;
	ie->ip->mc_addr.data = malloc(4);
	if (!ie->ip->mc_addr.data)
		goto oom;
	memcpy(ie->ip->mc_addr.data, &a, 4);
	ie->ip->mc_addr.len = 4;
	return 0;
oom:
	pr_err("%s: out of memory", who);
	return -1;
}

static int dump_congestion(int fd, const struct inet_kind_defaults *def, InetSkEntry *ie,
			   const char *who)
{
	char cc[32] = "";
	socklen_t len = sizeof(cc) - 1;

	if (!def->has_cc)
		return 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len)) {
		pr_perror("%s: cannot read TCP_CONGESTION", who);
		return -1;
	}
	if (!strcmp(cc, def->cc))
		return 0;
	if (!need_part(ie, IN_TCP) || !(ie->tcp->congestion = strdup(cc))) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	return 0;
}

/* A raw ICMP socket's ICMP_FILTER, a raw ICMPv6 one's ICMP6_FILTER. */
static int dump_icmp_filter(int fd, const struct inet_kind_defaults *def, InetSkEntry *ie,
			    const char *who)
{
	uint8_t f[sizeof(struct icmp6_filter)];
	socklen_t flen = sizeof(f);
	int level, opt;

	if (!def->has_icmp)
		return 0;
	icmp_filter_opt(ie->family, &level, &opt);
	memset(f, 0, sizeof(f));
	if (getsockopt(fd, level, opt, f, &flen) || flen != def->icmp_len) {
		pr_perror("%s: cannot read its ICMP filter", who);
		return -1;
	}
	if (!memcmp(f, def->icmp, flen))
		return 0;
	ie->has_icmp_filter = true;
	ie->icmp_filter.data = malloc(flen);
	if (!ie->icmp_filter.data) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	memcpy(ie->icmp_filter.data, f, flen);
	ie->icmp_filter.len = flen;
	return 0;
}

int inet_opts_dump(int fd, InetSkEntry *ie, const struct inet_diag *diag,
		   struct sk_kind_cache *cache, const char *who)
{
	struct inet_kind_defaults tmp;
	const struct inet_kind_defaults *def = defaults(cache, ie, &tmp, who);
	int ret;

	if (!def)
		return -1;
	ret = dump_ints(fd, def, ie, diag, who);
	if (!ret && ie->type != SOCK_STREAM)
		ret = dump_mc_if(fd, def, ie, who);
	if (!ret && ie->type == SOCK_STREAM)
		ret = dump_congestion(fd, def, ie, who);
	if (!ret)
		ret = dump_icmp_filter(fd, def, ie, who);
	return ret;
}

/* The options whose F_BIND flag is @bind. */
static int restore_ints(int fd, const InetSkEntry *ie, bool bind, const char *who)
{
	for (size_t i = 0; i < NR_INT_OPTS; i++) {
		const struct int_opt *o = &int_opts[i];
		const void *msg = cpart(ie, o->msg);
		int v;

		if (!msg || !get_field(msg, o->has) || bind != !!(o->flags & F_BIND))
			continue;
		v = get_field(msg, o->val);
		if (setsockopt(fd, o->level, o->opt, &v, sizeof(v))) {
			pr_perror("%s: cannot set %s to %d", who, o->name, v);
			return -1;
		}
	}
	return 0;
}

int inet_opts_restore_bind(int fd, const InetSkEntry *ie, const char *who)
{
	return restore_ints(fd, ie, true, who);
}

int inet_opts_restore(int fd, const InetSkEntry *ie, const char *who)
{
	if (restore_ints(fd, ie, false, who))
		return -1;
	if (ie->ip && ie->ip->has_mc_addr &&
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, ie->ip->mc_addr.data, 4)) {
		pr_perror("%s: cannot set IP_MULTICAST_IF", who);
		return -1;
	}
	if (ie->tcp && ie->tcp->congestion &&
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, ie->tcp->congestion,
		       strlen(ie->tcp->congestion))) {
		pr_perror("%s: cannot set TCP_CONGESTION to %s", who, ie->tcp->congestion);
		return -1;
	}
	if (ie->has_icmp_filter && setsockopt(fd, ie->family == AF_INET ? SOL_RAW : IPPROTO_ICMPV6,
					      ie->family == AF_INET ? ICMP_FILTER : ICMP6_FILTER,
					      ie->icmp_filter.data, ie->icmp_filter.len)) {
		pr_perror("%s: cannot set its ICMP filter", who);
		return -1;
	}
	return 0;
}

int inet_opts_check(const InetSkEntry *ie, const char *who)
{
	size_t want =
		ie->family == AF_INET ? sizeof(struct icmp_filter) : sizeof(struct icmp6_filter);

	if (ie->ip && ie->ip->has_mc_addr && ie->ip->mc_addr.len != 4) {
		pr_err("%s: an IP_MULTICAST_IF address of %zu bytes", who, ie->ip->mc_addr.len);
		return -1;
	}
	if (ie->tcp && ie->tcp->congestion && strlen(ie->tcp->congestion) >= 16) {
		pr_err("%s: a TCP_CONGESTION name longer than the kernel's", who);
		return -1;
	}
	if (ie->has_icmp_filter && ie->icmp_filter.len != want) {
		pr_err("%s: an ICMP filter of %zu bytes, not %zu", who, ie->icmp_filter.len, want);
		return -1;
	}
	return 0;
}
