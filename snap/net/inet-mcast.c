// SPDX-License-Identifier: GPL-2.0
/*
 * Multicast groups an inet socket joined (see inet-opts.h). The kernel
 * keeps a socket's memberships in a list no syscall returns; what it shows
 * is every group joined on each interface (/proc/net/igmp, igmp6) and, for
 * one group and interface, whether a socket is a member and with what
 * source filter (MCAST_MSFILTER, EADDRNOTAVAIL when it is not). The
 * candidates are read once per dump; each socket then asks for each.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "net/inet-opts.h"

/* Sources read at most, per group: the kernel's default igmp_max_msf is 10. */
#define MC_MAX_SOURCES 1024

static int add_cand(struct inet_mc_cands *c, size_t *cap, int family, uint32_t ifindex,
		    const uint8_t *group, size_t len)
{
	struct inet_mc_cand *n;

	if (c->nr == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		n = realloc(c->c, *cap * sizeof(*n));
		if (!n) {
			pr_err("out of memory for the multicast groups");
			return -1;
		}
		c->c = n;
	}
	n = &c->c[c->nr++];
	memset(n, 0, sizeof(*n));
	n->family = family;
	n->ifindex = ifindex;
	memcpy(n->group, group, len);
	return 0;
}

/*
 * /proc/net/igmp: a line per interface ("1\tlo        :     1      V3"),
 * then one per group joined on it ("\t\t\t\t010000E0     1 0:00000000\t\t0"),
 * the group as the u32 the kernel holds, in network order.
 */
static int read_igmp(struct inet_mc_cands *c, size_t *cap)
{
	FILE *f = fopen("/proc/thread-self/net/igmp", "re");
	char line[256];
	uint32_t ifindex = 0, group;
	int ret = 0;

	if (!f)
		return errno == ENOENT ? 0 : (pr_perror("cannot open /proc/net/igmp"), -1);
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned int idx;

		if (line[0] >= '0' && line[0] <= '9' && sscanf(line, "%u", &idx) == 1)
			ifindex = idx;
		else if (line[0] == '\t' && ifindex && sscanf(line, " %x", &group) == 1)
			ret = add_cand(c, cap, AF_INET, ifindex, (uint8_t *)&group, 4);
	}
	fclose(f);
	return ret;
}

/* /proc/net/igmp6: "1    lo    ff020000000000000000000000000001     1 0000000C 0". */
static int read_igmp6(struct inet_mc_cands *c, size_t *cap)
{
	FILE *f = fopen("/proc/thread-self/net/igmp6", "re");
	char line[256], hex[33];
	unsigned int ifindex;
	uint8_t group[16];
	int ret = 0;

	if (!f)
		return errno == ENOENT ? 0 : (pr_perror("cannot open /proc/net/igmp6"), -1);
	while (!ret && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %*s %32s", &ifindex, hex) != 2 || strlen(hex) != 32)
			continue;
		for (int i = 0; i < 16; i++)
			sscanf(hex + 2 * i, "%2hhx", &group[i]);
		ret = add_cand(c, cap, AF_INET6, ifindex, group, 16);
	}
	fclose(f);
	return ret;
}

int inet_mc_cands_read(struct inet_mc_cands *c)
{
	size_t cap = 0;

	memset(c, 0, sizeof(*c));
	if (read_igmp(c, &cap) || read_igmp6(c, &cap)) {
		inet_mc_cands_free(c);
		return -1;
	}
	return 0;
}

void inet_mc_cands_free(struct inet_mc_cands *c)
{
	free(c->c);
	c->c = NULL;
	c->nr = 0;
}

static void to_sockaddr(int family, const uint8_t *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, addr, 16);
}

static const uint8_t *from_sockaddr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static int bytes_dup(ProtobufCBinaryData *b, const uint8_t *p, size_t len)
{
	b->data = malloc(len);
	if (!b->data)
		return -1;
	memcpy(b->data, p, len);
	b->len = len;
	return 0;
}

