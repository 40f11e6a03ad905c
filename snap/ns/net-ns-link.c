// SPDX-License-Identifier: GPL-2.0
/*
 * The interfaces of a network namespace, through libnl3's rtnetlink (route)
 * caches. snap restores the loopback interface only: its MTU, whether it is
 * up, and its addresses. Any other interface (veth, tun, bridge...) is
 * refused by name at dump: it has a peer or a device outside the tree that
 * snap cannot make, and container runtimes set those up themselves
 * (--empty-ns net leaves the namespace to them). The caller is inside the
 * namespace (net-ns-int.h): the rtnetlink socket is made there.
 */
#include <linux/if_arp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "ns/net-ns-int.h"

/* The address flags a restore may set: the others are the kernel's to say. */
#define ADDR_FLAGS_SET (IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_NOPREFIXROUTE)

static struct nl_sock *route_socket(const char *who)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		pr_err("%s: out of memory for an rtnetlink socket", who);
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		pr_err("%s: cannot open an rtnetlink socket: %s", who, nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static bool is_lo(struct rtnl_link *l)
{
	return rtnl_link_get_arptype(l) == ARPHRD_LOOPBACK && !strcmp(rtnl_link_get_name(l), "lo");
}

/* The one refusal users meet: name the interface, its kind, and the way out. */
static int refuse_link(const char *who, struct rtnl_link *l)
{
	const char *kind = rtnl_link_get_type(l);

	pr_err("%s: its network namespace has interface %s (%s); snap restores only lo: dump "
	       "with --empty-ns net to leave the namespace to the caller (runc and CNI set "
	       "it up in their setup-namespaces hook)",
	       who, rtnl_link_get_name(l), kind ? kind : "a device");
	return -1;
}

static NetnsAddrEntry *addr_entry(struct rtnl_addr *a)
{
	struct nl_addr *local = rtnl_addr_get_local(a);
	NetnsAddrEntry *ae;

	if (!local)
		return NULL;
	ae = calloc(1, sizeof(*ae) + nl_addr_get_len(local));
	if (!ae)
		return NULL;
	netns_addr_entry__init(ae);
	ae->family = rtnl_addr_get_family(a);
	ae->local.len = nl_addr_get_len(local);
	ae->local.data = (uint8_t *)(ae + 1);
	memcpy(ae->local.data, nl_addr_get_binary_addr(local), ae->local.len);
	ae->prefixlen = rtnl_addr_get_prefixlen(a);
	ae->has_scope = ae->has_flags = true;
	ae->scope = rtnl_addr_get_scope(a);
	ae->flags = rtnl_addr_get_flags(a);
	return ae;
}

/* The namespace's addresses, or NULL after one line naming @who. */
static struct nl_cache *addr_cache(const char *who, struct nl_sock *sk)
{
	struct nl_cache *cache;
	int err = rtnl_addr_alloc_cache(sk, &cache);

	if (err < 0) {
		pr_err("%s: cannot list the addresses: %s", who, nl_geterror(err));
		return NULL;
	}
	return cache;
}

/* lo's addresses, in the kernel's order (an IPv4 primary before its secondaries). */
static int dump_addrs(const char *who, struct nl_sock *sk, int ifindex, NetnsLinkEntry *le)
{
	struct nl_cache *cache;
	struct nl_object *o;

	cache = addr_cache(who, sk);
	if (!cache)
		return -1;
	le->addrs = calloc(nl_cache_nitems(cache) + 1, sizeof(*le->addrs));
	if (!le->addrs)
		goto oom;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		int fam = rtnl_addr_get_family(a);

		if (rtnl_addr_get_ifindex(a) != ifindex || (fam != AF_INET && fam != AF_INET6))
			continue;
		le->addrs[le->n_addrs] = addr_entry(a);
		if (!le->addrs[le->n_addrs])
			goto oom;
		le->n_addrs++;
	}
	nl_cache_free(cache);
	return 0;
oom:
	pr_err("%s: out of memory for the addresses of lo", who);
	nl_cache_free(cache);
	return -1;
}

