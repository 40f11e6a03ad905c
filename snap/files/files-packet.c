// SPDX-License-Identifier: GPL-2.0
/*
 * Packet sockets (AF_PACKET, SOCK_RAW and SOCK_DGRAM): the fd kind. collect
 * takes one PACKET_DIAG dump of every packet socket of snap's network
 * namespace; each fd then saves its protocol, the interface it is bound to,
 * its PACKET_* options, its memberships (multicast, promiscuous, allmulti)
 * and socket options. Restore opens a socket of the same type, sets the
 * options, binds it to its protocol and interface (by index: it must still
 * be there; 0: every one) and adds the memberships again, as many times
 * each.
 *
 * A receive ring (PACKET_RX_RING) is saved with its unread packets and set
 * again before the bind (packet-ring.c); its mapping is the restorer's.
 * A fanout group (PACKET_FANOUT) is joined again once bound, when every
 * member is the tree's (packet-fanout.c). Refused by name: transmit rings
 * (PACKET_TX_RING: the process's and the kernel's places in it cannot be
 * told when nothing is pending).
 * The frames queued to read are left out with a warning: they came from an
 * interface, where frames may be lost anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/packet_diag.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "files/files-table.h"
#include "files/packet-fanout.h"
#include "files/packet-ring.h"
#include "log.h"
#include "net/inet-diag.h"
#include "net/sk-opts.h"

#define PACKET_MAX_MC 1024

struct packet_dump_state {
	struct packet_diag_table diag;
	struct fanout_groups groups;
};

static bool packet_match(const struct fd_desc *d)
{
	return d->domain == AF_PACKET;
}

static int packet_collect(struct dump_ctx *ctx, void *st)
{
	struct packet_dump_state *ps = st;

	(void)ctx;
	return packet_diag_collect(&ps->diag);
}

static const char *packet_who(const struct fd_desc *d, char *buf, size_t size)
{
	if (d->inflight)
		snprintf(buf, size, "a packet socket in flight in a queued message");
	else
		snprintf(buf, size, "pid %d fd %d", d->pid, d->fd);
	return buf;
}

static int get_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_PACKET, opt, v, &len);
}

/* Options no sock_diag field holds. A kernel without one: off. */
static void dump_more(int fd, PacketSkEntry *pe)
{
	int v;

	if (!get_int(fd, PACKET_QDISC_BYPASS, &v) && v)
		pe->has_qdisc_bypass = pe->qdisc_bypass = true;
	if (!get_int(fd, PACKET_IGNORE_OUTGOING, &v) && v)
		pe->has_ignore_outgoing = pe->ignore_outgoing = true;
}

static int dump_mclist(const struct packet_diag *p, PacketSkEntry *pe, const char *who)
{
	if (!p->nr_mc)
		return 0;
	pe->mclist = calloc(p->nr_mc, sizeof(*pe->mclist));
	if (!pe->mclist)
		goto oom;
	for (uint32_t i = 0; i < p->nr_mc; i++) {
		PacketMclist *m = malloc(sizeof(*m));

		if (!m)
			goto oom;
		packet_mclist__init(m);
		pe->mclist[pe->n_mclist++] = m;
		m->ifindex = p->mc[i].ifindex;
		m->type = p->mc[i].type;
		m->count = p->mc[i].count;
		if (p->mc[i].alen) {
			m->has_addr = true;
			m->addr.data = malloc(p->mc[i].alen);
			if (!m->addr.data)
				goto oom;
			memcpy(m->addr.data, p->mc[i].addr, p->mc[i].alen);
			m->addr.len = p->mc[i].alen;
		}
	}
	return 0;
oom:
	pr_err("%s: out of memory", who);
	return -1;
}

