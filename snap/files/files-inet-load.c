// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, restore: load. Before anything is made, every inet entry of
 * files.img and its queues in inet-queues.img are checked (a damaged image
 * fails here, once, naming the image and the entry), and every address and
 * port the image binds is tried: a port another socket took since the dump
 * fails the restore now, naming the address, with nothing made yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-inet.h"
#include "image.h"
#include "log.h"
#include "net/sk-opts.h"

/* A connection's queues, at most: far past any socket buffer. */
#define QUEUE_MAX (1U << 30)
#define DGRAM_MAX 65535

struct queue_pos {
	InetQueueEntry *e;
	size_t pos;
};

/* By ino, and in image order within one: the image is in queue order. */
static int cmp_queue(const void *a, const void *b)
{
	const struct queue_pos *x = a, *y = b;

	if (x->e->ino != y->e->ino)
		return (x->e->ino > y->e->ino) - (x->e->ino < y->e->ino);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

int inet_load(struct restore_ctx *ctx, void *st)
{
	struct inet_restore_state *rs = st;
	struct queue_pos *qp;
	void **msgs;
	size_t nr;

	if (img_load_all(ctx->dirfd, IMG_INET_QUEUES, 0, true, &msgs, &nr))
		return -1;
	rs->queue = (InetQueueEntry **)msgs;
	rs->nr_queue = nr;
	rs->have_queues = nr || !faccessat(ctx->dirfd, "inet-queues.img", F_OK, 0);
	rs->claimed = calloc(nr + 1, sizeof(*rs->claimed));
	qp = malloc((nr + 1) * sizeof(*qp));
	if (!rs->claimed || !qp) {
		free(qp);
		pr_err("inet-queues.img: out of memory");
		return -1;
	}
	for (size_t i = 0; i < nr; i++)
		qp[i] = (struct queue_pos){rs->queue[i], i};
	qsort(qp, nr, sizeof(*qp), cmp_queue);
	for (size_t i = 0; i < nr; i++)
		rs->queue[i] = qp[i].e;
	free(qp);
	return 0;
}

static int cmp_rsk(const void *a, const void *b)
{
	const struct inet_rsk *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

struct inet_rsk *inet_rsk_find(const struct inet_restore_state *rs, uint32_t id)
{
	struct inet_rsk key = { .id = id };

	if (!rs->nr_sk)
		return NULL;
	return bsearch(&key, rs->sk, rs->nr_sk, sizeof(key), cmp_rsk);
}

static bool addr_ok(uint32_t family, const ProtobufCBinaryData *a)
{
	return a->len == (family == AF_INET ? 4u : 16u);
}

static bool kind_ok(const InetSkEntry *ie)
{
	if (ie->family != AF_INET && ie->family != AF_INET6)
		return false;
	if (ie->type == SOCK_STREAM)
		return ie->protocol == IPPROTO_TCP;
	if (ie->type == SOCK_DGRAM)
		return ie->protocol == IPPROTO_UDP || ie->protocol == IPPROTO_UDPLITE ||
		       ie->protocol == (ie->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	return ie->type == SOCK_RAW && ie->protocol < 256;
}

static int check_mc(const InetSkEntry *ie, const char *who)
{
	for (size_t i = 0; i < ie->n_mc; i++) {
		const McGroup *g = ie->mc[i];

		if (!addr_ok(ie->family, &g->group) || g->fmode > 1 || g->n_sources > 1024)
			goto bad;
		for (size_t s = 0; s < g->n_sources; s++)
			if (!addr_ok(ie->family, &g->sources[s]))
				goto bad;
	}
	return 0;
bad:
	pr_err("%s: a multicast group that cannot be", who);
	return -1;
}

/* One entry on its own. */
static int check_entry(const InetSkEntry *ie, const char *who)
{
	bool tcp = ie->type == SOCK_STREAM;

	if (!kind_ok(ie)) {
		pr_err("%s: an inet socket of family %u, type %u, protocol %u, which snap does "
		       "not know",
		       who, ie->family, ie->type, ie->protocol);
		return -1;
	}
	if ((ie->has_src_addr && !addr_ok(ie->family, &ie->src_addr)) ||
	    (ie->has_dst_addr && !addr_ok(ie->family, &ie->dst_addr)) ||
	    ie->has_src_addr != ie->has_src_port || ie->has_dst_addr != ie->has_dst_port ||
	    ie->src_port > 65535 || ie->dst_port > 65535 ||
	    (ie->has_scope_id && ie->family != AF_INET6)) {
		pr_err("%s: an address that cannot be", who);
		return -1;
	}
	if (ie->state > TCPS_NEW_SYN_RECV || !ie->state ||
	    (ie->has_shutdown && ie->shutdown > (INET_RCV_SHUTDOWN | INET_SEND_SHUTDOWN))) {
		pr_err("%s: state %u, shutdown %u: out of range", who, ie->state, ie->shutdown);
		return -1;
	}
	if ((ie->has_backlog && (!tcp || ie->state != TCPS_LISTEN)) ||
	    (tcp && ie->state != TCPS_LISTEN && ie->state != TCPS_CLOSE &&
	     (!tcp_state_repairable(ie->state) || !ie->has_dst_addr || !ie->has_src_addr ||
	      (!ie->conn == !ie->closed))) ||
	    ((ie->conn || ie->closed) && (!tcp || !tcp_state_repairable(ie->state)))) {
		pr_err("%s: a TCP socket in state %s that is not saved as one", who,
		       tcp_state_name(ie->state));
		return -1;
	}
	return sk_opts_check(ie->opts, who) || inet_opts_check(ie, who) || check_mc(ie, who);
}

/* Append @q's bytes to *@buf. */
static int join(uint8_t **buf, uint32_t *len, const InetQueueEntry *q, const char *who)
{
	uint8_t *n;

	if ((uint64_t)*len + q->data.len > QUEUE_MAX) {
		pr_err("%s: inet-queues.img holds more than %u bytes for it", who, QUEUE_MAX);
		return -1;
	}
	n = realloc(*buf, *len + q->data.len + 1);
	if (!n) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	memcpy(n + *len, q->data.data, q->data.len);
	*buf = n;
	*len += q->data.len;
	return 0;
}

/* @r's entries of inet-queues.img, claimed, checked, and joined for TCP. */
static int take_queues(struct inet_restore_state *rs, struct inet_rsk *r, const char *who)
{
	const InetSkEntry *ie = r->ie;
	size_t i = 0;

	while (i < rs->nr_queue && rs->queue[i]->ino < r->ino)
		i++;
	r->q = rs->queue + i;
	for (; i < rs->nr_queue && rs->queue[i]->ino == r->ino; i++) {
		const InetQueueEntry *q = rs->queue[i];

		if (rs->claimed[i]) {
			pr_err("%s: inet-queues.img: socket inode %u is two sockets' in files.img",
			       who, r->ino);
			return -1;
		}
		rs->claimed[i] = true;
		r->nr_q++;
		if (ie->type == SOCK_STREAM && ie->conn) {
			if (q->has_addr || q->has_port) {
				pr_err("%s: inet-queues.img: a TCP queue with a sender", who);
				return -1;
			}
			if (join(q->queue == INET_QUEUE__INET_SEND ? &r->snd : &r->rcv,
				 q->queue == INET_QUEUE__INET_SEND ? &r->snd_len : &r->rcv_len, q,
				 who))
				return -1;
		} else if (ie->type != SOCK_DGRAM || ie->protocol == IPPROTO_ICMP ||
			   ie->protocol == IPPROTO_ICMPV6 || q->queue != INET_QUEUE__INET_RECV ||
			   !q->has_addr || !q->has_port || !addr_ok(ie->family, &q->addr) ||
			   q->port > 65535 || q->data.len > DGRAM_MAX) {
			pr_err("%s: inet-queues.img: a queued entry this socket cannot have", who);
			return -1;
		}
	}
	if (ie->conn)
		return tcp_conn_check(ie->conn, ie->state, r->snd_len, r->rcv_len, who);
	return 0;
}

/* The port @ie binds, tried on a fresh socket: taken since the dump? */
static int try_port(struct inet_restore_state *rs, const InetSkEntry *ie, const char *who)
{
	struct inet_port p = {ie->family, ie->type, ie->protocol, ie->src_port, {0}};
	struct sockaddr_storage ss;
	char a[INET_ADDR_STR];
	int fd, one = 1, ret;
	socklen_t len;

	memcpy(p.addr, ie->src_addr.data, ie->src_addr.len);
	for (size_t i = 0; i < rs->nr_ports; i++)
		if (!memcmp(&rs->ports[i], &p, sizeof(p)))
			return 0;
	fd = socket(ie->family, ie->type | SOCK_CLOEXEC, ie->protocol);
	if (fd < 0) {
		pr_perror("%s: cannot make a socket to try its address", who);
		return -1;
	}
	/* As restore binds it: reusing a port left in TIME_WAIT, options as they were. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ie->opts && ie->opts->reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (inet_opts_restore_bind(fd, ie, who)) {
		close(fd);
		return -1;
	}
	len = inet_sockaddr(ie->family, ie->src_addr.data, ie->src_port, ie->scope_id, &ss);
	ret = bind(fd, (struct sockaddr *)&ss, len);
	close(fd);
	inet_addr_str(ie->family, ie->src_addr.data, ie->src_port, a, sizeof(a));
	if (ret && errno == EADDRINUSE) {
		pr_err("%s: address %s is in use by another socket now: free it and restore again",
		       who, a);
		return -1;
	}
	if (ret) {
		pr_perror("%s: cannot bind to %s", who, a);
		return -1;
	}
	if (rs->nr_ports == rs->cap_ports) {
		size_t cap = rs->cap_ports ? rs->cap_ports * 2 : 16;
		struct inet_port *n = realloc(rs->ports, cap * sizeof(*n));

		if (!n) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		rs->ports = n;
		rs->cap_ports = cap;
	}
	rs->ports[rs->nr_ports++] = p;
	return 0;
}

static struct inet_rsk *add_rsk(struct inet_restore_state *rs, const char *who)
{
	struct inet_rsk *n;

	if (rs->nr_sk == rs->cap_sk) {
		size_t cap = rs->cap_sk ? rs->cap_sk * 2 : 16;

		n = realloc(rs->sk, cap * sizeof(*n));
		if (!n) {
			pr_err("%s: out of memory", who);
			return NULL;
		}
		rs->sk = n;
		rs->cap_sk = cap;
	}
	n = &rs->sk[rs->nr_sk++];
	memset(n, 0, sizeof(*n));
	n->own_fd = -1;
	return n;
}

static int add_listener(struct inet_restore_state *rs, const FileEntry *fe, const char *who)
{
	if (rs->nr_listeners == rs->cap_listeners) {
		size_t cap = rs->cap_listeners ? rs->cap_listeners * 2 : 16;
		struct inet_listener *n = realloc(rs->listeners, cap * sizeof(*n));

		if (!n) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		rs->listeners = n;
		rs->cap_listeners = cap;
	}
	rs->listeners[rs->nr_listeners++] = (struct inet_listener){ fe->inet_sk->src_port, fe->id };
	return 0;
}

static int cmp_listener(const void *a, const void *b)
{
	const struct inet_listener *x = a, *y = b;

	return (x->port > y->port) - (x->port < y->port);
}

bool inet_listener_missing(const struct restore_ctx *ctx, const struct inet_restore_state *rs,
			   uint32_t port)
{
	size_t lo = 0, hi = rs->nr_listeners;

	/* The first of its port. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->listeners[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rs->nr_listeners && rs->listeners[lo].port == port; lo++)
		if (files_fd_of(ctx, rs->listeners[lo].id) < 0)
			return true;
	return false;
}

int inet_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct inet_restore_state *rs = st;
	const InetSkEntry *ie = fe->inet_sk;
	char who[INET_WHO_MAX];
	struct inet_rsk *r;

	inet_rwho(fe, who, sizeof(who));
	if (!ie) {
		pr_err("%s: an inet socket without its inet_sk part", who);
		return -1;
	}
	if (check_entry(ie, who))
		return -1;
	if (!rs->have_queues) {
		pr_err("inet-queues.img is missing: the images hold inet sockets");
		return -1;
	}
	if (ie->conn && !ctx->opts->tcp_established && !ctx->opts->tcp_close) {
		pr_err("%s: an established TCP connection: restore it with --tcp-established, or "
		       "closed with --tcp-close",
		       who);
		return -1;
	}
	r = add_rsk(rs, who);
	if (!r)
		return -1;
	r->ino = ie->ino;
	r->id = fe->id;
	r->ie = ie;
	r->closed = ie->closed || (ie->conn && ctx->opts->tcp_close);
	if (take_queues(rs, r, who))
		return -1;
	if (ie->type == SOCK_STREAM && ie->state == TCPS_LISTEN && add_listener(rs, fe, who))
		return -1;
	/*
	 * Raw sockets read the protocol as their port: nothing to take. A
	 * connection binds in repair mode, where the kernel lets it share its
	 * port with anything (a listener, a TIME_WAIT of the connection that
	 * was): only the same four addresses can be taken, which connect says.
	 */
	if (ie->type == SOCK_RAW || r->closed || ie->conn || !ie->has_src_port || !ie->src_port)
		return 0;
	return try_port(rs, ie, who);
}

int inet_loaded(struct inet_restore_state *rs)
{
	if (rs->nr_sk)
		qsort(rs->sk, rs->nr_sk, sizeof(*rs->sk), cmp_rsk);
	if (rs->nr_listeners)
		qsort(rs->listeners, rs->nr_listeners, sizeof(*rs->listeners), cmp_listener);
	for (size_t i = 0; i < rs->nr_queue; i++) {
		if (rs->claimed[i])
			continue;
		pr_err("inet-queues.img: a queue of socket inode %u, which files.img does not have",
		       rs->queue[i]->ino);
		return -1;
	}
	return 0;
}

void inet_restore_free(void *st)
{
	struct inet_restore_state *rs = st;

	inet_conns_drop(rs);
	for (size_t i = 0; i < rs->nr_sk; i++) {
		free(rs->sk[i].snd);
		free(rs->sk[i].rcv);
	}
	free(rs->sk);
	for (size_t i = 0; i < rs->nr_queue; i++)
		inet_queue_entry__free_unpacked(rs->queue[i], NULL);
	free(rs->queue);
	free(rs->claimed);
	free(rs->ports);
	free(rs->listeners);
}
