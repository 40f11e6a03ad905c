/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the inet socket kind (files-inet*.c): TCP, UDP, UDP-lite, raw and
 * ICMP ("ping") sockets, IPv4 and IPv6. Its dump and restore state and the
 * jobs its files share. Nothing outside the kind includes this.
 *
 *   files-inet.c        the fd_ops table and collect
 *   files-inet-name.c   names and addresses, for messages and for bind()
 *   files-inet-dump.c   dump: a socket's entry, what every kind of inet socket has
 *   files-inet-queue.c  dump: what is queued, kept for inet-queues.img
 *   files-inet-tcp.c    dump: TCP states, connections through TCP_REPAIR, the
 *                       sockets a killing dump holds in repair mode; write
 *   files-inet-lock.c   dump: the connections the network lock hides
 *   files-inet-dgram.c  UDP datagrams: read at dump, delivered again at restore
 *   files-inet-load.c   restore: the images checked, ports checked free
 *   files-inet-open.c   restore: the sockets made, bound, connected (in repair mode)
 *   files-inet-fill.c   restore, all_opened and tree_restored: connections out
 *                       of repair mode once the tree is restored
 *
 * The kernel's side is in snap/net/: inet-diag.c (sock_diag), inet-opts.c and
 * inet-mcast.c (options, groups), inet-repair.c and inet-inject.c (TCP_REPAIR,
 * packets made up from a peer).
 */
#ifndef SNAP_FILES_INET_H
#define SNAP_FILES_INET_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "files/files-kind.h"
#include "net/inet-diag.h"
#include "net/inet-opts.h"
#include "net/inet-repair.h"
#include "net/sk-opts.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

#define INET_RCV_SHUTDOWN 1
#define INET_SEND_SHUTDOWN 2

/* "127.0.0.1:80", "[::1]:80": room for one address and port. */
#define INET_ADDR_STR 64
/* "pid N fd M: TCP 127.0.0.1:80 -> 127.0.0.1:40000" */
#define INET_WHO_MAX 192

/*
 * A connection a killing dump saved: snap keeps its own fd on it, and puts
 * it in repair mode at write(), so that the close that comes with the
 * kill sends nothing to the peer (no FIN, no reset).
 */
struct inet_held {
	int fd;			/* snap's own */
	bool repair;		/* in repair mode now */
	int reuseaddr;		/* SO_REUSEADDR, which repair mode overwrites */
	char who[INET_WHO_MAX];
};

struct inet_dump_state {
	struct dump_ctx *ctx;		/* set by collect: dump_free needs it */
	struct inet_diag_table diag;
	struct inet_mc_cands mc;
	struct sk_kind_cache sk_defaults;	/* fresh sockets' options, once a kind */
	struct sk_kind_cache inet_defaults;
	size_t nr_dumped;		/* inet sockets: inet-queues.img is written if any */
	InetQueueEntry **q;		/* inet-queues.img */
	size_t nr_q, cap_q;
	struct inet_held *held;
	size_t nr_held, cap_held;
	uint32_t *lock_inos;		/* the connections collect listed to lock, sorted */
	size_t nr_lock_inos;
};

/* A socket being restored. */
struct inet_rsk {
	uint32_t ino, id;		/* id: its files.img id */
	const InetSkEntry *ie;
	InetQueueEntry **q;		/* its inet-queues.img entries, in order */
	size_t nr_q;
	uint8_t *snd, *rcv;		/* TCP: its send and receive queues, joined */
	uint32_t snd_len, rcv_len;
	bool closed;			/* a connection that comes back closed */
	bool repair;			/* in repair mode: opened so, until tree_restored */
	int own_fd;			/* a connection: snap's own fd on it, or -1 */
};

/* A port restore checks free before it makes anything. */
struct inet_port {
	uint32_t family, type, protocol, port;
	uint8_t addr[16];
};

/* A TCP listener of the image, by port: connections on its port wait for it. */
struct inet_listener {
	uint32_t port, id;
};

struct inet_restore_state {
	InetQueueEntry **queue;		/* inet-queues.img, sorted by ino (stable) */
	size_t nr_queue;
	bool have_queues;		/* inet-queues.img was there */
	bool *claimed;			/* queue[i] belongs to a socket of files.img */
	bool checked;			/* the first open() called inet_loaded() */
	struct inet_rsk *sk;		/* by id, once inet_loaded() sorted them */
	size_t nr_sk, cap_sk;
	struct inet_port *ports;	/* checked free so far */
	size_t nr_ports, cap_ports;
	struct inet_listener *listeners;	/* sorted by port, once inet_loaded() ran */
	size_t nr_listeners, cap_listeners;
};

