/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The network lock. While a dumped tree is down (from a dump that kills it to
 * its restore) the packets of its TCP connections are dropped both ways, so
 * that a peer sees silence and retransmits instead of getting a reset.
 *
 * How (Documentation/snap.8.md, "NETWORK LOCK"): one nf_tables table of
 * snap's own per lock, "snap-PID-SECONDS" in the inet family, made through
 * netlink (nft.h): no iptables or nft binary is involved. Its input and
 * output chains look each TCP packet's 4-tuple up in a set of the locked
 * connections (one set for IPv4, one for IPv6) and drop it on a match. The
 * table outlives snap; netlock.img records it with the connections for the
 * restore, which removes it, and `snap netlock` lists and removes tables a
 * restore never came for.
 */
#ifndef SNAP_NET_NETLOCK_H
#define SNAP_NET_NETLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ctx.h"
#include "netlock.pb-c.h"

#define NETLOCK_TABLE_MAX 64

/* A lock, as netlock.img records it. */
struct netlock {
	NetlockMethod method;
	char table[NETLOCK_TABLE_MAX];	/* NETLOCK_NFT: the table; "" when none */
	uint64_t lock_time;		/* CLOCK_REALTIME seconds */
	struct netlock_conn *conns;
	size_t nr_conns;
	uint64_t netns;			/* its network namespace's SO_NETNS_COOKIE; 0: unknown */
};

/*
 * Everything here acts in the calling thread's network namespace: a dump
 * or restore of a tree in a namespace of its own calls in from there
 * (ns/net-ns.h).
 *
 * Lock @conns with @method for the dump of @pid into @dir (an nf_tables
 * table for NETLOCK_NFT; nothing for NETLOCK_SKIP) and record it in
 * netlock.img of @dirfd. Nothing to lock: no table, no image, *@out NULL.
 * 0 and *@out set, or -1 logged with nothing left locked.
 */
int netlock_take(int dirfd, const char *dir, NetlockMethod method, pid_t pid,
		 const struct netlock_conn *conns, size_t nr, struct netlock **out);
/* Undo netlock_take() after a failed dump: the table and the image go. Logs, never fails. */
void netlock_undo(int dirfd, struct netlock *nl);
/*
 * Remove @nl's table, if it has one. A table already gone is no error
 * (removed by hand, or a restore on another machine): said at level 3;
 * so is one of another network namespace than the calling thread's (the
 * namespace of a dumped tree, gone with it or not joined by the restore).
 * 0, or -1 logged (the table stays).
 */
int netlock_release(const struct netlock *nl);
/* Is @nl's table in the calling thread's network namespace (or one of an older image)? */
bool netlock_here(const struct netlock *nl);
void netlock_free(struct netlock *nl);

/*
 * Read and check netlock.img of @dirfd: *@out NULL when there is none.
 * 0, or -1 logged naming the image.
 */
int netlock_load(int dirfd, struct netlock **out);
/* netlock.img for @nl. 0, or -1 logged. */
int netlock_write(int dirfd, const struct netlock *nl);
/*
 * A dump into a directory that holds the lock of an earlier dump: its images
 * go, so its lock can never be released by a restore: remove both (warned).
 */
void netlock_forget_old(int dirfd, const char *dir);

/* The locks of snap's own in this network namespace, on @f. 0 or -1 logged. */
int netlock_list(FILE *f);
/* Remove every lock of snap's own. 0 or -1 logged. */
int netlock_release_all(void);

/*
 * "ADDR:PORT-ADDR:PORT" (local, then remote; an IPv6 address in brackets)
 * as a netlock_conn. 0, or -1 (not logged: the caller names the option).
 */
int netlock_parse_conn(const char *s, struct netlock_conn *c);
/* @c as netlock_parse_conn() reads it, in @buf. */
const char *netlock_format_conn(const struct netlock_conn *c, char *buf, size_t size);
#define NETLOCK_CONN_STR 112

/*
 * Internal to snap/net/netlock*.c. The table in the kernel: made whole, or
 * deleted (-errno, nothing logged: -ENOENT when it is gone already); the
 * tables of snap's, one @fn call each until one fails.
 */
int netlock_nft_create(const char *table, const char *dir, const struct netlock_conn *conns,
		       size_t nr);
int netlock_nft_delete(const char *table);
int netlock_nft_tables(int (*fn)(const char *table, void *arg), void *arg);
/* The nf_tables names of the lock. */
#define NETLOCK_PREFIX "snap-"
extern const char *const netlock_set_names[2];	/* by family: [0] IPv4, [1] IPv6 */
/* Is @name one of snap's tables ("snap-PID-SECONDS")? Its seconds in @secs. */
bool netlock_table_name(const char *name, uint64_t *secs);
/* A connection's set key (see netlock.c); its length, or 0 for a bad family. */
size_t netlock_key(const struct netlock_conn *c, uint8_t key[40], int *set);
/* Back from a set key of set @set (0: IPv4, 1: IPv6). 0 or -1. */
int netlock_unkey(const uint8_t *key, size_t len, int set, struct netlock_conn *c);

#endif
