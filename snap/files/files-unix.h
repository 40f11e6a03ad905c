/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the unix socket kind (files-unix*.c): its dump and restore state
 * and the jobs its files share. Nothing outside the kind includes this.
 *
 *   files-unix.c          the fd_ops table and the hooks' glue
 *   files-unix-collect.c  collect: the tables, and the connections fixed
 *   files-unix-index.c    the tables: sock_diag, who holds which socket, queues
 *   files-unix-pending.c  collect: data written into connections no one accepted
 *   files-unix-dump.c     dump: a socket's entry; write: the checks, unix-queues.img
 *   files-unix-queue.c    reading a queue without taking it (MSG_PEEK, SO_PEEK_OFF)
 *   files-unix-name.c     names: printing, binding, connecting
 *   files-unix-load.c     restore: the images checked, the sockets linked
 *   files-unix-open.c     restore: making sockets, pairs and connections
 *   files-unix-fill.c     restore: queues refilled, then shutdowns and options
 *   files-unix-send.c     restore: sending one message, as the pid it came from
 *   files-unix-creds.c    dump: the credentials of exited senders, as the tree sees them
 */
#ifndef SNAP_FILES_UNIX_H
#define SNAP_FILES_UNIX_H

#include <sys/socket.h>
#include <sys/un.h>

#include "files/files-kind.h"
#include "net/sk-opts.h"
#include "net/sock-diag.h"

#define UNIX_MAX_FDS 253	/* SCM_MAX_FD: fds one message carries */

/* Kernel socket states (include/net/tcp_states.h) and shutdown bits (sock.h). */
#define UNIX_ESTABLISHED 1
#define UNIX_CLOSE 7
#define UNIX_LISTEN 10
#define UNIX_RCV_SHUTDOWN 1
#define UNIX_SEND_SHUTDOWN 2

/* One message read from a queue, dump side. */
struct unix_msg {
	uint8_t *data;
	size_t len;
	uint8_t sender[UNIX_NAME_MAX];	/* dgram: who sent it */
	uint8_t sender_len;		/* 0: unnamed */
	int *fds;			/* SCM_RIGHTS, installed in snap */
	int nfds;
	bool has_creds;
	struct ucred creds;
	bool creds_in_tree;		/* creds.pid as the tree's pid namespace sees it */
};

/* A socket an fd of the tree holds. */
struct unix_holder {
	uint32_t ino;
	pid_t pid;
	int fd;
};

/* A connection waiting in a listener's queue, by the socket that connected. */
struct unix_icon {
	uint32_t client;
	uint32_t listener;
	uint32_t pos;		/* in the queue, oldest first */
};

/*
 * A connection not yet accepted whose data collect had to take out and put
 * back (files-unix-pending.c): @ino is the socket that connects now, @msgs
 * what waits in its peer.
 */
struct unix_pending_data {
	uint32_t ino;
	struct unix_msg *msgs;
	size_t nr;
};

/* A socket dumped as a file, for the checks write() makes across the tree. */
struct unix_dumped {
	uint32_t ino;
	pid_t pid;
	int fd;
	bool inflight;
	UnixSkEntry *ue;	/* its part of its FileEntry, which the table owns */
};

struct unix_dump_state {
	struct unix_diag_table diag;
	struct unix_holder *holders;	/* sorted by ino */
	size_t nr_holders;
	struct unix_icon *icons;	/* sorted by client */
	size_t nr_icons;
	struct unix_pending_data *pending;
	size_t nr_pending;
	struct unix_dumped *dumped;
	size_t nr_dumped, cap_dumped;
	UnixQueueEntry **q;		/* unix-queues.img */
	size_t nr_q, cap_q;
	struct sk_kind_cache sk_defaults;	/* fresh sockets' options, once a type */
};

/* A socket being restored, linked to the others by load. */
struct unix_rsk {
	uint32_t ino, id;		/* id: its files.img id */
	const UnixSkEntry *ue;
	struct unix_rsk *peer;		/* the peer, if the image has it */
	struct unix_rsk *accepted_from;	/* its listener, if the image has it */
	struct unix_rsk *listener;	/* pending in this listener's queue... */
	uint32_t pos;			/* ...at this place among the image's */
	struct unix_rsk *mate;		/* dgram: made with it by one socketpair() */
	bool external;			/* its peer is outside the image */
	bool name_owner;		/* binds its name (not a name shared by accept) */
	/* Listener: what open() has made of its queue and connections. */
	uint32_t accepted_left;		/* sockets accept()ed from it, not made yet */
	uint32_t next_pending;		/* pending connections made so far */
	/* Messages into it, in order; pending: into its peer in the listener's queue. */
	const UnixQueueEntry **q;
	size_t nr_q;
	int tmp_peer;			/* peer gone: the end that refills it, closed after */
};

