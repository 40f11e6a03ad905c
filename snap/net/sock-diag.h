/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's view of sockets, through sock_diag (NETLINK_SOCK_DIAG) and
 * libnl3: one dump per family lists every socket of the thread's network namespace
 * with what no syscall on the socket tells (a unix socket's peer inode, the
 * connections waiting in a listener's queue, queue lengths; a netlink
 * socket's group bitmap). Dump takes one table per tree, frozen, and each
 * socket fd then finds itself in it by inode.
 */
#ifndef SNAP_NET_SOCK_DIAG_H
#define SNAP_NET_SOCK_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

/*
 * One SOCK_DIAG_BY_FAMILY dump of @what sockets ("unix", for messages),
 * request @req of @len bytes: @one gets each reply message, and returns 0,
 * or -1 having said why. 0, -1 logged, or 1 (not logged) when the kernel has
 * no diag module for that family or protocol (raw_diag is often not built).
 * The sock_diag users of snap/net/ share it.
 */
int sock_diag_run(const char *what, void *req, size_t len,
		  int (*one)(struct nlmsghdr *h, void *arg), void *arg);
/* The same with request type @type (TCPDIAG_GETSOCK); 1 also when the kernel has none. */
int sock_diag_run_as(int type, const char *what, void *req, size_t len,
		     int (*one)(struct nlmsghdr *h, void *arg), void *arg);
/*
 * One socket by its identity in @req (no NLM_F_DUMP: the kernel looks it
 * up): @one gets its record. 0, -1 when @one failed, or 1 (not logged) when
 * the kernel found none or refused: the caller then dumps.
 */
int sock_diag_get(void *req, size_t len, int (*one)(struct nlmsghdr *h, void *arg), void *arg);

#define UNIX_NAME_MAX 108	/* sizeof(sun_path) */

/* One unix socket as sock_diag shows it. */
struct unix_diag {
	uint32_t ino;			/* sockfs inode: st_ino of an fd on it */
	uint8_t type;			/* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint8_t state;			/* TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN */
	uint8_t shutdown;		/* RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2 */
	uint8_t name_len;		/* 0: unnamed; name[0] == 0: abstract */
	char name[UNIX_NAME_MAX];
	bool has_vfs;			/* bound to a path: its inode then */
	uint32_t vfs_dev, vfs_ino;	/* dev as the kernel keeps it: major << 20 | minor */
	uint32_t peer;			/* peer's inode, 0 for none (or a pending one) */
	/*
	 * A listener's connections not yet accepted, oldest first: the inodes
	 * of the CONNECTING sockets (the sockets in the queue have none).
	 */
	uint32_t *icons;
	uint32_t nr_icons;
	uint32_t rqueue;		/* listener: queue length; else bytes queued to read */
	uint32_t wqueue;		/* listener: backlog; else bytes sent, not yet read */
	uint32_t uid;
};

struct unix_diag_table {
	struct unix_diag *sk;		/* sorted by ino */
	size_t nr;
};

/* Every unix socket of the thread's network namespace. 0 or -1 logged. */
int unix_diag_collect(struct unix_diag_table *t);
const struct unix_diag *unix_diag_find(const struct unix_diag_table *t, uint32_t ino);
void unix_diag_free(struct unix_diag_table *t);

/* One netlink socket as sock_diag shows it. */
struct netlink_diag {
	uint32_t ino;
	uint8_t type;			/* SOCK_RAW or SOCK_DGRAM */
	uint8_t protocol;		/* NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT... */
	uint8_t state;			/* NETLINK_CONNECTED (1) once connect()ed */
	uint32_t portid;		/* bound port id, 0 if unbound */
	uint32_t dst_portid, dst_group;	/* connect()ed to */
	uint32_t *groups;		/* bitmap, 32 groups a word */
	uint32_t nr_groups;		/* words */
	uint32_t rmem;			/* bytes queued to read (SK_MEMINFO_RMEM_ALLOC) */
	uint32_t flags;			/* NDIAG_FLAG_* */
};

struct netlink_diag_table {
	struct netlink_diag *sk;	/* sorted by ino */
	size_t nr;
};

/* Every netlink socket of the thread's network namespace. 0 or -1 logged. */
int netlink_diag_collect(struct netlink_diag_table *t);
const struct netlink_diag *netlink_diag_find(const struct netlink_diag_table *t, uint32_t ino);
void netlink_diag_free(struct netlink_diag_table *t);

#endif
