// SPDX-License-Identifier: GPL-2.0
/*
 * PACKET_DIAG dumps (see inet-diag.h): every packet socket of snap's
 * network namespace with its bound interface, version, flags, memberships,
 * rings and fanout group.
 */
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "net/inet-diag.h"
#include "net/sock-diag.h"

struct packet_collect {
	struct packet_diag_table *t;
	size_t cap;
};

static int add_mclist(struct packet_diag *p, struct nlattr *a)
{
	int n = nla_len(a) / sizeof(struct packet_diag_mclist);
	struct packet_diag_mclist *m = nla_data(a);

	if (n <= 0)
		return 0;
	p->mc = calloc(n, sizeof(*p->mc));
	if (!p->mc) {
		pr_err("sock_diag: out of memory for the memberships of packet socket %u", p->ino);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		p->mc[i].ifindex = m[i].pdmc_index;
		p->mc[i].count = m[i].pdmc_count;
		p->mc[i].type = m[i].pdmc_type;
		p->mc[i].alen = m[i].pdmc_alen > 32 ? 32 : m[i].pdmc_alen;
		memcpy(p->mc[i].addr, m[i].pdmc_addr, p->mc[i].alen);
	}
	p->nr_mc = n;
	return 0;
}

static int packet_one(struct nlmsghdr *h, void *arg)
{
	struct packet_collect *pc = arg;
	struct nlattr *tb[PACKET_DIAG_MAX + 1];
	struct packet_diag_msg *m = nlmsg_data(h);
	struct packet_diag *p, *n;

	if (nlmsg_parse(h, sizeof(*m), tb, PACKET_DIAG_MAX, NULL) < 0) {
		pr_err("sock_diag: a packet socket record does not parse");
		return -1;
	}
	if (pc->t->nr == pc->cap) {
		pc->cap = pc->cap ? pc->cap * 2 : 16;
		n = realloc(pc->t->sk, pc->cap * sizeof(*n));
		if (!n) {
			pr_err("sock_diag: out of memory for the packet sockets");
			return -1;
		}
		pc->t->sk = n;
	}
	p = &pc->t->sk[pc->t->nr++];
	memset(p, 0, sizeof(*p));
	p->ino = m->pdiag_ino;
	p->type = m->pdiag_type;
	p->protocol = m->pdiag_num;
	if (tb[PACKET_DIAG_INFO] &&
	    nla_len(tb[PACKET_DIAG_INFO]) >= (int)sizeof(struct packet_diag_info)) {
		struct packet_diag_info *i = nla_data(tb[PACKET_DIAG_INFO]);

		p->ifindex = i->pdi_index;
		p->version = i->pdi_version;
		p->reserve = i->pdi_reserve;
		p->copy_thresh = i->pdi_copy_thresh;
		p->tstamp = i->pdi_tstamp;
		p->flags = i->pdi_flags;
	}
	p->rx_ring = tb[PACKET_DIAG_RX_RING];
	if (p->rx_ring && nla_len(tb[PACKET_DIAG_RX_RING]) >= (int)sizeof(struct packet_diag_ring)) {
		struct packet_diag_ring *r = nla_data(tb[PACKET_DIAG_RX_RING]);

		p->rx = (struct packet_ring_cfg){ r->pdr_block_size, r->pdr_block_nr,
						  r->pdr_frame_size, r->pdr_frame_nr,
						  r->pdr_retire_tmo, r->pdr_sizeof_priv,
						  r->pdr_features };
	}
	p->tx_ring = tb[PACKET_DIAG_TX_RING];
	if (tb[PACKET_DIAG_FANOUT]) {
		p->fanout = true;
		p->fanout_id = nla_get_u32(tb[PACKET_DIAG_FANOUT]);
	}
	p->filter = tb[PACKET_DIAG_FILTER] && nla_len(tb[PACKET_DIAG_FILTER]) > 0;
	if (tb[PACKET_DIAG_MCLIST] && add_mclist(p, tb[PACKET_DIAG_MCLIST]))
		return -1;
	return 0;
}

static int cmp_packet(const void *a, const void *b)
{
	const struct packet_diag *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

int packet_diag_collect(struct packet_diag_table *t)
{
	struct packet_diag_req req = {
		.sdiag_family = AF_PACKET,
		.pdiag_show = PACKET_SHOW_INFO | PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG |
			      PACKET_SHOW_FANOUT | PACKET_SHOW_FILTER,
	};
	struct packet_collect pc = {.t = t};
	int ret;

	memset(t, 0, sizeof(*t));
	ret = sock_diag_run("packet", &req, sizeof(req), packet_one, &pc);
	if (ret) {
		packet_diag_free(t);
		if (ret > 0)
			pr_err("sock_diag: the kernel has no packet_diag (CONFIG_PACKET_DIAG): "
			       "snap "
			       "cannot dump packet sockets");
		return -1;
	}
	if (t->nr)
		qsort(t->sk, t->nr, sizeof(*t->sk), cmp_packet);
	return 0;
}

const struct packet_diag *packet_diag_find(const struct packet_diag_table *t, uint32_t ino)
{
	struct packet_diag key = {.ino = ino};

	if (!t->nr)
		return NULL;
	return bsearch(&key, t->sk, t->nr, sizeof(key), cmp_packet);
}

void packet_diag_free(struct packet_diag_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->sk[i].mc);
	free(t->sk);
	t->sk = NULL;
	t->nr = 0;
}
