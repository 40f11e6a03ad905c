// SPDX-License-Identifier: GPL-2.0
/*
 * nf_tables over NETLINK_NETFILTER through libnl3 (see nft.h). A batch is
 * sent as one buffer: NFNL_MSG_BATCH_BEGIN, the commands, NFNL_MSG_BATCH_END.
 * Only the last command asks for an ack: the kernel reports a refused command
 * whether asked or not, in message order, so an error before that ack names
 * what failed, and the ack alone means the transaction was committed.
 */
/* glibc's before the kernel's: linux/in.h then leaves glibc's definitions alone. */
#include <netinet/in.h>

#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "log.h"
#include "net/nft.h"

/* An answer the kernel does not give in this time will not come. */
#define NFT_REPLY_TIMEOUT_S 10

struct nft_batch {
	struct nl_msg **msgs;
	const char **what;
	size_t nr, cap;
};

struct nft_batch *nft_batch_new(void)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		pr_err("network lock: out of memory for an nf_tables batch");
	return b;
}

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nr; i++)
		nlmsg_free(b->msgs[i]);
	free(b->msgs);
	free(b->what);
	free(b);
}

/* The nfnetlink header every message starts with. */
static struct nlmsghdr *put_header(struct nl_msg *m, int type, int flags, int family, int res_id)
{
	struct nlmsghdr *h;
	struct nfgenmsg *g;

	h = nlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, type, sizeof(*g), NLM_F_REQUEST | flags);
	if (!h)
		return NULL;
	g = nlmsg_data(h);
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return h;
}

struct nl_msg *nft_batch_add(struct nft_batch *b, int type, int flags, const char *what,
			     size_t size)
{
	struct nl_msg *m;

	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct nl_msg **msgs = realloc(b->msgs, cap * sizeof(*msgs));
		const char **names = msgs ? realloc(b->what, cap * sizeof(*names)) : NULL;

		if (msgs)
			b->msgs = msgs;
		if (!names)
			goto oom;
		b->what = names;
		b->cap = cap;
	}
	m = nlmsg_alloc_size(size + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
	if (!m)
		goto oom;
	if (!put_header(m, NFNL_SUBSYS_NFTABLES << 8 | type, flags, NFPROTO_INET, 0)) {
		nlmsg_free(m);
		goto oom;
	}
	b->msgs[b->nr] = m;
	b->what[b->nr++] = what;
	return m;
oom:
	pr_err("network lock: out of memory for an nf_tables command (%s)", what);
	return NULL;
}

int nft_put_be32(struct nl_msg *m, int attr, uint32_t v)
{
	return nla_put_u32(m, attr, htonl(v)) ? -1 : 0;
}

const char *nft_get_str(struct nlattr *a)
{
	const char *s;
	int len;

	if (!a)
		return NULL;
	s = nla_data(a);
	len = nla_len(a);
	return len > 0 && !memchr(s, 0, len - 1) && !s[len - 1] ? s : NULL;
}

/* A netlink socket to nf_tables, whose errors keep the kernel's errno. */
static struct nl_sock *nft_socket(void)
{
	struct timeval tv = { .tv_sec = NFT_REPLY_TIMEOUT_S };
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1;

	if (!sk) {
		errno = ENOMEM;
		return NULL;
	}
	if (nl_connect(sk, NETLINK_NETFILTER) < 0) {
		nl_socket_free(sk);
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_disable_auto_ack(sk);
	nl_socket_enable_msg_peek(sk);
	/* An error need not carry back our whole (maybe large) command. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return sk;
}

/* What the answer to a batch or a dump said. */
struct answer {
	uint32_t last_seq;	/* batch: the command whose ack ends the wait */
	bool done;		/* that ack, or the end of a dump, came */
	int err;		/* -errno of the first refusal */
	uint32_t err_seq;
	int (*one)(struct nlmsghdr *h, void *arg);
	void *arg;
	bool one_failed;
};

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct answer *a = arg;

	(void)nla;
	a->err = e->error < 0 ? e->error : -EPROTO;
	a->err_seq = e->msg.nlmsg_seq;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct answer *a = arg;

	if (nlmsg_hdr(msg)->nlmsg_seq == a->last_seq)
		a->done = true;
	return NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct answer *)arg)->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct answer *a = arg;

	if (!a->one || !a->one(nlmsg_hdr(msg), a->arg))
		return NL_OK;
	a->one_failed = true;
	return NL_STOP;
}