static int packet_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct packet_dump_state *ps = st;
	const struct packet_diag *p;
	PacketSkEntry *pe;
	char who[96];
	int inq = 0, ours;

	(void)ctx;
	packet_who(d, who, sizeof(who));
	p = packet_diag_find(&ps->diag, d->st.st_ino);
	if (!p) {
		ours = sk_in_our_netns(d->local);
		if (ours > 0)
			pr_err("%s: sock_diag does not list packet socket inode %lu", who,
			       (unsigned long)d->st.st_ino);
		else if (!ours)
			pr_err("%s: packet socket inode %lu lives in another network namespace "
			       "than its tree's, which snap does not dump",
			       who, (unsigned long)d->st.st_ino);
		else
			pr_perror(
				"%s: cannot tell the network namespace of packet socket inode %lu",
				who, (unsigned long)d->st.st_ino);
		return -1;
	}
	if (p->tx_ring) {
		pr_err("%s: packet socket with a transmit ring (PACKET_TX_RING), which snap "
		       "cannot save",
		       who);
		return -1;
	}
	pe = malloc(sizeof(*pe));
	if (!pe) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	packet_sk_entry__init(pe);
	fe->packet_sk = pe;
	pe->ino = p->ino;
	pe->type = p->type;
	pe->protocol = p->protocol;
	pe->flags = d->flags;
	if (p->ifindex) {
		pe->has_ifindex = true;
		pe->ifindex = p->ifindex;
	}
	pe->has_version = p->version != TPACKET_V1;
	pe->version = p->version;
	pe->has_reserve = p->reserve;
	pe->reserve = p->reserve;
	pe->has_copy_thresh = p->copy_thresh != 0;
	pe->copy_thresh = p->copy_thresh;
	pe->has_timestamp = p->tstamp;
	pe->timestamp = p->tstamp;
	pe->has_auxdata = pe->auxdata = p->flags & PDI_AUXDATA;
	pe->has_origdev = pe->origdev = p->flags & PDI_ORIGDEV;
	pe->has_vnet_hdr = pe->vnet_hdr = p->flags & PDI_VNETHDR;
	pe->has_loss = pe->loss = p->flags & PDI_LOSS;
	if (!ioctl(d->local, SIOCINQ, &inq) && inq > 0)
		pr_warn("%s: the frames queued to packet socket inode %u are not saved", who,
			p->ino);
	dump_more(d->local, pe);
	if (dump_mclist(p, pe, who) || (p->rx_ring && packet_ring_dump(d->local, &p->rx, pe, who)) ||
	    (p->fanout && packet_fanout_dump(&ps->groups, d->local, pe, who)))
		return -1;
	return sk_opts_dump(d->local, AF_PACKET, p->type, htons(p->protocol), NULL, who, &pe->opts,
			    NULL);
}

/* After every task: no fanout group is split. */
static int packet_write(struct dump_ctx *ctx, void *st)
{
	struct packet_dump_state *ps = st;

	(void)ctx;
	return packet_fanout_whole(&ps->groups, &ps->diag);
}

static void packet_dump_free(void *st)
{
	struct packet_dump_state *ps = st;

	packet_diag_free(&ps->diag);
	packet_fanout_free(&ps->groups);
}

static int packet_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const PacketSkEntry *pe = fe->packet_sk;
	char who[64];

	(void)ctx;
	(void)st;
	snprintf(who, sizeof(who), "files.img: file id %u", fe->id);
	if (!pe) {
		pr_err("%s: a packet socket without its packet_sk part", who);
		return -1;
	}
	if ((pe->type != SOCK_RAW && pe->type != SOCK_DGRAM) || pe->protocol > 0xffff ||
	    pe->version > TPACKET_V3 || pe->n_mclist > PACKET_MAX_MC) {
		pr_err("%s: packet socket of type %u, protocol %#x, version %u: out of range", who,
		       pe->type, pe->protocol, pe->version);
		return -1;
	}
	for (size_t i = 0; i < pe->n_mclist; i++) {
		const PacketMclist *m = pe->mclist[i];

		if (m->type > PACKET_MR_UNICAST || !m->count || m->count > 1024 ||
		    (m->has_addr && m->addr.len > 8)) {
			pr_err("%s: packet socket membership %zu cannot be", who, i);
			return -1;
		}
	}
	if (packet_ring_check(pe, who) || packet_fanout_check(pe, who))
		return -1;
	return sk_opts_check(pe->opts, who);
}

static int set_int(int fd, int opt, int v)
{
	return setsockopt(fd, SOL_PACKET, opt, &v, sizeof(v));
}

static int restore_opts(int fd, const PacketSkEntry *pe, const char *who)
{
	static const struct {
		int opt;
		const char *name;
	} names[] = {
		{PACKET_VERSION, "PACKET_VERSION"},
		{PACKET_RESERVE, "PACKET_RESERVE"},
		{PACKET_AUXDATA, "PACKET_AUXDATA"},
		{PACKET_ORIGDEV, "PACKET_ORIGDEV"},
		{PACKET_VNET_HDR, "PACKET_VNET_HDR"},
		{PACKET_LOSS, "PACKET_LOSS"},
		{PACKET_TIMESTAMP, "PACKET_TIMESTAMP"},
		{PACKET_COPY_THRESH, "PACKET_COPY_THRESH"},
		{PACKET_QDISC_BYPASS, "PACKET_QDISC_BYPASS"},
		{PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING"},
	};
	const bool has[] = {pe->has_version,	    pe->has_reserve,	 pe->has_auxdata,
			    pe->has_origdev,	    pe->has_vnet_hdr,	 pe->has_loss,
			    pe->has_timestamp,	    pe->has_copy_thresh, pe->has_qdisc_bypass,
			    pe->has_ignore_outgoing};
	const int val[] = {pe->version,	     pe->reserve,	 pe->auxdata,	pe->origdev,
			   pe->vnet_hdr,     pe->loss,		 pe->timestamp, pe->copy_thresh,
			   pe->qdisc_bypass, pe->ignore_outgoing};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (has[i] && set_int(fd, names[i].opt, val[i])) {
			pr_perror("%s: cannot set %s to %d", who, names[i].name, val[i]);
			return -1;
		}
	}
	return 0;
}

