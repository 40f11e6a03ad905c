// SPDX-License-Identifier: GPL-2.0
/*
 * netlock.img (Documentation/images.md): the lock a dump took, read back by
 * the restore that removes it and by `snap netlock --unlock -D DIR`. The
 * image names a table the restore will delete, so it is checked for being
 * one of snap's before anything is done with it: a damaged or foreign image
 * must never remove someone else's firewall.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "net/netlock.h"

int netlock_write(int dirfd, const struct netlock *nl)
{
	NetlockConnEntry *ce = calloc(nl->nr_conns, sizeof(*ce));
	NetlockConnEntry **cp = calloc(nl->nr_conns, sizeof(*cp));
	NetlockEntry e = NETLOCK_ENTRY__INIT;
	int ret = -1;

	if (nl->nr_conns && (!ce || !cp)) {
		pr_err("image netlock.img: out of memory for %zu connections", nl->nr_conns);
		goto out;
	}
	e.method = nl->method;
	e.table = nl->table[0] ? (char *)nl->table : NULL;
	e.has_lock_time = true;
	e.lock_time = nl->lock_time;
	e.has_netns_cookie = nl->netns != 0;
	e.netns_cookie = nl->netns;
	e.n_conns = nl->nr_conns;
	e.conns = cp;
	for (size_t i = 0; i < nl->nr_conns; i++) {
		const struct netlock_conn *c = &nl->conns[i];
		size_t alen = c->family == AF_INET ? 4 : 16;

		netlock_conn_entry__init(&ce[i]);
		ce[i].family = c->family;
		ce[i].laddr.len = ce[i].raddr.len = alen;
		ce[i].laddr.data = (uint8_t *)c->laddr;
		ce[i].raddr.data = (uint8_t *)c->raddr;
		ce[i].lport = c->lport;
		ce[i].rport = c->rport;
		cp[i] = &ce[i];
	}
	ret = img_write_one(dirfd, IMG_NETLOCK, 0, &e.base);
out:
	free(ce);
	free(cp);
	return ret;
}

static int check_conn(const NetlockConnEntry *ce, size_t i, struct netlock_conn *c)
{
	size_t alen = ce->family == AF_INET ? 4 : ce->family == AF_INET6 ? 16 : 0;

	if (!alen || ce->laddr.len != alen || ce->raddr.len != alen || ce->lport > 65535 ||
	    ce->rport > 65535) {
		pr_err("image netlock.img: connection %zu is not a TCP 4-tuple (family %u, "
		       "addresses of %zu and %zu bytes, ports %u and %u)",
		       i, ce->family, ce->laddr.len, ce->raddr.len, ce->lport, ce->rport);
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->family = ce->family;
	memcpy(c->laddr, ce->laddr.data, alen);
	memcpy(c->raddr, ce->raddr.data, alen);
	c->lport = ce->lport;
	c->rport = ce->rport;
	return 0;
}

static int check_entry(const NetlockEntry *e, struct netlock *nl)
{
	uint64_t secs;

	nl->method = e->method;
	nl->lock_time = e->lock_time;
	nl->netns = e->netns_cookie;
	if (e->method == NETLOCK_METHOD__NETLOCK_SKIP) {
		if (e->table) {
			pr_err("image netlock.img: a lock of method skip names table %s", e->table);
			return -1;
		}
	} else if (e->method == NETLOCK_METHOD__NETLOCK_NFT) {
		if (!e->table || !netlock_table_name(e->table, &secs)) {
			pr_err("image netlock.img: the table %s is not one of snap's "
			       "(" NETLOCK_PREFIX "PID-SECONDS)",
			       e->table ? e->table : "(none)");
			return -1;
		}
		snprintf(nl->table, sizeof(nl->table), "%s", e->table);
	} else {
		pr_err("image netlock.img: unknown lock method %d", e->method);
		return -1;
	}
	if (!e->n_conns) {
		pr_err("image netlock.img: no connections (a dump writes it only when it locks "
		       "some)");
		return -1;
	}
	nl->conns = calloc(e->n_conns, sizeof(*nl->conns));
	if (!nl->conns) {
		pr_err("image netlock.img: out of memory for %zu connections", e->n_conns);
		return -1;
	}
	for (size_t i = 0; i < e->n_conns; i++)
		if (check_conn(e->conns[i], i, &nl->conns[nl->nr_conns++]))
			return -1;
	return 0;
}

int netlock_load(int dirfd, struct netlock **out)
{
	ProtobufCMessage *msg = NULL;
	struct netlock *nl;
	struct image *img;
	int ret;

	*out = NULL;
	img = img_open_read(dirfd, IMG_NETLOCK, 0, true);
	if (!img)
		return errno == ENOENT ? 0 : -1;
	ret = img_read_one(img, &msg);
	img_close(img);
	if (ret)
		return -1;
	nl = calloc(1, sizeof(*nl));
	if (!nl) {
		pr_err("image netlock.img: out of memory");
		ret = -1;
	} else {
		ret = check_entry((NetlockEntry *)msg, nl);
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	if (ret) {
		netlock_free(nl);
		return -1;
	}
	*out = nl;
	return 0;
}

void netlock_free(struct netlock *nl)
{
	if (!nl)
		return;
	free(nl->conns);
	free(nl);
}