/* Read answers until @a is done or failed. */
static int wait_answer(struct nl_sock *sk, struct answer *a)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = 0;

	if (!cb)
		return -ENOMEM;
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, a);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, a);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, a);
	while (!a->done && !a->err && !a->one_failed) {
		ret = nl_recvmsgs_report(sk, cb);
		if (a->err || a->one_failed)
			break;
		/* Nothing within NFT_REPLY_TIMEOUT_S is EAGAIN. */
		if (ret <= 0) {
			ret = ret == -NLE_AGAIN || !ret ? -ETIMEDOUT : -EIO;
			break;
		}
		ret = 0;
	}
	nl_cb_put(cb);
	if (a->err)
		return a->err;
	return a->one_failed ? -EIO : ret;
}

/* BATCH_BEGIN, the commands and BATCH_END, each with its sequence number, in one buffer. */
static void *batch_buffer(struct nl_sock *sk, struct nft_batch *b, uint32_t *seqs,
			  size_t *len)
{
	struct nl_msg *edge[2];
	size_t total = 0, off = 0, i;
	char *buf = NULL;

	for (i = 0; i < 2; i++) {
		edge[i] = nlmsg_alloc_size(64);
		if (!edge[i] || !put_header(edge[i], NFNL_MSG_BATCH_BEGIN + i, 0, AF_UNSPEC,
					    NFNL_SUBSYS_NFTABLES))
			goto out;
	}
	for (i = 0; i < b->nr + 2; i++) {
		struct nl_msg *m = i == 0 ? edge[0] : i == b->nr + 1 ? edge[1] : b->msgs[i - 1];

		seqs[i] = nl_socket_use_seq(sk);
		nlmsg_hdr(m)->nlmsg_seq = seqs[i];
		total += NLMSG_ALIGN(nlmsg_hdr(m)->nlmsg_len);
	}
	buf = calloc(1, total);
	if (!buf)
		goto out;
	for (i = 0; i < b->nr + 2; i++) {
		struct nl_msg *m = i == 0 ? edge[0] : i == b->nr + 1 ? edge[1] : b->msgs[i - 1];

		memcpy(buf + off, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
		off += NLMSG_ALIGN(nlmsg_hdr(m)->nlmsg_len);
	}
	*len = total;
out:
	for (i = 0; i < 2; i++)
		if (edge[i])
			nlmsg_free(edge[i]);
	return buf;
}

int nft_batch_commit(struct nft_batch *b, const char **what)
{
	struct answer a = { 0 };
	uint32_t *seqs = NULL;
	struct nl_sock *sk;
	void *buf = NULL;
	size_t len;
	int ret, force;

	*what = "the batch";
	if (!b->nr)
		return 0;
	sk = nft_socket();
	if (!sk)
		return -errno;
	/* Only the last command asks for its ack: see the top of this file. */
	nlmsg_hdr(b->msgs[b->nr - 1])->nlmsg_flags |= NLM_F_ACK;
	ret = -ENOMEM;
	seqs = calloc(b->nr + 2, sizeof(*seqs));
	if (seqs)
		buf = batch_buffer(sk, b, seqs, &len);
	if (!buf)
		goto out;
	/* The whole batch goes in one message; the default buffer holds 32 KiB. */
	force = len + 4096;
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_SNDBUFFORCE, &force, sizeof(force));
	ret = nl_sendto(sk, buf, len);
	if (ret < 0) {
		ret = ret == -NLE_MSGSIZE ? -EMSGSIZE : -EIO;
		goto out;
	}
	a.last_seq = seqs[b->nr];
	ret = wait_answer(sk, &a);
	if (ret && a.err) {
		for (size_t i = 0; i < b->nr; i++)
			if (seqs[i + 1] == a.err_seq)
				*what = b->what[i];
	}
out:
	free(buf);
	free(seqs);
	nl_socket_free(sk);
	return ret;
}

int nft_dump(int type, int (*req)(struct nl_msg *m, void *arg),
	     int (*one)(struct nlmsghdr *h, void *arg), void *arg)
{
	struct answer a = { .one = one, .arg = arg };
	struct nl_msg *m = NULL;
	struct nl_sock *sk;
	int ret = -ENOMEM;

	sk = nft_socket();
	if (!sk)
		return -errno;
	m = nlmsg_alloc_size(1024);
	if (!m || !put_header(m, NFNL_SUBSYS_NFTABLES << 8 | type, NLM_F_DUMP, NFPROTO_INET, 0))
		goto out;
	if (req && req(m, arg))
		goto out;
	ret = nl_send_auto(sk, m);
	if (ret < 0) {
		ret = -EIO;
		goto out;
	}
	ret = wait_answer(sk, &a);
out:
	if (m)
		nlmsg_free(m);
	nl_socket_free(sk);
	return ret;
}
