// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, restore: making each socket, in snap, with its name and
 * connection (queues, shutdowns and options come later, files-unix-fill.c).
 * Sockets are made non-blocking, so that nothing here can hang; their own
 * file flags are set at the end.
 *
 *  - two connected sockets of the image: one socketpair(), names bound after;
 *  - a socket accept()ed from a listener: its name is the listener's and
 *    only accept() gives it, so the pair is made by connect() + accept()
 *    through the restored listener, before the listener's queue is refilled;
 *    through a listener made for the moment when the image has none;
 *  - a connection not yet accepted: connect() to the restored listener,
 *    after every accept()ed one and the ones before it in the queue;
 *  - a stream socket whose peer is gone: a socketpair whose other end
 *    refills the queue and is closed, as the peer was;
 *  - an external peer (--ext-unix-sk): connect() again by its name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "log.h"

static int new_sock(int type, const char *who)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		pr_perror("%s: cannot make a unix socket", who);
	return fd;
}

/* The socket file's mode and owner, as they were. */
static int set_file_attrs(const UnixSkEntry *ue, const char *who)
{
	char path[4096 + UNIX_NAME_MAX + 2];
	int len = strnlen((const char *)ue->name.data, ue->name.len);

	if (!ue->has_file_mode || ue->name_gone)
		return 0;
	if (ue->name_dir)
		snprintf(path, sizeof(path), "%s/%.*s", ue->name_dir, len, ue->name.data);
	else
		snprintf(path, sizeof(path), "%.*s", len, ue->name.data);
	if (chmod(path, ue->file_mode) ||
	    (ue->has_file_uid && lchown(path, ue->file_uid, ue->file_gid))) {
		pr_perror("%s: cannot give its socket file %s mode %o, owner %u:%u", who, path,
			  ue->file_mode, ue->file_uid, ue->file_gid);
		return -1;
	}
	return 0;
}

/* Bind @fd to @r's own name, if it has one of its own. */
static int bind_own(const struct unix_rsk *r, int fd)
{
	const UnixSkEntry *ue = r->ue;
	char who[UNIX_NAME_MAX * 4 + 64];

	if (!r->name_owner)
		return 0;
	unix_rwho(r, who, sizeof(who));
	if (unix_name_op(fd, ue->name.data, ue->name.len, ue->name_dir, true)) {
		pr_perror("%s: cannot bind it to its name%s", who,
			  errno == EADDRINUSE ? " (something else holds the name now)" : "");
		return -1;
	}
	/* A stream socket's removed path goes at once: no one connects through it. */
	if (ue->name_gone && ue->type != SOCK_DGRAM && ue->state != UNIX_LISTEN &&
	    ue->name.data[0] && unix_name_unlink(ue->name.data, ue->name.len, ue->name_dir)) {
		pr_perror("%s: cannot remove its path again", who);
		return -1;
	}
	return set_file_attrs(ue, who);
}

static int connect_to(const struct unix_rsk *r, int fd, const ProtobufCBinaryData *name,
		      const char *dir)
{
	char who[UNIX_NAME_MAX * 4 + 64], to[UNIX_NAME_MAX * 4 + 8];

	if (!unix_name_op(fd, name->data, name->len, dir, false))
		return 0;
	pr_perror("%s: cannot connect it to %s again", unix_rwho(r, who, sizeof(who)),
		  unix_name_str(name->data, name->len, to, sizeof(to)));
	return -1;
}

