// SPDX-License-Identifier: GPL-2.0
/*
 * The lock's table in the kernel (netlock.h): made, with its sets, chains and
 * rules, in one nf_tables batch, so that a lock is there whole or not at
 * all; and deleted, which takes all of it. The set keys are netlock-conn.c's.
 */
/* glibc's before the kernel's: linux/in.h then leaves glibc's definitions alone. */
#include <netinet/in.h>

#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>

#include "log.h"
#include "net/netlock.h"
#include "net/nft.h"

/*
 * Before connection tracking (-200): a dropped packet changes no conntrack
 * state. Any firewall's accept elsewhere does not matter: a drop is final.
 */
#define NETLOCK_PRIORITY (-300)
/* Set elements per command: a command is one netlink message. */
#define ELEMS_PER_MSG 128

/*
 * How nft(8) names the key's type ("ipv4_addr . inet_service . ..."), so
 * that `nft list ruleset`, where there is one, shows the tuples. The kernel
 * only keeps it: 6 bits a field, the first field highest.
 */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_SERVICE 13
#define CONCAT4(a, b, c, d) ((((a) << 6 | (b)) << 6 | (c)) << 6 | (d))

/*
 * Rule expressions. A failed put (the message is full) is kept in *@err:
 * the rule is checked once, at its end.
 */
struct expr {
	struct nlattr *elem, *data;
};

static struct expr expr_begin(struct nl_msg *m, const char *name, int *err)
{
	struct expr e = { .elem = nla_nest_start(m, NFTA_LIST_ELEM) };

	if (e.elem && !nla_put_string(m, NFTA_EXPR_NAME, name))
		e.data = nla_nest_start(m, NFTA_EXPR_DATA);
	if (!e.data)
		*err = -1;
	return e;
}

static void expr_end(struct nl_msg *m, struct expr e, int *err)
{
	if (!e.data || nla_nest_end(m, e.data) < 0 || nla_nest_end(m, e.elem) < 0)
		*err = -1;
}

static void put32(struct nl_msg *m, int attr, uint32_t v, int *err)
{
	if (nft_put_be32(m, attr, v))
		*err = -1;
}

static void expr_meta(struct nl_msg *m, uint32_t key, int *err)
{
	struct expr e = expr_begin(m, "meta", err);

	put32(m, NFTA_META_KEY, key, err);
	put32(m, NFTA_META_DREG, NFT_REG_1, err);
	expr_end(m, e, err);
}

static void expr_eq_u8(struct nl_msg *m, uint8_t v, int *err)
{
	struct expr e = expr_begin(m, "cmp", err);
	struct nlattr *data;

	put32(m, NFTA_CMP_SREG, NFT_REG_1, err);
	put32(m, NFTA_CMP_OP, NFT_CMP_EQ, err);
	data = nla_nest_start(m, NFTA_CMP_DATA);
	if (!data || nla_put(m, NFTA_DATA_VALUE, 1, &v) || nla_nest_end(m, data) < 0)
		*err = -1;
	expr_end(m, e, err);
}

static void expr_payload(struct nl_msg *m, uint32_t base, uint32_t off, uint32_t len,
			 uint32_t reg, int *err)
{
	struct expr e = expr_begin(m, "payload", err);

	put32(m, NFTA_PAYLOAD_DREG, reg, err);
	put32(m, NFTA_PAYLOAD_BASE, base, err);
	put32(m, NFTA_PAYLOAD_OFFSET, off, err);
	put32(m, NFTA_PAYLOAD_LEN, len, err);
	expr_end(m, e, err);
}

static void expr_lookup(struct nl_msg *m, int set, int *err)
{
	struct expr e = expr_begin(m, "lookup", err);

	if (nla_put_string(m, NFTA_LOOKUP_SET, netlock_set_names[set]))
		*err = -1;
	put32(m, NFTA_LOOKUP_SET_ID, set + 1, err);
	put32(m, NFTA_LOOKUP_SREG, NFT_REG32_00, err);
	expr_end(m, e, err);
}

static void expr_drop(struct nl_msg *m, int *err)
{
	struct expr e = expr_begin(m, "immediate", err);
	struct nlattr *data, *verdict;

	put32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT, err);
	data = nla_nest_start(m, NFTA_IMMEDIATE_DATA);
	verdict = data ? nla_nest_start(m, NFTA_DATA_VERDICT) : NULL;
	if (!verdict)
		*err = -1;
	put32(m, NFTA_VERDICT_CODE, NF_DROP, err);
	if (!verdict || nla_nest_end(m, verdict) < 0 || nla_nest_end(m, data) < 0)
		*err = -1;
	expr_end(m, e, err);
}

