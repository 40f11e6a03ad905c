// SPDX-License-Identifier: GPL-2.0
/*
 * The locks as the kernel holds them, for `snap netlock --list` and
 * `--unlock --all`: every inet table named "snap-PID-SECONDS", its comment
 * (the images directory) and the 4-tuples of its sets, read back through
 * nf_tables dumps. What the kernel has is what is locked, whatever images
 * say.
 */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net/netlock.h"
#include "net/nft.h"

/* A table of snap's, as listed. */
struct lock_row {
	char name[NETLOCK_TABLE_MAX];
	char dir[NFT_USERDATA_MAXLEN + 1];
	uint64_t secs;
};

struct table_list {
	struct lock_row *rows;
	size_t nr;
};

static int table_one(struct nlmsghdr *h, void *arg)
{
	struct table_list *tl = arg;
	struct nlattr *tb[NFTA_TABLE_MAX + 1];
	struct lock_row *r;
	const char *name;
	uint64_t secs;

	if (nlmsg_parse(h, sizeof(struct nfgenmsg), tb, NFTA_TABLE_MAX, NULL) < 0) {
		pr_err("network lock: nf_tables sent a table that does not parse");
		return -1;
	}
	name = nft_get_str(tb[NFTA_TABLE_NAME]);
	if (!name || !netlock_table_name(name, &secs))
		return 0;
	r = realloc(tl->rows, (tl->nr + 1) * sizeof(*r));
	if (!r) {
		pr_err("network lock: out of memory listing the tables");
		return -1;
	}
	tl->rows = r;
	r = &tl->rows[tl->nr++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->secs = secs;
	if (tb[NFTA_TABLE_USERDATA]) {
		size_t n = nla_len(tb[NFTA_TABLE_USERDATA]);

		memcpy(r->dir, nla_data(tb[NFTA_TABLE_USERDATA]), n < sizeof(r->dir) ? n : 0);
	}
	return 0;
}

static int list_tables(struct table_list *tl)
{
	int ret = nft_dump(NFT_MSG_GETTABLE, NULL, table_one, tl);

	if (ret && ret != -EIO)
		pr_err("network lock: cannot list the nf_tables tables: %s", strerror(-ret));
	return ret ? -1 : 0;
}

struct elem_walk {
	const char *table;
	int set;
	FILE *f;
};

static int elem_req(struct nl_msg *m, void *arg)
{
	struct elem_walk *w = arg;

	if (nla_put_string(m, NFTA_SET_ELEM_LIST_TABLE, w->table) ||
	    nla_put_string(m, NFTA_SET_ELEM_LIST_SET, netlock_set_names[w->set]))
		return -1;
	return 0;
}

static int elem_one(struct nlmsghdr *h, void *arg)
{
	struct elem_walk *w = arg;
	struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1], *elem;
	int rem;

	if (nlmsg_parse(h, sizeof(struct nfgenmsg), tb, NFTA_SET_ELEM_LIST_MAX, NULL) < 0 ||
	    !tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return 0;
	nla_for_each_nested(elem, tb[NFTA_SET_ELEM_LIST_ELEMENTS], rem) {
		struct nlattr *e[NFTA_SET_ELEM_MAX + 1], *d[NFTA_DATA_MAX + 1];
		char buf[NETLOCK_CONN_STR];
		struct netlock_conn c;

		if (nla_parse_nested(e, NFTA_SET_ELEM_MAX, elem, NULL) < 0 ||
		    !e[NFTA_SET_ELEM_KEY] ||
		    nla_parse_nested(d, NFTA_DATA_MAX, e[NFTA_SET_ELEM_KEY], NULL) < 0 ||
		    !d[NFTA_DATA_VALUE] ||
		    netlock_unkey(nla_data(d[NFTA_DATA_VALUE]), nla_len(d[NFTA_DATA_VALUE]), w->set,
				  &c)) {
			fprintf(w->f, "  (a connection that does not decode)\n");
			continue;
		}
		fprintf(w->f, "  %s\n", netlock_format_conn(&c, buf, sizeof(buf)));
	}
	return 0;
}

int netlock_list(FILE *f)
{
	struct table_list tl = { 0 };
	int ret = -1;

	if (list_tables(&tl))
		goto out;
	for (size_t i = 0; i < tl.nr; i++) {
		struct lock_row *r = &tl.rows[i];
		time_t t = r->secs;
		char when[32] = "?";
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(f, "%s  locked %s  images %s\n", r->name, when, r->dir[0] ? r->dir : "?");
		for (int set = 0; set < 2; set++) {
			struct elem_walk w = { .table = r->name, .set = set, .f = f };
			int err = nft_dump(NFT_MSG_GETSETELEM, elem_req, elem_one, &w);

			/* Gone since it was listed: nothing to show. */
			if (err && err != -ENOENT) {
				pr_err("network lock %s: cannot list its connections: %s", r->name,
				       strerror(-err));
				goto out;
			}
		}
	}
	ret = 0;
out:
	free(tl.rows);
	return ret;
}

int netlock_nft_tables(int (*fn)(const char *table, void *arg), void *arg)
{
	struct table_list tl = { 0 };
	int ret = 0;

	if (list_tables(&tl))
		return -1;
	for (size_t i = 0; i < tl.nr && !ret; i++)
		ret = fn(tl.rows[i].name, arg);
	free(tl.rows);
	return ret;
}
