// SPDX-License-Identifier: GPL-2.0
/*
 * The ns kind module of network namespaces (ns-kind.h, net-ns.h).
 *
 * Dump: netns-ID.img holds lo (up, MTU, addresses) and the sysctls of
 * net-ns-sysctl.c, read from inside the namespace; any other interface is
 * refused by name. --empty-ns net: ns-ids.c does not call ->dump, nothing
 * is saved, the namespace is the caller's.
 *
 * Restore: the tree's sockets are made by snap before any process exists
 * (files-kind.h, FD_IN_SNAP), and a socket belongs to the namespace of the
 * thread that makes it: so the namespace is made here at load, in snap,
 * and lo and the sysctls are put back right away, before any socket. The
 * files are opened inside it (ctx->netns), and the root, once cloned,
 * joins it. Without netns-ID.img (a dump with --empty-ns net) or with
 * --empty-ns net, the new namespace gets lo up and nothing else.
 * --join-ns net:PATH, or an external namespace (--external net[INODE]:KEY
 * at dump, --inherit-fd fd[N]:KEY at restore): that namespace is the
 * tree's, as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "ns/net-ns-int.h"
#include "ns/net-ns.h"
#include "ns/ns-kind.h"
#include "ns/ns.h"

struct net_state {
	NetnsEntry *e;		    /* NULL: an empty namespace (or a joined one) */
	struct net_ns_scope *scope; /* the tree's namespace, made or joined */
	uint32_t id;
};

static int net_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id)
{
	NetnsEntry e = NETNS_ENTRY__INIT;
	struct net_ns_scope *s;
	char who[64];
	int ret = -1;
	uint64_t t0;

	if (net_ns_scope_open(pid, &s))
		return -1;
	if (!s)
		return 0;
	t0 = now_ns();
	snprintf(who, sizeof(who), "pid %d (network namespace id %u)", pid, id);
	if (net_ns_enter(s))
		goto out;
	ret = net_ns_sysctls_dump(who, &e) || net_ns_links_dump(who, &e) ? -1 : 0;
	if (net_ns_leave(s))
		ret = -1;
	if (!ret)
		ret = img_write_one(ctx->dirfd, IMG_NETNS, id, &e.base);
	if (!ret)
		pr_info("%s: lo with %zu addresses and %zu sysctls saved in %llu us", who,
			e.n_links ? e.links[0]->n_addrs : 0, e.n_sysctls,
			(unsigned long long)(now_ns() - t0) / 1000);
out:
	net_ns_links_free(&e);
	net_ns_sysctls_free(&e);
	net_ns_scope_free(s);
	return ret;
}

static int check_addr(uint32_t id, const NetnsAddrEntry *a)
{
	size_t len = a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;

	if (!len || a->local.len != len || a->prefixlen > len * 8) {
		pr_err("image netns-%u.img: an address of lo is not one (family %u, %zu bytes, "
		       "prefix length %u)",
		       id, a->family, a->local.len, a->prefixlen);
		return -1;
	}
	return 0;
}

/* Only what restore can do, and only files of /proc/sys/net/ snap knows. */
static int check_image(uint32_t id, const NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_links; i++) {
		const NetnsLinkEntry *l = e->links[i];

		if (strcmp(l->name, "lo") || i) {
			pr_err("image netns-%u.img: interface %s: snap restores only lo", id,
			       l->name);
			return -1;
		}
		for (size_t j = 0; j < l->n_addrs; j++)
			if (check_addr(id, l->addrs[j]))
				return -1;
	}
	for (size_t i = 0; i < e->n_sysctls; i++) {
		const NetnsSysctlEntry *s = e->sysctls[i];

		if (!net_ns_sysctl_known(s->name) || strchr(s->value, '\n')) {
			pr_err("image netns-%u.img: sysctl net/%s is not one snap restores", id,
			       s->name);
			return -1;
		}
	}
	return 0;
}