/* @gf, read for @cand, into a new entry of ie->mc. */
static int add_group(InetSkEntry *ie, const struct inet_mc_cand *cand,
		     const struct group_filter *gf)
{
	size_t alen = cand->family == AF_INET ? 4 : 16;
	McGroup **n, *g;

	n = realloc(ie->mc, (ie->n_mc + 1) * sizeof(*n));
	if (!n)
		return -1;
	ie->mc = n;
	g = malloc(sizeof(*g));
	if (!g)
		return -1;
	mc_group__init(g);
	ie->mc[ie->n_mc++] = g;
	g->ifindex = cand->ifindex;
	g->fmode = gf->gf_fmode;
	if (bytes_dup(&g->group, cand->group, alen))
		return -1;
	if (!gf->gf_numsrc)
		return 0;
	g->sources = calloc(gf->gf_numsrc, sizeof(*g->sources));
	if (!g->sources)
		return -1;
	for (uint32_t i = 0; i < gf->gf_numsrc; i++) {
		if (bytes_dup(&g->sources[i], from_sockaddr(&gf->gf_slist[i]), alen))
			return -1;
		g->n_sources++;
	}
	return 0;
}

int inet_mc_dump(int fd, InetSkEntry *ie, const struct inet_mc_cands *c, const char *who)
{
	int level = ie->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	socklen_t size = GROUP_FILTER_SIZE(MC_MAX_SOURCES);
	struct group_filter *gf;
	int ret = 0;

	/* Only datagram and raw sockets receive multicast. */
	if (ie->type == SOCK_STREAM || !c->nr)
		return 0;
	gf = malloc(size);
	if (!gf) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	for (size_t i = 0; i < c->nr && !ret; i++) {
		socklen_t len = size;

		if (c->c[i].family != (int)ie->family)
			continue;
		memset(gf, 0, size);
		gf->gf_interface = c->c[i].ifindex;
		gf->gf_numsrc = MC_MAX_SOURCES;
		to_sockaddr(ie->family, c->c[i].group, &gf->gf_group);
		if (getsockopt(fd, level, MCAST_MSFILTER, gf, &len)) {
			/* Not a member of this one. */
			if (errno == EADDRNOTAVAIL || errno == EINVAL || errno == ENODEV)
				continue;
			pr_perror("%s: cannot read its multicast memberships", who);
			ret = -1;
			break;
		}
		if (gf->gf_numsrc > MC_MAX_SOURCES) {
			pr_err("%s: a multicast group with %u sources, more than snap reads (%d)",
			       who, gf->gf_numsrc, MC_MAX_SOURCES);
			ret = -1;
			break;
		}
		if (add_group(ie, &c->c[i], gf)) {
			pr_err("%s: out of memory", who);
			ret = -1;
		}
	}
	free(gf);
	return ret;
}

static int join_one(int fd, int family, const McGroup *g, const char *who)
{
	int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	struct group_req gr = {.gr_interface = g->ifindex};
	struct group_filter *gf;
	socklen_t size;
	int ret;

	to_sockaddr(family, g->group.data, &gr.gr_group);
	if (setsockopt(fd, level, MCAST_JOIN_GROUP, &gr, sizeof(gr))) {
		pr_perror("%s: cannot join multicast group on interface %u", who, g->ifindex);
		return -1;
	}
	/* A plain join is "exclude no source": nothing more to set. */
	if (g->fmode == MCAST_EXCLUDE && !g->n_sources)
		return 0;
	size = GROUP_FILTER_SIZE(g->n_sources);
	gf = calloc(1, size);
	if (!gf) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	gf->gf_interface = g->ifindex;
	gf->gf_group = gr.gr_group;
	gf->gf_fmode = g->fmode;
	gf->gf_numsrc = g->n_sources;
	for (size_t i = 0; i < g->n_sources; i++)
		to_sockaddr(family, g->sources[i].data, &gf->gf_slist[i]);
	ret = setsockopt(fd, level, MCAST_MSFILTER, gf, size);
	free(gf);
	if (ret) {
		pr_perror("%s: cannot set the source filter of a multicast group (%zu sources)",
			  who, g->n_sources);
		return -1;
	}
	return 0;
}

int inet_mc_restore(int fd, const InetSkEntry *ie, const char *who)
{
	for (size_t i = 0; i < ie->n_mc; i++)
		if (join_one(fd, ie->family, ie->mc[i], who))
			return -1;
	return 0;
}