/*
 * "TCP of this family, whose 4-tuple is in the set: drop" in chain @in
 * (input) or output. The fields are loaded in key order (see the top).
 */
static int add_rule(struct nft_batch *b, const char *table, bool in, int set)
{
	/* Network header offsets of the source and destination address. */
	uint32_t alen = set ? 16 : 4, src = set ? 8 : 12, dst = set ? 24 : 16;
	uint32_t reg = NFT_REG32_00, addr[2], port[2];
	struct nlattr *exprs;
	struct nl_msg *m;
	int err = 0;

	m = nft_batch_add(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "a rule", 1024);
	if (!m)
		return -1;
	/* Local end first: the destination of what comes in, the source of what goes out. */
	addr[0] = in ? dst : src;
	addr[1] = in ? src : dst;
	port[0] = in ? 2 : 0;
	port[1] = in ? 0 : 2;
	if (nla_put_string(m, NFTA_RULE_TABLE, table) ||
	    nla_put_string(m, NFTA_RULE_CHAIN, in ? "input" : "output"))
		err = -1;
	exprs = nla_nest_start(m, NFTA_RULE_EXPRESSIONS);
	if (!exprs)
		err = -1;
	expr_meta(m, NFT_META_NFPROTO, &err);
	expr_eq_u8(m, set ? NFPROTO_IPV6 : NFPROTO_IPV4, &err);
	expr_meta(m, NFT_META_L4PROTO, &err);
	expr_eq_u8(m, IPPROTO_TCP, &err);
	for (int i = 0; i < 2; i++) {
		expr_payload(m, NFT_PAYLOAD_NETWORK_HEADER, addr[i], alen, reg, &err);
		reg += alen / 4;
		expr_payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, port[i], 2, reg, &err);
		reg++;
	}
	expr_lookup(m, set, &err);
	expr_drop(m, &err);
	if (exprs && nla_nest_end(m, exprs) < 0)
		err = -1;
	if (err)
		pr_err("network lock %s: a rule does not fit its message", table);
	return err;
}

static int add_chain(struct nft_batch *b, const char *table, bool in)
{
	struct nl_msg *m = nft_batch_add(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "a chain", 256);
	struct nlattr *hook;

	if (!m)
		return -1;
	if (nla_put_string(m, NFTA_CHAIN_TABLE, table) ||
	    nla_put_string(m, NFTA_CHAIN_NAME, in ? "input" : "output") ||
	    nla_put_string(m, NFTA_CHAIN_TYPE, "filter") ||
	    nft_put_be32(m, NFTA_CHAIN_POLICY, NF_ACCEPT) ||
	    !(hook = nla_nest_start(m, NFTA_CHAIN_HOOK)) ||
	    nft_put_be32(m, NFTA_HOOK_HOOKNUM, in ? NF_INET_LOCAL_IN : NF_INET_LOCAL_OUT) ||
	    nft_put_be32(m, NFTA_HOOK_PRIORITY, (uint32_t)NETLOCK_PRIORITY) ||
	    nla_nest_end(m, hook) < 0) {
		pr_err("network lock %s: a chain does not fit its message", table);
		return -1;
	}
	return 0;
}

static int add_set(struct nft_batch *b, const char *table, int set)
{
	struct nl_msg *m = nft_batch_add(b, NFT_MSG_NEWSET, NLM_F_CREATE, "a set", 256);
	uint32_t a = set ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR, p = NFT_TYPE_INET_SERVICE;

	if (!m)
		return -1;
	if (nla_put_string(m, NFTA_SET_TABLE, table) ||
	    nla_put_string(m, NFTA_SET_NAME, netlock_set_names[set]) ||
	    nft_put_be32(m, NFTA_SET_ID, set + 1) || nft_put_be32(m, NFTA_SET_FLAGS, 0) ||
	    nft_put_be32(m, NFTA_SET_KEY_TYPE, CONCAT4(a, p, a, p)) ||
	    nft_put_be32(m, NFTA_SET_KEY_LEN, set ? 40 : 16)) {
		pr_err("network lock %s: a set does not fit its message", table);
		return -1;
	}
	return 0;
}

