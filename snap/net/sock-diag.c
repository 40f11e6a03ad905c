// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag dumps through libnl3 (see sock-diag.h): libnl does the netlink
 * socket, the request, the multi-part reply and its errors; this file only
 * turns each reply message into a table row. The project brief names libnl3
 * for this, and it keeps netlink framing out of snap.
 */
#include <errno.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "net/sock-diag.h"

#ifndef SK_MEMINFO_RMEM_ALLOC
#define SK_MEMINFO_RMEM_ALLOC 0
#endif

struct diag_run {
	int (*one)(struct nlmsghdr *h, void *arg);
	void *arg;
	bool failed;			/* one() failed and said why */
};

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct diag_run *dr = arg;

	if (dr->one(nlmsg_hdr(msg), dr->arg)) {
		dr->failed = true;
		return NL_STOP;
	}
	return NL_OK;
}

/* A NETLINK_SOCK_DIAG socket whose replies go to @dr. NULL logged. */
static struct nl_sock *diag_socket(struct diag_run *dr)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk) {
		pr_err("sock_diag: out of memory for a netlink socket");
		return NULL;
	}
	ret = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (ret >= 0)
		ret = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, dr);
	if (ret < 0) {
		pr_err("sock_diag: cannot open a NETLINK_SOCK_DIAG socket: %s", nl_geterror(ret));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

int sock_diag_run_as(int type, const char *what, void *req, size_t len,
		     int (*one)(struct nlmsghdr *h, void *arg), void *arg)
{
	struct diag_run dr = { .one = one, .arg = arg };
	struct nl_sock *sk = diag_socket(&dr);
	int ret;

	if (!sk)
		return -1;
	/* A tree may hold thousands of sockets: let a dump part be large. */
	nl_socket_set_msg_buf_size(sk, 32768);
	ret = nl_send_simple(sk, type, NLM_F_DUMP, req, len);
	if (ret >= 0)
		ret = nl_recvmsgs_default(sk);
	if (dr.failed) {
		ret = -1;
	} else if (ret == -NLE_OBJ_NOTFOUND || ret == -NLE_OPNOTSUPP ||
		   (ret == -NLE_INVAL && type != SOCK_DIAG_BY_FAMILY)) {
		/*
		 * ENOENT: no diag handler is registered for this family or
		 * protocol; EOPNOTSUPP or EINVAL: none for this request type.
		 */
		ret = 1;
	} else if (ret < 0) {
		pr_err("sock_diag: the dump of %s sockets failed: %s", what, nl_geterror(ret));
	}
	nl_socket_free(sk);
	return ret < 0 ? -1 : ret;
}

int sock_diag_get(void *req, size_t len, int (*one)(struct nlmsghdr *h, void *arg), void *arg)
{
	struct diag_run dr = { .one = one, .arg = arg };
	struct nl_sock *sk = diag_socket(&dr);
	int ret;

	if (!sk)
		return -1;
	/* One reply or an error: no acknowledgement to wait for. */
	nl_socket_disable_auto_ack(sk);
	ret = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, 0, req, len);
	if (ret >= 0)
		ret = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (dr.failed)
		return -1;
	if (ret < 0)
		pr_debug("sock_diag: a lookup found nothing: %s", nl_geterror(ret));
	return ret < 0 ? 1 : 0;
}

int sock_diag_run(const char *what, void *req, size_t len,
		  int (*one)(struct nlmsghdr *h, void *arg), void *arg)
{
	return sock_diag_run_as(SOCK_DIAG_BY_FAMILY, what, req, len, one, arg);
}

/* A dump the unix and netlink kinds cannot do without. 0 or -1 logged. */
static int diag_dump(const char *what, void *req, size_t len,
		     int (*one)(struct nlmsghdr *h, void *arg), void *arg)
{
	int ret = sock_diag_run(what, req, len, one, arg);

	if (ret > 0)
		pr_err("sock_diag: the kernel has no %s_diag module: snap cannot dump %s sockets",
		       what, what);
	return ret ? -1 : 0;
}