/* files-inet-name.c */
/* "TCP", "UDPv6", "ping", "raw (proto 17)"... */
const char *inet_proto_str(uint32_t family, uint32_t type, uint32_t protocol, char *buf,
			   size_t size);
/* "127.0.0.1:80" or "[::1]:80" (@port < 0: no port). */
const char *inet_addr_str(uint32_t family, const uint8_t *addr, int port, char *buf,
			  size_t size);
/* "pid N fd M: TCP 127.0.0.1:80 -> 127.0.0.1:40000" (or "a socket in flight"). */
const char *inet_who(const struct fd_desc *d, const InetSkEntry *ie, char *buf, size_t size);
/* "files.img file id N (TCP 127.0.0.1:80 -> ...)", for restore messages. */
const char *inet_rwho(const FileEntry *fe, char *buf, size_t size);
/* An address of @ie's family into @ss: @addr may be NULL (any). The length. */
socklen_t inet_sockaddr(uint32_t family, const uint8_t *addr, uint32_t port, uint32_t scope,
			struct sockaddr_storage *ss);

/* files-inet-dump.c */
int inet_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe);

/* files-inet-queue.c */
/* Keep @data (taken) as queue @queue of @ino in inet-queues.img. 0 or -1 logged. */
int inet_queue_add(struct inet_dump_state *is, uint32_t ino, InetQueue queue, uint8_t *data,
		   size_t len, const uint8_t *addr, size_t alen, uint32_t port);

/* files-inet-tcp.c */
/* The TCP part of @ie: state, listener's queue, connection. 0 or -1 logged. */
int inet_tcp_dump(struct dump_ctx *ctx, struct inet_dump_state *is, const struct fd_desc *d,
		  const struct inet_diag *diag, InetSkEntry *ie, const struct sk_read *rd,
		  const char *who);
int inet_write(struct dump_ctx *ctx, void *st);
void inet_unfreeze(struct dump_ctx *ctx, void *st, bool killed);
void inet_dump_free(void *st);

/* files-inet-lock.c */
/* A dump that kills, with --tcp-established: it fills dump_ctx.lock_conns. */
bool inet_lock_wanted(const struct dump_ctx *ctx);
/* collect: every connection an fd of the tree holds. 0 or -1 logged. */
int inet_lock_collect(struct dump_ctx *ctx, struct inet_dump_state *is);
/* dump: connection @ie, if collect did not list it. 0 or -1 logged. */
int inet_lock_add(struct dump_ctx *ctx, struct inet_dump_state *is, const InetSkEntry *ie);
/* dump_free: the list and what collect kept. */
void inet_lock_free(struct dump_ctx *ctx, struct inet_dump_state *is);

/* files-inet-dgram.c */
/* The datagrams queued in a UDP socket, left where they are. 0 or -1 logged. */
int inet_dgram_dump(struct inet_dump_state *is, int fd, const InetSkEntry *ie,
		    const char *who);
/* Deliver @r's datagrams again, from their senders, to @fd (bound). 0 or -1 logged. */
int inet_dgram_restore(int fd, const struct inet_rsk *r, const char *who);

/* files-inet-load.c */
int inet_load(struct restore_ctx *ctx, void *st);
int inet_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe);
void inet_restore_free(void *st);
/*
 * Once every entry is prepared (the first open()): the sockets sorted for
 * inet_rsk_find(), the listeners for inet_listener_missing(), and an error,
 * logged, for a queue entry no socket of files.img claimed.
 */
int inet_loaded(struct inet_restore_state *rs);
/* The socket of files.img id @id, or NULL; after inet_loaded(). */
struct inet_rsk *inet_rsk_find(const struct inet_restore_state *rs, uint32_t id);
/*
 * Whether a listener of the image on local port @port is not open yet
 * (files_fd_of()): a connection on that port (one accepted from it) must
 * wait for it, since listen() refuses a port a connection holds already.
 */
bool inet_listener_missing(const struct restore_ctx *ctx, const struct inet_restore_state *rs,
			   uint32_t port);

/* files-inet-open.c */
int inet_open(struct restore_ctx *ctx, void *st, const FileEntry *fe);

/* files-inet-fill.c */
int inet_all_opened(struct restore_ctx *ctx, void *st);
int inet_tree_restored(struct restore_ctx *ctx, void *st);
/* restore_free: the fds all_opened() kept, closed in repair mode. */
void inet_conns_drop(struct inet_restore_state *rs);
/* Shut down as @ie was, set its file flags. 0 or -1 logged. */
int inet_finish_fd(int fd, const InetSkEntry *ie, const char *who);

#endif