/* A socket of its own, named if it was: unconnected, or connected later. */
static int open_plain(struct unix_rsk *r)
{
	char who[UNIX_NAME_MAX * 4 + 64];
	int fd = new_sock(r->ue->type, unix_rwho(r, who, sizeof(who)));

	if (fd >= 0 && bind_own(r, fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_listener(struct unix_rsk *r)
{
	char who[UNIX_NAME_MAX * 4 + 64];
	int fd = open_plain(r);

	if (fd >= 0 && listen(fd, r->ue->has_backlog ? (int)r->ue->backlog : 0)) {
		pr_perror("%s: cannot listen", unix_rwho(r, who, sizeof(who)));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * @ofd is the other end of @r's connection: @other's (named if @name, and
 * given to it), or, with no @other, ours to refill @r's queue with.
 */
static int hand_out(struct restore_ctx *ctx, struct unix_rsk *r, struct unix_rsk *other,
		    int ofd, bool name)
{
	if (!other) {
		r->tmp_peer = ofd;
		return 0;
	}
	if (name && bind_own(other, ofd)) {
		close(ofd);
		return -1;
	}
	return files_give_fd(ctx, other->id, ofd);
}

/* @r and @other (NULL: a stand-in, ours) connected to each other. */
static int open_pair(struct restore_ctx *ctx, struct unix_rsk *r, struct unix_rsk *other)
{
	char who[UNIX_NAME_MAX * 4 + 64];
	int sv[2];

	if (socketpair(AF_UNIX, r->ue->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv)) {
		pr_perror("%s: socketpair", unix_rwho(r, who, sizeof(who)));
		return -1;
	}
	if (bind_own(r, sv[0]) || hand_out(ctx, r, other, sv[1], true)) {
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/*
 * A listener made for the moment, at the name an accept()ed socket shares
 * with a listener the image lacks (closed since). -1 with errno if the name
 * is taken: the pair is then made without it.
 */
static int tmp_listener(const struct unix_rsk *s)
{
	const UnixSkEntry *ue = s->ue;
	int fd = socket(AF_UNIX, ue->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err;

	if (fd < 0)
		return -1;
	if (unix_name_op(fd, ue->name.data, ue->name.len, ue->name_dir, true) ||
	    listen(fd, 1)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* An accept()ed socket @s and its client: connect() + accept() through a listener. */
static int open_accepted(struct restore_ctx *ctx, struct unix_rsk *r)
{
	struct unix_rsk *s = r->ue->name_shared ? r : r->peer, *c = s == r ? r->peer : r;
	struct unix_rsk *l = s->accepted_from;
	char who[UNIX_NAME_MAX * 4 + 64];
	int lfd, cfd = -1, sfd = -1, ret;

	unix_rwho(s, who, sizeof(who));
	lfd = l ? files_fd_of(ctx, l->id) : tmp_listener(s);
	if (l && lfd < 0)
		return FD_AGAIN;
	if (lfd < 0) {
		pr_warn("%s: cannot have the name it shared with its listener (%s): restored "
			"without it",
			who, strerror(errno));
		return open_pair(ctx, r, r->peer);
	}
	cfd = new_sock(s->ue->type, who);
	if (cfd < 0 || (c && bind_own(c, cfd)) ||
	    connect_to(s, cfd, &s->ue->name, s->ue->name_dir))
		goto err;
	sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (sfd < 0) {
		pr_perror("%s: cannot accept its connection again", who);
		goto err;
	}
	if (l) {
		l->accepted_left--;
	} else {
		close(lfd);
		/* The listener's path was gone: it goes again (else it stays, stale, as it was). */
		if (s->ue->name_gone && s->ue->name.data[0] &&
		    unix_name_unlink(s->ue->name.data, s->ue->name.len, s->ue->name_dir))
			pr_warn("%s: cannot remove its path again: %s", who, strerror(errno));
	}
	/* The client's name is bound already; the accepted side's came with accept(). */
	if (r == s) {
		ret = hand_out(ctx, r, c, cfd, false);
		cfd = sfd;
	} else {
		ret = hand_out(ctx, r, s, sfd, false);
	}
	if (ret) {
		close(cfd);
		return -1;
	}
	return cfd;
err:
	if (cfd >= 0)
		close(cfd);
	if (!l)
		close(lfd);
	return -1;
}

/* A connection not yet accepted: made in its turn in the listener's queue. */
static int open_pending(struct restore_ctx *ctx, struct unix_rsk *r)
{
	struct unix_rsk *l = r->listener;
	int fd;

	if (files_fd_of(ctx, l->id) < 0 || l->accepted_left || l->next_pending != r->pos)
		return FD_AGAIN;
	fd = open_plain(r);
	if (fd < 0)
		return -1;
	if (connect_to(r, fd, &l->ue->name, l->ue->name_dir)) {
		close(fd);
		return -1;
	}
	l->next_pending++;
	return fd;
}

/* Connected to a socket outside the image: connect() to its name (dgram: later). */
static int open_external(struct unix_rsk *r)
{
	int fd = open_plain(r);

	if (fd >= 0 && r->ue->type != SOCK_DGRAM &&
	    connect_to(r, fd, &r->ue->peer_name, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

int unix_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct unix_rsk *r = unix_rsk_find(st, fe->unix_sk->ino);
	const UnixSkEntry *ue = r->ue;

	if (ue->state == UNIX_LISTEN)
		return open_listener(r);
	if (r->external)
		return open_external(r);
	if (ue->type == SOCK_DGRAM) {
		if (r->mate)
			return open_pair(ctx, r, r->mate);
		/* Unnamed, with messages from a peer since closed: a stand-in sends them. */
		if (!ue->has_name && !ue->has_peer && r->nr_q)
			return open_pair(ctx, r, NULL);
		return open_plain(r);
	}
	if (ue->state != UNIX_ESTABLISHED)
		return open_plain(r);
	if (r->listener)
		return open_pending(ctx, r);
	if (ue->name_shared || (r->peer && r->peer->ue->name_shared))
		return open_accepted(ctx, r);
	/* With no peer, it was closed: a socketpair's other end stands in for it. */
	return open_pair(ctx, r, r->peer);
}