static int restore_mclist(int fd, const PacketSkEntry *pe, const char *who)
{
	for (size_t i = 0; i < pe->n_mclist; i++) {
		const PacketMclist *m = pe->mclist[i];
		struct packet_mreq mr = {
			.mr_ifindex = m->ifindex,
			.mr_type = m->type,
			.mr_alen = m->has_addr ? m->addr.len : 0,
		};

		if (m->has_addr)
			memcpy(mr.mr_address, m->addr.data, m->addr.len);
		for (uint32_t n = 0; n < m->count; n++) {
			if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
				pr_perror("%s: cannot add membership of type %u on interface %u",
					  who, m->type, m->ifindex);
				return -1;
			}
		}
	}
	return 0;
}

static int packet_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const PacketSkEntry *pe = fe->packet_sk;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	char who[64], ifname[IF_NAMESIZE];
	int fd;

	(void)ctx;
	(void)st;
	snprintf(who, sizeof(who), "files.img: file id %u", fe->id);
	/*
	 * Made with no protocol, so that nothing comes in before the bind:
	 * the ring and the filter go first, that no packet comes before the
	 * ring's unread ones are back, nor one the filter would keep out. The
	 * bind then gives it its protocol, on its interface or on all (0), as
	 * socket() with the protocol would have.
	 */
	fd = socket(AF_PACKET, pe->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("%s: cannot make a packet socket", who);
		return -1;
	}
	if (restore_opts(fd, pe, who) || (pe->rx_ring && packet_ring_restore(fd, pe, who)) ||
	    sk_opts_restore(fd, pe->opts, who))
		goto err;
	if (pe->has_ifindex && !if_indextoname(pe->ifindex, ifname)) {
		pr_err("%s: the packet socket was bound to interface %u, which is gone", who,
		       pe->ifindex);
		goto err;
	}
	if (pe->has_ifindex || pe->protocol) {
		sll.sll_protocol = htons(pe->protocol);
		sll.sll_ifindex = pe->has_ifindex ? pe->ifindex : 0;
		if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
			pr_perror("%s: cannot bind the packet socket of protocol %#x to %s", who,
				  pe->protocol, pe->has_ifindex ? ifname : "every interface");
			goto err;
		}
	}
	if (restore_mclist(fd, pe, who) || packet_fanout_join(fd, pe, who))
		goto err;
	if (fcntl(fd, F_SETFL, pe->flags)) {
		pr_perror("%s: cannot set file flags %#o", who, pe->flags);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

int files_packet_ring(const struct restore_ctx *ctx, const struct restore_task *t, uint32_t ino,
		      const PacketRing **ring, const char *what)
{
	for (size_t i = 0; i < t->nr_fds; i++) {
		ssize_t idx = files_index(ctx, t->fds[i]->id);
		const FileEntry *fe = idx < 0 ? NULL : ctx->files[idx];

		if (fe && fe->type == FD_TYPE__FD_PACKET && fe->packet_sk &&
		    fe->packet_sk->ino == ino && fe->packet_sk->rx_ring) {
			*ring = fe->packet_sk->rx_ring;
			return t->fds[i]->fd;
		}
	}
	pr_err("%s: maps the receive ring of packet socket %u, which is none of its fds", what,
	       ino);
	return -1;
}

const struct fd_ops packet_fd_ops = {
	.type = FD_TYPE__FD_PACKET,
	.name = "packet socket",
	.fmts = FD_FMT(S_IFSOCK),
	.match = packet_match,
	.dump_state = sizeof(struct packet_dump_state),
	.collect = packet_collect,
	.dump = packet_dump,
	.write = packet_write,
	.dump_free = packet_dump_free,
	.prepare = packet_prepare,
	.open = packet_open,
};
