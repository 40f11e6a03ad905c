// SPDX-License-Identifier: GPL-2.0
/*
 * The network lock's names and keys (netlock.h), with no kernel in them:
 * a connection's set key and back, its text form for the command line and
 * --list, and the name of a table of snap's.
 *
 * Both directions of a connection share one set key, the tree's end first:
 * local address, local port, remote address, remote port. An incoming packet
 * gives it as daddr . dport . saddr . sport, an outgoing one as saddr .
 * sport . daddr . dport. nf_tables puts each field of a concatenated key in
 * registers of 4 bytes, so a 2-byte port takes 4, zero-padded: 16 bytes a
 * key for IPv4, 40 for IPv6.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/netlock.h"

const char *const netlock_set_names[2] = { "conns4", "conns6" };

static bool v4_mapped(const uint8_t *a)
{
	static const uint8_t pre[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, pre, sizeof(pre));
}

size_t netlock_key(const struct netlock_conn *c, uint8_t key[40], int *set)
{
	size_t alen, off = 0;
	const uint8_t *la = c->laddr, *ra = c->raddr;
	uint16_t lp = htons(c->lport), rp = htons(c->rport);

	if (c->family == AF_INET) {
		alen = 4;
	} else if (c->family == AF_INET6 && v4_mapped(la) && v4_mapped(ra)) {
		/* An IPv6 socket talking to an IPv4 peer sends IPv4 packets. */
		alen = 4;
		la += 12;
		ra += 12;
	} else if (c->family == AF_INET6) {
		alen = 16;
	} else {
		return 0;
	}
	memset(key, 0, 40);
	memcpy(key + off, la, alen);
	off += alen;
	memcpy(key + off, &lp, 2);
	off += 4;
	memcpy(key + off, ra, alen);
	off += alen;
	memcpy(key + off, &rp, 2);
	*set = alen == 16;
	return off + 4;
}

int netlock_unkey(const uint8_t *key, size_t len, int set, struct netlock_conn *c)
{
	size_t alen = set ? 16 : 4;
	uint16_t p;

	if (len != 2 * alen + 8)
		return -1;
	memset(c, 0, sizeof(*c));
	c->family = set ? AF_INET6 : AF_INET;
	memcpy(c->laddr, key, alen);
	memcpy(&p, key + alen, 2);
	c->lport = ntohs(p);
	memcpy(c->raddr, key + alen + 4, alen);
	memcpy(&p, key + 2 * alen + 4, 2);
	c->rport = ntohs(p);
	return 0;
}

bool netlock_table_name(const char *name, uint64_t *secs)
{
	size_t pre = strlen(NETLOCK_PREFIX);
	const char *p = name + pre;
	char *end;

	if (strncmp(name, NETLOCK_PREFIX, pre) || strlen(name) >= NETLOCK_TABLE_MAX)
		return false;
	if (*p < '0' || *p > '9' || strtoul(p, &end, 10) > INT32_MAX || *end != '-')
		return false;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return false;
	*secs = strtoull(p, &end, 10);
	return !*end;
}

/* "ADDR:PORT": an IPv6 address in brackets. */
static int parse_end(const char *s, size_t len, int *family, uint8_t *addr, uint16_t *port)
{
	char buf[INET6_ADDRSTRLEN + 8], *colon, *end, *a = buf;
	unsigned long p;

	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || !p || p > 65535)
		return -1;
	*port = p;
	if (*a == '[') {
		if (colon[-1] != ']')
			return -1;
		colon[-1] = 0;
		a++;
		*family = AF_INET6;
	} else {
		*family = AF_INET;
	}
	return inet_pton(*family, a, addr) == 1 ? 0 : -1;
}

int netlock_parse_conn(const char *s, struct netlock_conn *c)
{
	/* Neither end holds a '-'. */
	const char *dash = strchr(s, '-');
	int rfamily;

	memset(c, 0, sizeof(*c));
	if (!dash || parse_end(s, dash - s, &c->family, c->laddr, &c->lport) ||
	    parse_end(dash + 1, strlen(dash + 1), &rfamily, c->raddr, &c->rport) ||
	    rfamily != c->family)
		return -1;
	return 0;
}

const char *netlock_format_conn(const struct netlock_conn *c, char *buf, size_t size)
{
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];
	bool v6 = c->family == AF_INET6;

	inet_ntop(c->family, c->laddr, la, sizeof(la));
	inet_ntop(c->family, c->raddr, ra, sizeof(ra));
	snprintf(buf, size, "%s%s%s:%u-%s%s%s:%u", v6 ? "[" : "", la, v6 ? "]" : "", c->lport,
		 v6 ? "[" : "", ra, v6 ? "]" : "", c->rport);
	return buf;
}
