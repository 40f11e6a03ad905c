/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal nf_tables client for the network lock (netlock.h): libnl3 does
 * the netlink socket, the message buffers and the attributes; this file the
 * nf_tables part of it. nf_tables takes changes only inside a batch, which
 * it applies as one transaction (all of it or nothing), and reads through
 * GET dumps. Everything is in the inet family (IPv4 and IPv6 at once), in
 * the calling thread's network namespace (the tree's: ns/net-ns.h).
 */
#ifndef SNAP_NET_NFT_H
#define SNAP_NET_NFT_H

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <stddef.h>
#include <stdint.h>

struct nft_batch;

/* NULL when out of memory (logged). */
struct nft_batch *nft_batch_new(void);
/*
 * A new command of @type (NFT_MSG_NEWTABLE...) at the end of @b, with room
 * for @size bytes of attributes, which the caller adds with libnl's nla_*()
 * and the nft_put_*() below. @what names it in errors ("table snap-1-2").
 * NULL when out of memory (logged).
 */
struct nl_msg *nft_batch_add(struct nft_batch *b, int type, int flags, const char *what,
			     size_t size);
/*
 * Send @b as one transaction and wait for the answer: 0, or -errno of the
 * first command the kernel refused, named in @*what ("the batch" when it
 * refused the whole of it). Nothing is logged: the caller knows what it
 * means (a table already gone may be no error).
 */
int nft_batch_commit(struct nft_batch *b, const char **what);
void nft_batch_free(struct nft_batch *b);

/*
 * A GET dump of @type (NFT_MSG_GETTABLE...): @req may add attributes to the
 * request (0 or -1), @one gets each message of the answer (0, or -1 to stop
 * with an error it logged). 0, or -errno of the kernel's refusal (not
 * logged), or -EIO after @one failed.
 */
int nft_dump(int type, int (*req)(struct nl_msg *m, void *arg),
	     int (*one)(struct nlmsghdr *h, void *arg), void *arg);

/* nf_tables wants its integers big-endian. 0, or -1 when the message is full. */
int nft_put_be32(struct nl_msg *m, int attr, uint32_t v);
/* A string attribute read back from an answer, as a C string; NULL if absent or bad. */
const char *nft_get_str(struct nlattr *a);

#endif