int net_ns_links_dump(const char *who, NetnsEntry *e)
{
	struct nl_sock *sk = route_socket(who);
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int err, ret = -1;

	if (!sk)
		return -1;
	err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (err < 0) {
		pr_err("%s: cannot list the network interfaces: %s", who, nl_geterror(err));
		goto out;
	}
	e->links = calloc(1, sizeof(*e->links));
	if (!e->links) {
		pr_err("%s: out of memory for the interfaces", who);
		goto out;
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		NetnsLinkEntry *le;

		if (!is_lo(l) || e->n_links) {
			refuse_link(who, l);
			goto out;
		}
		le = calloc(1, sizeof(*le));
		if (!le) {
			pr_err("%s: out of memory for the interfaces", who);
			goto out;
		}
		netns_link_entry__init(le);
		e->links[e->n_links++] = le;
		le->name = "lo";
		le->flags = rtnl_link_get_flags(l);
		le->mtu = rtnl_link_get_mtu(l);
		if (dump_addrs(who, sk, rtnl_link_get_ifindex(l), le))
			goto out;
	}
	ret = 0;
out:
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return ret;
}

void net_ns_links_free(NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_links; i++) {
		NetnsLinkEntry *le = e->links[i];

		for (size_t j = 0; j < le->n_addrs; j++)
			free(le->addrs[j]);
		free(le->addrs);
		free(le);
	}
	free(e->links);
	e->links = NULL;
	e->n_links = 0;
}

static bool same_addr(const NetnsAddrEntry *ae, struct rtnl_addr *a)
{
	struct nl_addr *local = rtnl_addr_get_local(a);

	return local && (int)ae->family == rtnl_addr_get_family(a) &&
	       (int)ae->prefixlen == rtnl_addr_get_prefixlen(a) &&
	       ae->local.len == nl_addr_get_len(local) &&
	       !memcmp(ae->local.data, nl_addr_get_binary_addr(local), ae->local.len);
}

static int add_addr(const char *who, struct nl_sock *sk, int ifindex, const NetnsAddrEntry *ae)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(ae->family, ae->local.data, ae->local.len);
	int err = -NLE_NOMEM;

	if (a && local) {
		nl_addr_set_prefixlen(local, ae->prefixlen);
		rtnl_addr_set_ifindex(a, ifindex);
		rtnl_addr_set_family(a, ae->family);
		err = rtnl_addr_set_local(a, local);
	}
	if (!err) {
		rtnl_addr_set_prefixlen(a, ae->prefixlen);
		if (ae->has_scope)
			rtnl_addr_set_scope(a, ae->scope);
		if (ae->has_flags && (ae->flags & ADDR_FLAGS_SET))
			rtnl_addr_set_flags(a, ae->flags & ADDR_FLAGS_SET);
		err = rtnl_addr_add(sk, a, 0);
	}
	if (err < 0) {
		char buf[INET6_ADDRSTRLEN + 8];

		pr_err("%s: cannot add address %s/%u to lo: %s", who,
		       local ? nl_addr2str(local, buf, sizeof(buf)) : "?", ae->prefixlen,
		       nl_geterror(err));
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	return err < 0 ? -1 : 0;
}

/*
 * Bringing lo up gave it 127.0.0.1/8 and ::1: those the image lacks go
 * first (removing an IPv4 primary takes its secondaries along), then the
 * image's are added in its order, so that primaries come back primary.
 */
static int restore_addrs(const char *who, struct nl_sock *sk, int ifindex, const NetnsLinkEntry *le)
{
	struct nl_cache *cache;
	struct nl_object *o;
	int err;

	cache = addr_cache(who, sk);
	if (!cache)
		return -1;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		bool keep = false;

		if (rtnl_addr_get_ifindex(a) != ifindex)
			continue;
		for (size_t i = 0; i < le->n_addrs && !keep; i++)
			keep = same_addr(le->addrs[i], a);
		if (keep)
			continue;
		err = rtnl_addr_delete(sk, a, 0);
		if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND) {
			pr_err("%s: cannot remove an address of lo the dump did not have: %s", who,
			       nl_geterror(err));
			nl_cache_free(cache);
			return -1;
		}
	}
	nl_cache_refill(sk, cache);
	for (size_t i = 0; i < le->n_addrs; i++) {
		bool there = false;

		for (o = nl_cache_get_first(cache); o && !there; o = nl_cache_get_next(o))
			there = rtnl_addr_get_ifindex((struct rtnl_addr *)o) == ifindex &&
				same_addr(le->addrs[i], (struct rtnl_addr *)o);
		if (!there && add_addr(who, sk, ifindex, le->addrs[i])) {
			nl_cache_free(cache);
			return -1;
		}
	}
	nl_cache_free(cache);
	return 0;
}