/* Grow @*v (of @*cap elements of @size) to hold @nr + 1. 0 or -1 logged. */
static int grow(void **v, size_t *cap, size_t nr, size_t size, const char *what)
{
	void *n;

	if (nr < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	n = realloc(*v, *cap * size);
	if (!n) {
		pr_err("sock_diag: out of memory for the %s sockets", what);
		return -1;
	}
	*v = n;
	return 0;
}

struct unix_collect {
	struct unix_diag_table *t;
	size_t cap;
};

static int unix_one(struct nlmsghdr *h, void *arg)
{
	struct unix_collect *uc = arg;
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct unix_diag_msg *m = nlmsg_data(h);
	struct unix_diag *u;

	if (nlmsg_parse(h, sizeof(*m), tb, UNIX_DIAG_MAX, NULL) < 0) {
		pr_err("sock_diag: a unix socket record does not parse");
		return -1;
	}
	if (grow((void **)&uc->t->sk, &uc->cap, uc->t->nr, sizeof(*u), "unix"))
		return -1;
	u = &uc->t->sk[uc->t->nr++];
	memset(u, 0, sizeof(*u));
	u->ino = m->udiag_ino;
	u->type = m->udiag_type;
	u->state = m->udiag_state;
	if (tb[UNIX_DIAG_NAME]) {
		int len = nla_len(tb[UNIX_DIAG_NAME]);

		if (len > UNIX_NAME_MAX)
			len = UNIX_NAME_MAX;
		u->name_len = len;
		memcpy(u->name, nla_data(tb[UNIX_DIAG_NAME]), len);
	}
	if (tb[UNIX_DIAG_VFS] && nla_len(tb[UNIX_DIAG_VFS]) >= (int)sizeof(struct unix_diag_vfs)) {
		struct unix_diag_vfs *v = nla_data(tb[UNIX_DIAG_VFS]);

		u->has_vfs = true;
		u->vfs_ino = v->udiag_vfs_ino;
		u->vfs_dev = v->udiag_vfs_dev;
	}
	if (tb[UNIX_DIAG_PEER])
		u->peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	if (tb[UNIX_DIAG_RQLEN] &&
	    nla_len(tb[UNIX_DIAG_RQLEN]) >= (int)sizeof(struct unix_diag_rqlen)) {
		struct unix_diag_rqlen *r = nla_data(tb[UNIX_DIAG_RQLEN]);

		u->rqueue = r->udiag_rqueue;
		u->wqueue = r->udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN])
		u->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	if (tb[UNIX_DIAG_UID])
		u->uid = nla_get_u32(tb[UNIX_DIAG_UID]);
	if (tb[UNIX_DIAG_ICONS] && nla_len(tb[UNIX_DIAG_ICONS]) >= 4) {
		u->nr_icons = nla_len(tb[UNIX_DIAG_ICONS]) / 4;
		u->icons = malloc(u->nr_icons * sizeof(*u->icons));
		if (!u->icons) {
			pr_err("sock_diag: out of memory for the queue of unix socket %u", u->ino);
			return -1;
		}
		memcpy(u->icons, nla_data(tb[UNIX_DIAG_ICONS]), u->nr_icons * 4);
	}
	return 0;
}

static int cmp_unix(const void *a, const void *b)
{
	const struct unix_diag *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

int unix_diag_collect(struct unix_diag_table *t)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = ~0u,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
			      UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID,
	};
	struct unix_collect uc = { .t = t };

	memset(t, 0, sizeof(*t));
	if (diag_dump("unix", &req, sizeof(req), unix_one, &uc)) {
		unix_diag_free(t);
		return -1;
	}
	if (t->nr)
		qsort(t->sk, t->nr, sizeof(*t->sk), cmp_unix);
	return 0;
}

