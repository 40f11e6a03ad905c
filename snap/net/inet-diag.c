// SPDX-License-Identifier: GPL-2.0
/*
 * INET_DIAG dumps through libnl3 (see inet-diag.h): one per family and
 * protocol (TCP: one for both, collect_tcp()), each reply turned into a
 * table row. sock-diag.c runs them, and tells "the kernel has no diag
 * module for this protocol" (raw_diag is often not built) from a failure.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net/inet-diag.h"
#include "net/sock-diag.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

/* include/net/tcp_states.h */
#define TCP_STATE_ESTABLISHED 1
#define TCP_STATE_CLOSE_WAIT  8
#define TCP_STATE_LISTEN      10

struct inet_collect {
	struct inet_diag_table *t;
	size_t cap, cap_waiting;
	uint8_t protocol; /* the request's: raw replies carry their own */
};

static int grow(struct inet_diag **v, size_t *cap, size_t nr)
{
	struct inet_diag *n;

	if (nr < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	n = realloc(*v, *cap * sizeof(*n));
	if (!n) {
		pr_err("sock_diag: out of memory for the inet sockets");
		return -1;
	}
	*v = n;
	return 0;
}

static void parse_ulp(struct nlattr *a, struct inet_diag *d)
{
	struct nlattr *tb[INET_ULP_INFO_MAX + 1];

	if (nla_parse_nested(tb, INET_ULP_INFO_MAX, a, NULL) < 0 || !tb[INET_ULP_INFO_NAME]) {
		strcpy(d->ulp, "?");
		return;
	}
	nla_strlcpy(d->ulp, tb[INET_ULP_INFO_NAME], sizeof(d->ulp));
}

static int inet_one(struct nlmsghdr *h, void *arg)
{
	struct inet_collect *ic = arg;
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct inet_diag_msg *m = nlmsg_data(h);
	struct inet_diag *d;

	if (nlmsg_parse(h, sizeof(*m), tb, INET_DIAG_MAX, NULL) < 0) {
		pr_err("sock_diag: an inet socket record does not parse");
		return -1;
	}
	if (m->idiag_inode) {
		if (grow(&ic->t->sk, &ic->cap, ic->t->nr))
			return -1;
		d = &ic->t->sk[ic->t->nr++];
	} else {
		/*
		 * Only a connection waiting in a listener's queue matters without an
		 * inode: not TIME_WAIT, nor an orphan the program closed.
		 */
		if (ic->protocol != IPPROTO_TCP || (m->idiag_state != TCP_STATE_ESTABLISHED &&
						    m->idiag_state != TCP_STATE_CLOSE_WAIT))
			return 0;
		if (grow(&ic->t->waiting, &ic->cap_waiting, ic->t->nr_waiting))
			return -1;
		d = &ic->t->waiting[ic->t->nr_waiting++];
	}
	memset(d, 0, sizeof(*d));
	d->ino = m->idiag_inode;
	d->family = m->idiag_family;
	d->protocol = ic->protocol;
	if (tb[INET_DIAG_PROTOCOL])
		d->protocol = nla_get_u8(tb[INET_DIAG_PROTOCOL]);
	d->state = m->idiag_state;
	memcpy(d->src, m->id.idiag_src, 16);
	memcpy(d->dst, m->id.idiag_dst, 16);
	d->sport = ntohs(m->id.idiag_sport);
	d->dport = ntohs(m->id.idiag_dport);
	d->ifindex = m->id.idiag_if;
	d->rqueue = m->idiag_rqueue;
	d->wqueue = m->idiag_wqueue;
	if (tb[INET_DIAG_SHUTDOWN])
		d->shutdown = nla_get_u8(tb[INET_DIAG_SHUTDOWN]);
	if (tb[INET_DIAG_MD5SIG])
		d->md5 = nla_len(tb[INET_DIAG_MD5SIG]) > 0;
	if (tb[INET_DIAG_ULP_INFO])
		parse_ulp(tb[INET_DIAG_ULP_INFO], d);
	d->tos = tb[INET_DIAG_TOS] ? nla_get_u8(tb[INET_DIAG_TOS]) : -1;
	d->tclass = tb[INET_DIAG_TCLASS] ? nla_get_u8(tb[INET_DIAG_TCLASS]) : -1;
	if (tb[INET_DIAG_SOCKOPT] && nla_len(tb[INET_DIAG_SOCKOPT]) >= (int)sizeof(d->sockopt)) {
		memcpy(&d->sockopt, nla_data(tb[INET_DIAG_SOCKOPT]), sizeof(d->sockopt));
		d->has_sockopt = true;
	}
	return 0;
}

/*
 * The attributes asked for: IP_TOS and IPV6_TCLASS (INET_DIAG_SOCKOPT comes
 * unasked); for TCP, INET_DIAG_INFO brings the MD5 keys and the upper
 * layer protocol along.
 */
static uint8_t ext(uint8_t protocol)
{
	uint8_t e = 1 << (INET_DIAG_TOS - 1) | 1 << (INET_DIAG_TCLASS - 1);

	return protocol == IPPROTO_TCP ? e | 1 << (INET_DIAG_INFO - 1) : e;
}

static int cmp_inet(const void *a, const void *b)
{
	const struct inet_diag *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

/* One family and protocol into @ic. 0, -1 logged, or 1: the kernel cannot list them. */
static int collect_one(struct inet_collect *ic, int family, uint8_t protocol, const char *what)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = protocol,
		.idiag_states = ~0u,
	};

	req.idiag_ext = ext(protocol);
	/* raw_diag reads the raw protocol from the pad byte: IPPROTO_RAW for all. */
	if (protocol == IPPROTO_RAW)
		req.pad = IPPROTO_RAW;
	ic->protocol = protocol;
	return sock_diag_run(what, &req, sizeof(req), inet_one, ic);
}

