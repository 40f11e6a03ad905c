/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SOL_SOCKET options a program sets on a socket (SO_PASSCRED, buffer sizes,
 * SO_PEEK_OFF, timeouts, a classic BPF filter, SO_REUSEADDR, SO_KEEPALIVE,
 * SO_LINGER, SO_BINDTODEVICE, SO_PRIORITY, SO_MARK...), saved as an sk_opts
 * message and set again on the restored socket. Any socket kind uses them.
 */
#ifndef SNAP_NET_SK_OPTS_H
#define SNAP_NET_SK_OPTS_H

#include <stddef.h>

#include "sk-unix.pb-c.h"

/*
 * What a fresh socket reads, per kind of socket met in one dump: a socket
 * and some 20-70 getsockopt() calls once a kind, not once a socket (a
 * server's hundred connections). Zeroed to start; one dump's, as the
 * defaults follow sysctls (net.core.rmem_default). Its entries are of one
 * size, each starting with its kind; sk-opts.c and inet-opts.c keep one
 * each.
 */
struct sk_kind {
	int family, type, protocol;
};

struct sk_kind_cache {
	void *v;
	size_t nr;
};

/* The entry of @size bytes for kind @k in @c, or NULL. */
void *sk_kind_find(const struct sk_kind_cache *c, size_t size, const struct sk_kind *k);
/* A copy of @e (@size bytes, starting with its kind) kept in @c; NULL: no memory, not kept. */
void *sk_kind_keep(struct sk_kind_cache *c, size_t size, const void *e);
void sk_kind_cache_free(struct sk_kind_cache *c);

/*
 * Values sk_opts_dump() reads whatever they are, for a caller that needs
 * them too: a socket's dump is mostly getsockopt() calls, ~1 µs each here.
 */
struct sk_read {
	int rcvbuf, sndbuf;
	int peek_off;			/* -1: none, or the family has none */
	int reuseaddr;			/* -1: the family has none */
};

/*
 * The options of @fd that differ from those of a fresh socket(@family,
 * @type, @protocol) (in @cache if not NULL): *@out, or NULL when there are
 * none; into @rd, if not NULL, the values it names. @who names the socket
 * in messages ("pid 5 fd 3"). An eBPF filter is refused. 0 or -1 logged.
 */
int sk_opts_dump(int fd, int family, int type, int protocol, struct sk_kind_cache *cache,
		 const char *who, SkOpts **out, struct sk_read *rd);
void sk_opts_free(SkOpts *o);
/* Set @o (may be NULL) on @fd. 0 or -1 logged. */
int sk_opts_restore(int fd, const SkOpts *o, const char *who);
/*
 * Only the options bind() and connect() heed (SO_REUSEADDR, SO_REUSEPORT,
 * SO_BINDTODEVICE): set before them; sk_opts_restore() sets them again.
 */
int sk_opts_restore_bind(int fd, const SkOpts *o, const char *who);
/* Only @o's socket filter (there is one), not locked. 0 or -1 logged. */
int sk_opts_restore_filter(int fd, const SkOpts *o, const char *who);
/* Check @o as read from an image: 0, or -1 logged naming @who. */
int sk_opts_check(const SkOpts *o, const char *who);
/*
 * Let @fd have @bytes more in flight, in @nr messages, than it has, however
 * small its SO_SNDBUF (queues are refilled through it); *@prev is what to
 * put back with sk_sndbuf_put_back() once done. 0 or -1 logged.
 */
int sk_sndbuf_reserve(int fd, size_t bytes, size_t nr, int *prev, const char *who);
int sk_sndbuf_put_back(int fd, int prev, const char *who);

#endif