/* Is there a local route to @ae (table local, type local)? 1, 0, or -1 logged. */
static int local_route(const char *who, struct nl_sock *sk, const NetnsAddrEntry *ae)
{
	struct nl_cache *cache;
	struct nl_object *o;
	int err, found = 0;

	err = rtnl_route_alloc_cache(sk, AF_INET6, 0, &cache);
	if (err < 0) {
		pr_err("%s: cannot list the IPv6 routes: %s", who, nl_geterror(err));
		return -1;
	}
	for (o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);

		found = rtnl_route_get_table(r) == RT_TABLE_LOCAL &&
			rtnl_route_get_type(r) == RTN_LOCAL && dst &&
			nl_addr_get_prefixlen(dst) == 128 && nl_addr_get_len(dst) == 16 &&
			!memcmp(nl_addr_get_binary_addr(dst), ae->local.data, 16);
	}
	nl_cache_free(cache);
	return found;
}

/*
 * An IPv6 address gets its local route from the kernel's DAD work, later
 * than the reply to its RTM_NEWADDR (even with nodad, even on lo): until
 * then a packet to it is dropped, the datagrams restore injects too. Wait
 * for each, up to 2 s.
 */
static int wait_ipv6_routes(const char *who, struct nl_sock *sk, const NetnsLinkEntry *le)
{
	for (size_t i = 0; i < le->n_addrs; i++) {
		const NetnsAddrEntry *ae = le->addrs[i];
		int ret = 0;

		if (ae->family != AF_INET6)
			continue;
		for (int waited = 0; waited < 2000 && !ret; waited++) {
			ret = local_route(who, sk, ae);
			if (!ret)
				usleep(1000);
		}
		if (ret < 0)
			return -1;
		if (!ret) {
			char buf[INET6_ADDRSTRLEN];

			pr_err("%s: address %s of lo got no local route in 2 s", who,
			       inet_ntop(AF_INET6, ae->local.data, buf, sizeof(buf)));
			return -1;
		}
	}
	return 0;
}

/* lo's MTU and flags (up) as @le says (NULL: up, nothing else). */
static int set_lo(const char *who, struct nl_sock *sk, const NetnsLinkEntry *le, int *ifindex)
{
	struct rtnl_link *lo = NULL, *change = NULL;
	int err;

	err = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (err < 0) {
		pr_err("%s: the new network namespace has no lo: %s", who, nl_geterror(err));
		return -1;
	}
	*ifindex = rtnl_link_get_ifindex(lo);
	change = rtnl_link_alloc();
	if (!change) {
		pr_err("%s: out of memory for lo", who);
		rtnl_link_put(lo);
		return -1;
	}
	if (!le || (le->flags & IFF_UP))
		rtnl_link_set_flags(change, IFF_UP);
	if (le && le->mtu && le->mtu != rtnl_link_get_mtu(lo))
		rtnl_link_set_mtu(change, le->mtu);
	err = rtnl_link_change(sk, lo, change, 0);
	if (err < 0)
		pr_err("%s: cannot set lo %s (MTU %u): %s", who,
		       !le || (le->flags & IFF_UP) ? "up" : "down", le ? le->mtu : 0,
		       nl_geterror(err));
	rtnl_link_put(change);
	rtnl_link_put(lo);
	return err < 0 ? -1 : 0;
}

int net_ns_links_restore(const char *who, const NetnsEntry *e)
{
	struct nl_sock *sk;
	int ifindex, ret = -1;

	for (size_t i = 0; i < e->n_links; i++) {
		if (strcmp(e->links[i]->name, "lo") || i) {
			pr_err("%s: the image has interface %s; snap restores only lo", who,
			       e->links[i]->name);
			return -1;
		}
	}
	sk = route_socket(who);
	if (!sk)
		return -1;
	/* A namespace dumped without lo (none there is possible) keeps the new one down. */
	if (!e->n_links)
		ret = 0;
	else if (!set_lo(who, sk, e->links[0], &ifindex) &&
		 !restore_addrs(who, sk, ifindex, e->links[0]))
		ret = wait_ipv6_routes(who, sk, e->links[0]);
	nl_socket_free(sk);
	return ret;
}

int net_ns_lo_up(const char *who)
{
	struct nl_sock *sk = route_socket(who);
	int ifindex, ret;

	if (!sk)
		return -1;
	ret = set_lo(who, sk, NULL, &ifindex);
	nl_socket_free(sk);
	return ret;
}