struct unix_restore_state {
	UnixQueueEntry **queue;		/* unix-queues.img */
	size_t nr_queue;
	struct unix_rsk *sk;		/* sorted by ino */
	size_t nr_sk;
	bool fill_in_root;		/* all_opened() left the queues to root_opened() */
};

/* files-unix-collect.c */
int unix_collect(struct dump_ctx *ctx, void *st);

/* files-unix-index.c */
/* The sock_diag table, the holders and the waiting connections. 0 or -1 logged. */
int unix_index_build(struct dump_ctx *ctx, struct unix_dump_state *us);
void unix_index_free(struct unix_dump_state *us);
/* The first fd of the tree that holds @ino, or NULL. */
const struct unix_holder *unix_holder_of(const struct unix_dump_state *us, uint32_t ino);
/* The LISTEN socket whose queue holds the connection of @ino, or NULL; *@pos its place. */
const struct unix_diag *unix_pending_on(const struct unix_dump_state *us, uint32_t ino,
					uint32_t *pos);

/* files-unix-pending.c */
int unix_fix_pending(struct dump_ctx *ctx, struct unix_dump_state *us, bool *changed);

/* files-unix-dump.c */
int unix_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe);
int unix_write(struct dump_ctx *ctx, void *st);
void unix_dump_free(void *st);
/* Queue @m, taken (its fds go in flight), as a message to @ino. 0 or -1 logged. */
int unix_queue_msg(struct dump_ctx *ctx, struct unix_dump_state *us, uint32_t ino, bool pending,
		   struct unix_msg *m);

/* files-unix-queue.c */
/*
 * Every message queued to read in @fd, left where it is (with their
 * SCM_CREDENTIALS when the socket has SO_PASSCRED): @type its socket type,
 * @shut whether it is shut down for reading. 0 or -1 logged.
 */
int unix_peek_queue(int fd, int type, bool shut, const char *who, struct unix_msg **msgs,
		    size_t *nr);
/* Send @m through @fd (connected), all of it, with its fds. 0 or -1 logged. */
int unix_send_msg(int fd, const struct unix_msg *m, const char *who);
void unix_msgs_free(struct unix_msg *msgs, size_t nr);

/* files-unix-name.c */
/* @name for messages: "/path", "@abstract", or "unnamed". */
const char *unix_name_str(const uint8_t *name, size_t len, char *buf, size_t size);
/* "pid 5 fd 3" or "a socket in flight": who @d is, for messages. */
const char *unix_who(const struct fd_desc *d, char *buf, size_t size);
/* "file id 7 (unix socket /path)", for restore messages. */
const char *unix_rwho(const struct unix_rsk *r, char *buf, size_t size);
/* A sockaddr_un of @name; false if it does not fit. */
bool unix_addr(const uint8_t *name, size_t len, struct sockaddr_un *a, socklen_t *alen);
/*
 * bind() or connect() (@do_bind) @fd to @name, a relative path resolved in
 * @dir (NULL: absolute or abstract). A stale socket file left at the path
 * by a dead socket is removed first when binding. 0, or -1 with errno set,
 * not logged.
 */
int unix_name_op(int fd, const uint8_t *name, size_t len, const char *dir, bool do_bind);
/* Remove the path @name (in @dir) again: a socket reads it as its name, gone. -1 with errno. */
int unix_name_unlink(const uint8_t *name, size_t len, const char *dir);

/* files-unix-load.c */
int unix_load(struct restore_ctx *ctx, void *st);
void unix_restore_free(void *st);
struct unix_rsk *unix_rsk_find(const struct unix_restore_state *rs, uint32_t ino);

/* files-unix-open.c */
int unix_open(struct restore_ctx *ctx, void *st, const FileEntry *fe);

/* files-unix-fill.c */
int unix_all_opened(struct restore_ctx *ctx, void *st);
int unix_root_opened(struct restore_ctx *ctx, void *st);
void unix_close_stand_ins(struct restore_ctx *ctx, void *st);

/* files-unix-creds.c */
/*
 * @msgs, @nr messages just peeked on @fd (unix_peek_queue()'s arguments):
 * when a sender of one has exited and the tree has its own pid namespace,
 * every credentials pid read again as that namespace sees it. 0 or -1 logged.
 */
int unix_creds_vpids(const struct dump_ctx *ctx, int fd, int type, bool shut, const char *who,
		     struct unix_msg *msgs, size_t nr);

/* files-unix-send.c */
/* unix_send_creds()'s @via: under a child at whatever pid the kernel gives. */
#define UNIX_VIA_ANY ((pid_t)-1)
/*
 * Send @mh on @fd with SCM_CREDENTIALS @cr: as-is when the pid is alive,
 * else from a child made with that pid (clone3 set_tid) that exits at once,
 * itself made under a child at pid @via when @via is not 0 (UNIX_VIA_ANY:
 * any pid). 0 or -1 logged.
 */
int unix_send_creds(int fd, struct msghdr *mh, const UnixCreds *cr, pid_t via, const char *who);

#endif