const struct unix_diag *unix_diag_find(const struct unix_diag_table *t, uint32_t ino)
{
	struct unix_diag key = { .ino = ino };

	if (!t->nr)
		return NULL;
	return bsearch(&key, t->sk, t->nr, sizeof(key), cmp_unix);
}

void unix_diag_free(struct unix_diag_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->sk[i].icons);
	free(t->sk);
	t->sk = NULL;
	t->nr = 0;
}

struct netlink_collect {
	struct netlink_diag_table *t;
	size_t cap;
};

static int netlink_one(struct nlmsghdr *h, void *arg)
{
	struct netlink_collect *nc = arg;
	struct nlattr *tb[NETLINK_DIAG_MAX + 1];
	struct netlink_diag_msg *m = nlmsg_data(h);
	struct netlink_diag *n;

	if (nlmsg_parse(h, sizeof(*m), tb, NETLINK_DIAG_MAX, NULL) < 0) {
		pr_err("sock_diag: a netlink socket record does not parse");
		return -1;
	}
	if (grow((void **)&nc->t->sk, &nc->cap, nc->t->nr, sizeof(*n), "netlink"))
		return -1;
	n = &nc->t->sk[nc->t->nr++];
	memset(n, 0, sizeof(*n));
	n->ino = m->ndiag_ino;
	n->type = m->ndiag_type;
	n->protocol = m->ndiag_protocol;
	n->state = m->ndiag_state;
	n->portid = m->ndiag_portid;
	n->dst_portid = m->ndiag_dst_portid;
	n->dst_group = m->ndiag_dst_group;
	if (tb[NETLINK_DIAG_FLAGS])
		n->flags = nla_get_u32(tb[NETLINK_DIAG_FLAGS]);
	if (tb[NETLINK_DIAG_MEMINFO] &&
	    nla_len(tb[NETLINK_DIAG_MEMINFO]) > (int)(SK_MEMINFO_RMEM_ALLOC * sizeof(uint32_t)))
		n->rmem = ((uint32_t *)nla_data(tb[NETLINK_DIAG_MEMINFO]))[SK_MEMINFO_RMEM_ALLOC];
	if (tb[NETLINK_DIAG_GROUPS] && nla_len(tb[NETLINK_DIAG_GROUPS]) >= 4) {
		n->nr_groups = nla_len(tb[NETLINK_DIAG_GROUPS]) / 4;
		n->groups = malloc(n->nr_groups * sizeof(*n->groups));
		if (!n->groups) {
			pr_err("sock_diag: out of memory for the groups of netlink socket %u",
			       n->ino);
			return -1;
		}
		memcpy(n->groups, nla_data(tb[NETLINK_DIAG_GROUPS]), n->nr_groups * 4);
	}
	return 0;
}

static int cmp_netlink(const void *a, const void *b)
{
	const struct netlink_diag *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

int netlink_diag_collect(struct netlink_diag_table *t)
{
	struct netlink_diag_req req = {
		.sdiag_family = AF_NETLINK,
		.sdiag_protocol = NDIAG_PROTO_ALL,
		.ndiag_show = NDIAG_SHOW_MEMINFO | NDIAG_SHOW_GROUPS | NDIAG_SHOW_FLAGS,
	};
	struct netlink_collect nc = { .t = t };

	memset(t, 0, sizeof(*t));
	if (diag_dump("netlink", &req, sizeof(req), netlink_one, &nc)) {
		netlink_diag_free(t);
		return -1;
	}
	if (t->nr)
		qsort(t->sk, t->nr, sizeof(*t->sk), cmp_netlink);
	return 0;
}

const struct netlink_diag *netlink_diag_find(const struct netlink_diag_table *t, uint32_t ino)
{
	struct netlink_diag key = { .ino = ino };

	if (!t->nr)
		return NULL;
	return bsearch(&key, t->sk, t->nr, sizeof(key), cmp_netlink);
}

void netlink_diag_free(struct netlink_diag_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->sk[i].groups);
	free(t->sk);
	t->sk = NULL;
	t->nr = 0;
}
