// SPDX-License-Identifier: GPL-2.0
/*
 * Netlink sockets: the fd kind. The first one dumped takes one NETLINK_DIAG
 * dump for all (the family, the bound port id, the group bitmap, what it is
 * connected to), so that a tree without netlink sockets needs none; each
 * fd adds its SOL_NETLINK options and socket options. Restore opens a
 * socket of the same family, sets the options, bind()s to the same port id
 * and groups (a port id taken by now: the kernel picks another, with a
 * warning), joins the groups past the first 32, and connect()s.
 *
 * Not saved: messages queued to read. They come from the kernel (events,
 * answers), which no one can send again as the kernel; they are left out
 * with a warning, as if they were dropped for lack of room (which netlink
 * may do anyway). A dump in progress (NDIAG_FLAG_CB_RUNNING) is left out so.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "log.h"
#include "net/sk-opts.h"
#include "net/sock-diag.h"

#define NL_MAX_GROUP_WORDS 1024
#define NETLINK_CONNECTED_STATE 1

/* The SOL_NETLINK flags a program sets, bit n for option n. */
static const int nl_flag_opts[] = {
	NETLINK_PKTINFO,	 NETLINK_BROADCAST_ERROR, NETLINK_NO_ENOBUFS,
	NETLINK_LISTEN_ALL_NSID, NETLINK_CAP_ACK,	  NETLINK_EXT_ACK,
	NETLINK_GET_STRICT_CHK,
};

struct netlink_dump_state {
	struct netlink_diag_table diag;
	bool collected;
};

static bool netlink_match(const struct fd_desc *d)
{
	return d->domain == AF_NETLINK;
}

static int dump_nl_opts(const struct fd_desc *d, NetlinkSkEntry *ne)
{
	for (size_t i = 0; i < ARRAY_SIZE(nl_flag_opts); i++) {
		socklen_t len = sizeof(int);
		int v = 0;

		/* An option this kernel lacks is off. */
		if (getsockopt(d->local, SOL_NETLINK, nl_flag_opts[i], &v, &len)) {
			if (errno == ENOPROTOOPT)
				continue;
			pr_perror("pid %d fd %d: cannot read netlink option %d", d->pid, d->fd,
				  nl_flag_opts[i]);
			return -1;
		}
		if (v) {
			ne->has_nl_opts = true;
			ne->nl_opts |= 1u << nl_flag_opts[i];
		}
	}
	return 0;
}

/*
 * sock_diag lists the sockets of the port table only: one never bound is
 * not there. It is if it lives in the tree's network namespace (where
 * snap's thread is while it dumps fds, ns/net-ns.h); else it is one of
 * another, which snap does not handle.
 */
static int unbound_here(const struct fd_desc *d, struct netlink_diag *n, const char *who)
{
	socklen_t len = sizeof(int);
	struct stat ours, its;
	int ns, type, proto;

	ns = ioctl(d->local, SIOCGSKNS);
	if (ns < 0 || fstat(ns, &its) || stat("/proc/thread-self/ns/net", &ours)) {
		pr_perror("%s: cannot tell the network namespace of netlink socket inode %lu", who,
			  (unsigned long)d->st.st_ino);
		if (ns >= 0)
			close(ns);
		return -1;
	}
	close(ns);
	if (its.st_ino != ours.st_ino || its.st_dev != ours.st_dev) {
		pr_err("%s: netlink socket inode %lu lives in another network namespace than its "
		       "tree's, which snap does not dump",
		       who, (unsigned long)d->st.st_ino);
		return -1;
	}
	if (getsockopt(d->local, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    getsockopt(d->local, SOL_SOCKET, SO_PROTOCOL, &proto, &len)) {
		pr_perror("%s: cannot read the type of netlink socket inode %lu", who,
			  (unsigned long)d->st.st_ino);
		return -1;
	}
	memset(n, 0, sizeof(*n));
	n->ino = d->st.st_ino;
	n->type = type;
	n->protocol = proto;
	return 0;
}

static int netlink_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct netlink_dump_state *ns = st;
	const struct netlink_diag *n;
	struct netlink_diag unbound;
	NetlinkSkEntry *ne;
	uint32_t words;
	char who[64];

	(void)ctx;
	snprintf(who, sizeof(who), "pid %d fd %d", d->pid, d->fd);
	/* At the first netlink socket (the tree is frozen throughout the fds' dump). */
	if (!ns->collected) {
		if (netlink_diag_collect(&ns->diag))
			return -1;
		ns->collected = true;
	}
	n = netlink_diag_find(&ns->diag, d->st.st_ino);
	if (!n && unbound_here(d, &unbound, who))
		return -1;
	if (!n)
		n = &unbound;
	ne = malloc(sizeof(*ne));
	if (!ne) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	netlink_sk_entry__init(ne);
	fe->netlink_sk = ne;
	ne->ino = n->ino;
	ne->protocol = n->protocol;
	ne->type = n->type;
	ne->flags = d->flags;
	if (n->portid) {
		ne->has_portid = true;
		ne->portid = n->portid;
	}
	if (n->state == NETLINK_CONNECTED_STATE) {
		ne->has_dst_portid = ne->has_dst_group = true;
		ne->dst_portid = n->dst_portid;
		ne->dst_group = n->dst_group;
	}
	for (words = n->nr_groups; words && !n->groups[words - 1]; words--)
		;
	if (words) {
		ne->groups = malloc(words * sizeof(*ne->groups));
		if (!ne->groups) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		memcpy(ne->groups, n->groups, words * sizeof(*ne->groups));
		ne->n_groups = words;
	}
	if (n->rmem)
		pr_warn("%s: netlink socket (protocol %u): the messages queued to it (%u bytes of "
			"memory) are not saved",
			who, n->protocol, n->rmem);
	if (dump_nl_opts(d, ne))
		return -1;
	return sk_opts_dump(d->local, AF_NETLINK, n->type, n->protocol, NULL, who, &ne->opts, NULL);
}