/* The elements of set @set, ELEMS_PER_MSG a command. */
static int add_elems(struct nft_batch *b, const char *table, int set,
		     const struct netlock_conn *conns, size_t nr)
{
	struct nlattr *list = NULL;
	struct nl_msg *m = NULL;
	size_t in_msg = 0;
	uint8_t key[40];
	int s;

	for (size_t i = 0; i < nr; i++) {
		size_t len = netlock_key(&conns[i], key, &s);
		struct nlattr *elem, *k;

		if (!len || s != set)
			continue;
		if (!m) {
			m = nft_batch_add(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "the connections",
					  ELEMS_PER_MSG * 80 + 256);
			if (!m || nla_put_string(m, NFTA_SET_ELEM_LIST_TABLE, table) ||
			    nla_put_string(m, NFTA_SET_ELEM_LIST_SET, netlock_set_names[set]) ||
			    nft_put_be32(m, NFTA_SET_ELEM_LIST_SET_ID, set + 1) ||
			    !(list = nla_nest_start(m, NFTA_SET_ELEM_LIST_ELEMENTS)))
				goto full;
		}
		elem = nla_nest_start(m, NFTA_LIST_ELEM);
		k = elem ? nla_nest_start(m, NFTA_SET_ELEM_KEY) : NULL;
		if (!k || nla_put(m, NFTA_DATA_VALUE, len, key) || nla_nest_end(m, k) < 0 ||
		    nla_nest_end(m, elem) < 0)
			goto full;
		if (++in_msg == ELEMS_PER_MSG) {
			if (nla_nest_end(m, list) < 0)
				goto full;
			m = NULL;
			in_msg = 0;
		}
	}
	if (m && nla_nest_end(m, list) < 0)
		goto full;
	return 0;
full:
	if (m)
		pr_err("network lock %s: the connections do not fit their message", table);
	return -1;
}

/* The table, with the lock's directory as its comment (shown by `snap netlock --list`). */
static int add_table(struct nft_batch *b, const char *table, const char *dir)
{
	struct nl_msg *m = nft_batch_add(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
					 "the table", NFT_USERDATA_MAXLEN + 256);

	if (!m)
		return -1;
	/* The kernel keeps up to NFT_USERDATA_MAXLEN bytes: a longer path is cut. */
	if (nla_put_string(m, NFTA_TABLE_NAME, table) || nft_put_be32(m, NFTA_TABLE_FLAGS, 0) ||
	    nla_put(m, NFTA_TABLE_USERDATA, strnlen(dir, NFT_USERDATA_MAXLEN), dir)) {
		pr_err("network lock %s: the table does not fit its message", table);
		return -1;
	}
	return 0;
}

int netlock_nft_create(const char *table, const char *dir, const struct netlock_conn *conns,
		       size_t nr)
{
	struct nft_batch *b = nft_batch_new();
	const char *what;
	int ret = -1;

	if (!b)
		return -1;
	if (add_table(b, table, dir))
		goto out;
	for (int set = 0; set < 2; set++)
		if (add_set(b, table, set) || add_elems(b, table, set, conns, nr))
			goto out;
	for (int in = 0; in < 2; in++)
		if (add_chain(b, table, in))
			goto out;
	for (int in = 0; in < 2; in++)
		for (int set = 0; set < 2; set++)
			if (add_rule(b, table, in, set))
				goto out;
	ret = nft_batch_commit(b, &what);
	if (ret == -EEXIST && !strcmp(what, "the table"))
		pr_err("network lock %s: the table is there already (snap netlock --list)", table);
	else if (ret)
		pr_err("network lock %s: nf_tables refused %s: %s%s", table, what, strerror(-ret),
		       ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT || ret == -EOPNOTSUPP
			       ? " (the kernel needs CONFIG_NF_TABLES and CONFIG_NF_TABLES_INET;"
				 " or dump with --network-lock skip)"
			       : "");
	ret = ret ? -1 : 0;
out:
	nft_batch_free(b);
	return ret;
}

int netlock_nft_delete(const char *table)
{
	struct nft_batch *b = nft_batch_new();
	const char *what;
	struct nl_msg *m;
	int ret;

	if (!b)
		return -ENOMEM;
	m = nft_batch_add(b, NFT_MSG_DELTABLE, 0, "the table", 256);
	if (!m || nla_put_string(m, NFTA_TABLE_NAME, table))
		ret = -ENOMEM;
	else
		ret = nft_batch_commit(b, &what);
	nft_batch_free(b);
	return ret;
}