/*
 * TCP of both families in one walk of the kernel's connection table: the
 * old TCPDIAG_GETSOCK request lists every family, where one per family walks
 * the whole table each (262144 buckets, 1.3 ms a walk on this machine, of a
 * live dump's freeze). A kernel without that request gets one per family.
 * 0, -1 logged, or 1: the kernel cannot list them.
 */
static int collect_tcp(struct inet_collect *ic)
{
	struct inet_diag_req req = {
		.idiag_ext = ext(IPPROTO_TCP),
		.idiag_states = ~0u,
	};
	int ret;

	ic->protocol = IPPROTO_TCP;
	ret = sock_diag_run_as(TCPDIAG_GETSOCK, "TCP", &req, sizeof(req), inet_one, ic);
	if (ret <= 0)
		return ret;
	/* Nothing came from it: the kernel refused the request before the walk. */
	ret = collect_one(ic, AF_INET, IPPROTO_TCP, "TCP");
	return ret ? ret : collect_one(ic, AF_INET6, IPPROTO_TCP, "TCPv6");
}

int inet_diag_walk(struct inet_diag_table *t)
{
	static const struct {
		int family;
		uint8_t protocol;
		const char *what;
	} dumps[] = {
		{AF_INET, IPPROTO_UDP, "UDP"},		{AF_INET6, IPPROTO_UDP, "UDPv6"},
		{AF_INET, IPPROTO_UDPLITE, "UDP-lite"}, {AF_INET6, IPPROTO_UDPLITE, "UDP-litev6"},
		{AF_INET, IPPROTO_RAW, "raw"},		{AF_INET6, IPPROTO_RAW, "rawv6"},
	};
	struct inet_collect ic = {.t = t};
	int ret;

	if (t->walked)
		return 0;
	/* Without tcp_diag, udp_diag or raw_diag their sockets are found by syscalls alone. */
	ret = collect_tcp(&ic);
	t->no_tcp = ret > 0;
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]) && ret >= 0; i++) {
		ret = collect_one(&ic, dumps[i].family, dumps[i].protocol, dumps[i].what);
		if (ret > 0 && dumps[i].protocol == IPPROTO_RAW)
			t->no_raw = true;
	}
	if (ret < 0)
		return -1;
	if (t->nr)
		qsort(t->sk, t->nr, sizeof(*t->sk), cmp_inet);
	t->walked = true;
	pr_debug("inet: sock_diag lists %zu sockets (%zu waiting to be accepted)", t->nr,
		 t->nr_waiting);
	return 0;
}

const struct inet_diag *inet_diag_find(const struct inet_diag_table *t, uint32_t ino)
{
	struct inet_diag key = {.ino = ino};

	if (!t->nr)
		return NULL;
	return bsearch(&key, t->sk, t->nr, sizeof(key), cmp_inet);
}

/* The address and port of @fd's own end (@peer false) or its peer's, into @addr and @port. */
static bool sk_end(int fd, bool peer, uint32_t addr[4], __be16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &len)) {
		if (!peer || errno != ENOTCONN)
			return false;
		ss.ss_family = 0;	/* not connected: any address, port 0 */
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		memcpy(addr, &s6->sin6_addr, 16);
		*port = s6->sin6_port;
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		addr[0] = s4->sin_addr.s_addr;
		*port = s4->sin_port;
	}
	return true;
}

/*
 * The request that looks up socket @fd alone: its family and protocol, both
 * ends and its cookie (so that no other socket on the same ports answers).
 * false: not one the kernel looks up that way (raw, ping, no SO_COOKIE...).
 */