static void netlink_dump_free(void *st)
{
	struct netlink_dump_state *ns = st;

	netlink_diag_free(&ns->diag);
}

static int netlink_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const NetlinkSkEntry *ne = fe->netlink_sk;
	char who[64];

	(void)ctx;
	(void)st;
	snprintf(who, sizeof(who), "files.img: file id %u", fe->id);
	if (!ne) {
		pr_err("%s: a netlink socket without its netlink_sk part", who);
		return -1;
	}
	if ((ne->type != SOCK_RAW && ne->type != SOCK_DGRAM) || ne->protocol >= 32 ||
	    ne->n_groups > NL_MAX_GROUP_WORDS ||
	    (ne->has_dst_group && ne->dst_group > 32 * NL_MAX_GROUP_WORDS)) {
		pr_err("%s: netlink socket of type %u, protocol %u, %zu group words: out of range",
		       who, ne->type, ne->protocol, ne->n_groups);
		return -1;
	}
	return sk_opts_check(ne->opts, who);
}

static int set_nl_opts(int fd, const NetlinkSkEntry *ne, const char *who)
{
	for (size_t i = 0; i < ARRAY_SIZE(nl_flag_opts); i++) {
		int one = 1;

		if (!(ne->nl_opts & (1u << nl_flag_opts[i])))
			continue;
		if (setsockopt(fd, SOL_NETLINK, nl_flag_opts[i], &one, sizeof(one))) {
			pr_perror("%s: cannot set netlink option %d", who, nl_flag_opts[i]);
			return -1;
		}
	}
	return 0;
}

/* Bound as it was: same port id if free, the first 32 groups with it, then the others. */
static int bind_groups(int fd, const NetlinkSkEntry *ne, const char *who)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };

	if (!ne->has_portid && !ne->n_groups)
		return 0;
	a.nl_pid = ne->portid;
	a.nl_groups = ne->n_groups ? ne->groups[0] : 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (errno != EADDRINUSE || !a.nl_pid) {
			pr_perror("%s: cannot bind the netlink socket (port id %u, groups %#x)",
				  who, a.nl_pid, a.nl_groups);
			return -1;
		}
		pr_warn("%s: netlink port id %u is taken now: the kernel picks another", who,
			a.nl_pid);
		a.nl_pid = 0;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
			pr_perror("%s: cannot bind the netlink socket (groups %#x)", who,
				  a.nl_groups);
			return -1;
		}
	}
	for (size_t w = 1; w < ne->n_groups; w++) {
		for (int b = 0; b < 32; b++) {
			int group = w * 32 + b + 1;

			if (!(ne->groups[w] & (1u << b)))
				continue;
			if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
				       sizeof(group))) {
				pr_perror("%s: cannot join netlink group %d", who, group);
				return -1;
			}
		}
	}
	return 0;
}

static int netlink_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const NetlinkSkEntry *ne = fe->netlink_sk;
	struct sockaddr_nl dst = { .nl_family = AF_NETLINK };
	char who[64];
	int fd;

	(void)ctx;
	(void)st;
	snprintf(who, sizeof(who), "files.img: file id %u", fe->id);
	fd = socket(AF_NETLINK, ne->type | SOCK_CLOEXEC, ne->protocol);
	if (fd < 0) {
		pr_perror("%s: cannot make a netlink socket of protocol %u", who, ne->protocol);
		return -1;
	}
	if (set_nl_opts(fd, ne, who) || bind_groups(fd, ne, who))
		goto err;
	if (ne->has_dst_portid || ne->has_dst_group) {
		dst.nl_pid = ne->dst_portid;
		dst.nl_groups = ne->dst_group ? 1u << ((ne->dst_group - 1) % 32) : 0;
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
			pr_perror("%s: cannot connect the netlink socket to port id %u", who,
				  dst.nl_pid);
			goto err;
		}
	}
	if (sk_opts_restore(fd, ne->opts, who))
		goto err;
	if (fcntl(fd, F_SETFL, ne->flags)) {
		pr_perror("%s: cannot set file flags %#o", who, ne->flags);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_ops netlink_fd_ops = {
	.type = FD_TYPE__FD_NETLINK,
	.name = "netlink socket",
	.fmts = FD_FMT(S_IFSOCK),
	.match = netlink_match,
	.dump_state = sizeof(struct netlink_dump_state),
	.dump = netlink_dump,
	.dump_free = netlink_dump_free,
	.prepare = netlink_prepare,
	.open = netlink_open,
};