/* A new namespace, held by an fd: unshare() moves the calling thread, which goes back. */
static int make_ns(uint32_t id, struct net_ns_scope **out)
{
	int back, fd = -1;
	char what[48];

	back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (back < 0) {
		pr_perror("cannot open snap's own network namespace");
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		pr_perror("cannot make a network namespace for id %u of ns.img", id);
		close(back);
		return -1;
	}
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("cannot open the new network namespace (id %u)", id);
	if (setns(back, CLONE_NEWNET)) {
		pr_perror("cannot go back to snap's network namespace");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	close(back);
	if (fd < 0)
		return -1;
	snprintf(what, sizeof(what), "network namespace id %u", id);
	return net_ns_scope_from_fd(fd, what, out);
}

/* lo and the sysctls, from inside the new namespace. */
static int fill_ns(struct net_state *st)
{
	char who[48];
	int ret;

	snprintf(who, sizeof(who), "network namespace id %u", st->id);
	if (net_ns_enter(st->scope))
		return -1;
	if (st->e)
		ret = net_ns_sysctls_restore(who, st->e) || net_ns_links_restore(who, st->e);
	else
		ret = net_ns_lo_up(who);
	return net_ns_leave(st->scope) || ret ? -1 : 0;
}

/*
 * *@e NULL when there is none: ns.img's entry says empty (--empty-ns net at
 * dump), and only such a dump writes no netns-ID.img.
 */
static int load_image(struct restore_ctx *ctx, uint32_t id, NetnsEntry **e)
{
	struct image *img = img_open_read(ctx->dirfd, IMG_NETNS, id, true);
	ProtobufCMessage *m = NULL;
	int ret;

	*e = NULL;
	if (!img)
		return errno == ENOENT ? 0 : -1;
	ret = img_read_one(img, &m);
	img_close(img);
	if (ret)
		return -1;
	*e = (NetnsEntry *)m;
	return check_image(id, *e);
}

/*
 * Called however the root gets its namespace (ns-kind.h, load_always): snap
 * must be in it to make the tree's sockets, whichever it is.
 */
static int net_load(struct restore_ctx *ctx, uint32_t id, void **state)
{
	struct net_state *st = calloc(1, sizeof(*st));
	const char *join;
	int join_fd = ns_joined(ctx, NS_KIND__NS_NET, &join);
	uint64_t t0;

	*state = st;
	if (!st) {
		pr_err("out of memory for network namespace id %u", id);
		return -1;
	}
	st->id = id;
	/* The caller's, as it is: ns-restore.c makes the root join it. */
	if (join_fd >= 0) {
		join_fd = fcntl(join_fd, F_DUPFD_CLOEXEC, 0);
		if (join_fd < 0) {
			pr_perror("%s: cannot take its fd", join);
			return -1;
		}
		if (net_ns_scope_from_fd(join_fd, join, &st->scope))
			return -1;
		ctx->netns = st->scope;
		return 0;
	}
	if (ctx->opts->empty_ns & CLONE_NEWNET)
		pr_info("--empty-ns net: network namespace id %u comes back with lo up and "
			"nothing else",
			id);
	else if (load_image(ctx, id, &st->e))
		return -1;
	else if (!st->e)
		pr_info("network namespace id %u was dumped with --empty-ns net (no "
			"netns-%u.img): it comes back with lo up and nothing else",
			id, id);
	t0 = now_ns();
	if (make_ns(id, &st->scope) || fill_ns(st))
		return -1;
	ctx->netns = st->scope;
	pr_info("network namespace id %u made, lo up with %zu addresses, %zu sysctls, in %llu us",
		id, st->e && st->e->n_links ? st->e->links[0]->n_addrs : 0,
		st->e ? st->e->n_sysctls : 0, (unsigned long long)(now_ns() - t0) / 1000);
	return 0;
}

/*
 * In the root: restore.c clones it inside the namespace made at load (where
 * snap opened the tree's sockets and put lo back), without CLONE_NEWNET, so
 * that the setup-namespaces hook finds it there. Joining it again costs
 * nothing and holds should the root have been cloned elsewhere.
 */
static int net_restore(struct restore_ctx *ctx, void *state)
{
	struct net_state *st = state;

	(void)ctx;
	if (setns(net_ns_scope_fd(st->scope), CLONE_NEWNET)) {
		pr_perror("cannot enter network namespace id %u", st->id);
		return -1;
	}
	return 0;
}

static void net_free(void *state)
{
	struct net_state *st = state;

	if (!st)
		return;
	if (st->e)
		protobuf_c_message_free_unpacked(&st->e->base, NULL);
	net_ns_scope_free(st->scope);
	free(st);
}

const struct ns_kind_ops ns_net_ops = {
	.kind = NS_KIND__NS_NET,
	.dump = net_dump,
	.load = net_load,
	.load_always = true,
	.restore = net_restore,
	.free = net_free,
};