static bool exact_req(int fd, struct inet_diag_req_v2 *req)
{
	int family, protocol, ifindex = 0;
	socklen_t len = sizeof(int);
	struct inet_diag_sockid *id = &req->id;
	uint64_t cookie;
	bool udp;

	memset(req, 0, sizeof(*req));
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len))
		return false;
	udp = protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE;
	if (protocol != IPPROTO_TCP && !udp)
		return false;
	len = sizeof(cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len))
		return false;
	/* Bound to a device: the lookup matches it too. */
	len = sizeof(ifindex);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, &len))
		ifindex = 0;
	/*
	 * tcp_diag takes the socket's own end as the source; udp_diag looks
	 * the socket up as an arriving datagram would, from the peer to it.
	 */
	if (!sk_end(fd, udp, id->idiag_src, &id->idiag_sport) ||
	    !sk_end(fd, !udp, id->idiag_dst, &id->idiag_dport))
		return false;
	req->sdiag_family = family;
	req->sdiag_protocol = protocol;
	req->idiag_states = ~0u;
	req->idiag_ext = ext(protocol);
	id->idiag_if = ifindex;
	memcpy(id->idiag_cookie, &cookie, sizeof(cookie));
	return true;
}

/*
 * Socket @fd, inode @ino, looked up alone into t->exact: 0 found, 1 not
 * (the caller walks), -1 logged.
 */
static int exact_get(struct inet_diag_table *t, int fd, uint32_t ino)
{
	struct inet_diag_table one = {0};
	struct inet_collect ic = {.t = &one};
	struct inet_diag_req_v2 req;
	int ret;

	if (!exact_req(fd, &req))
		return 1;
	ic.protocol = req.sdiag_protocol;
	ret = sock_diag_get(&req, sizeof(req), inet_one, &ic);
	if (!ret && (one.nr != 1 || one.sk[0].ino != ino))
		ret = 1;
	if (!ret && !grow(&t->exact, &t->cap_exact, t->nr_exact))
		t->exact[t->nr_exact++] = one.sk[0];
	else if (!ret)
		ret = -1;
	free(one.sk);
	free(one.waiting);
	return ret;
}

int inet_diag_lookup(struct inet_diag_table *t, int fd, uint32_t ino, const struct inet_diag **out)
{
	const struct inet_diag *d;
	int ret;

	*out = NULL;
	if (!t->walked && t->nr_exact < INET_DIAG_EXACT_MAX) {
		for (size_t i = 0; i < t->nr_exact; i++)
			if (t->exact[i].ino == ino) {
				*out = &t->exact[i];
				return 0;
			}
		ret = exact_get(t, fd, ino);
		if (ret < 0)
			return -1;
		d = ret ? NULL : &t->exact[t->nr_exact - 1];
		/* A listener with connections queued: they are only found by the walk. */
		if (d && !(d->state == TCP_STATE_LISTEN && d->rqueue)) {
			*out = d;
			return 0;
		}
	}
	if (inet_diag_walk(t))
		return -1;
	*out = inet_diag_find(t, ino);
	return 0;
}

void inet_diag_free(struct inet_diag_table *t)
{
	free(t->sk);
	free(t->waiting);
	free(t->exact);
	memset(t, 0, sizeof(*t));
}

int sk_in_our_netns(int fd)
{
	struct stat ours, its;
	int ns, err;

	ns = ioctl(fd, SIOCGSKNS);
	if (ns < 0)
		return -1;
	if (fstat(ns, &its) || stat("/proc/thread-self/ns/net", &ours)) {
		err = errno;
		close(ns);
		errno = err;
		return -1;
	}
	close(ns);
	return its.st_ino == ours.st_ino && its.st_dev == ours.st_dev;
}

/* "0100007F" or four such words: the address as the kernel holds it. */
static void proc_addr(const char *hex, int family, uint8_t *addr)
{
	for (int w = 0; w < (family == AF_INET ? 1 : 4); w++) {
		unsigned int v = 0;

		sscanf(hex + 8 * w, "%8x", &v);
		memcpy(addr + 4 * w, &v, 4);
	}
}

int inet_proc_find(int family, bool ping, uint32_t ino, struct inet_proc_sk *out)
{
	/* thread-self: /proc/net shows the leader's namespace, not the calling thread's. */
	const char *path = ping ? (family == AF_INET ? "/proc/thread-self/net/icmp"
						     : "/proc/thread-self/net/icmp6")
				: (family == AF_INET ? "/proc/thread-self/net/raw"
						     : "/proc/thread-self/net/raw6");
	char line[512], src[40], dst[40];
	unsigned int state;
	unsigned long i;
	FILE *f;
	int found = 0;

	f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line,
			   " %*u: %39[0-9A-Fa-f]:%*x %39[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x "
			   "%*u %*u %lu",
			   src, dst, &state, &i) != 4 ||
		    i != ino)
			continue;
		memset(out, 0, sizeof(*out));
		out->state = state;
		proc_addr(src, family, out->src);
		proc_addr(dst, family, out->dst);
		found = 1;
	}
	fclose(f);
	return found;
}
