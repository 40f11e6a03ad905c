// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, restore: once every file snap opens is open (all_opened),
 * or, when the sockets are the tree's root's (a mount namespace of its own)
 * or a queued message needs the tree's own namespaces, in the tree's root
 * once its files are open too (root_opened), in this order, each step
 * needing the one before:
 *
 *  1. queues refilled, message by message, from the side that wrote them:
 *     a stream or seqpacket socket's from its peer (or the stand-in for a
 *     closed peer), a connection not yet accepted from the socket that made
 *     it; a dgram from the image's socket bound to the sender's name, else
 *     from a socket bound to that name for the moment (no name, with a
 *     warning, when something else holds it now). Fds carried in flight are
 *     sent along, credentials too (files-unix-send.c);
 *  2. dgram sockets connected to a peer that is not connected back: a
 *     connected dgram socket takes messages from its peer only, so this
 *     comes after the refill;
 *  3. shutdowns (a shut-down socket takes no more data), then the stand-ins
 *     for closed peers are closed: their sockets see the end as they did;
 *  4. removed paths removed again, once no one needs to reach them;
 *  5. socket options (a filter or SO_PEEK_OFF would have seen the refill)
 *     and file flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "log.h"
#include "net/sk-opts.h"

#define CTL_SPACE (CMSG_SPACE(UNIX_MAX_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)))

struct fill {
	struct restore_ctx *ctx;
	struct unix_restore_state *rs;
	int *prev_sndbuf;		/* by position in rs->sk */
	pid_t via;			/* unix_send_creds()'s */
	size_t bytes, nr;		/* every message of the image */
};

static int fd_of(const struct fill *f, const struct unix_rsk *r)
{
	return files_fd_of(f->ctx, r->id);
}

/* Where to sendto() @r: its name, made absolute when it is relative. */
static bool rsk_addr(const struct unix_rsk *r, struct sockaddr_un *a, socklen_t *alen)
{
	const UnixSkEntry *ue = r->ue;
	char path[UNIX_NAME_MAX + 1];
	int n;

	if (!ue->has_name)
		return false;
	if (!ue->name_dir)
		return unix_addr(ue->name.data, ue->name.len, a, alen);
	n = snprintf(path, sizeof(path), "%s/%.*s", ue->name_dir,
		     (int)strnlen((const char *)ue->name.data, ue->name.len), ue->name.data);
	return n < (int)sizeof(path) && unix_addr((const uint8_t *)path, n + 1, a, alen);
}

/* Send @q through @wfd, to @to if set. 0 or -1 with errno, not logged. */
static int send_one(struct fill *f, int wfd, const struct sockaddr_un *to, socklen_t tolen,
		    const UnixQueueEntry *q, const char *who)
{
	union {
		char b[CTL_SPACE];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { q->data.data, q->data.len };
	struct msghdr mh = {
		.msg_name = (void *)to,
		.msg_namelen = to ? tolen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.b,
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_controllen = (q->n_fds ? CMSG_SPACE(q->n_fds * sizeof(int)) : 0) +
			    (q->creds ? CMSG_SPACE(sizeof(struct ucred)) : 0);
	c = mh.msg_controllen ? CMSG_FIRSTHDR(&mh) : NULL;
	if (q->n_fds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(q->n_fds * sizeof(int));
		for (size_t i = 0; i < q->n_fds; i++) {
			int fd = files_fd_of(f->ctx, q->fds[i]);

			if (fd < 0) {
				pr_err("%s: a queued message carries file id %u, which is opened "
				       "in its process, not in snap: it cannot be sent in flight",
				       who, q->fds[i]);
				errno = 0;
				return -1;
			}
			((int *)CMSG_DATA(c))[i] = fd;
		}
		c = CMSG_NXTHDR(&mh, c);
	}
	if (q->creds) {
		struct ucred uc = { q->creds->pid, q->creds->uid, q->creds->gid };

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		return unix_send_creds(wfd, &mh, q->creds, f->via, who) ? (errno = 0, -1) : 0;
	}
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	n = sendmsg(wfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)q->data.len)
		return 0;
	if (n >= 0)
		errno = EAGAIN;
	return -1;
}

static int send_logged(struct fill *f, int wfd, const struct sockaddr_un *to, socklen_t tolen,
		       const UnixQueueEntry *q, const char *who)
{
	if (!send_one(f, wfd, to, tolen, q, who))
		return 0;
	if (errno)
		pr_perror("%s: cannot queue a %zu-byte message again", who, q->data.len);
	return -1;
}

/* Stream and seqpacket: everything from the one writer. */
static int fill_stream(struct fill *f, struct unix_rsk *r, const char *who)
{
	int wfd = r->listener ? fd_of(f, r) : r->peer ? fd_of(f, r->peer) : r->tmp_peer;

	if (wfd < 0) {
		pr_err("%s: no socket is left to queue its messages again from", who);
		return -1;
	}
	for (size_t i = 0; i < r->nr_q; i++)
		if (send_logged(f, wfd, NULL, 0, r->q[i], who))
			return -1;
	return 0;
}

/* The image's socket bound to @name, or NULL. */
static struct unix_rsk *owner_of(const struct fill *f, const ProtobufCBinaryData *name)
{
	for (size_t i = 0; i < f->rs->nr_sk; i++) {
		struct unix_rsk *s = &f->rs->sk[i];

		if (s->name_owner && s->ue->name.len == name->len &&
		    !memcmp(s->ue->name.data, name->data, name->len))
			return s;
	}
	return NULL;
}

/* A socket bound to @name for one message (unbound when the name is taken). */
static int tmp_sender(const ProtobufCBinaryData *name, bool *bound, const char *who)
{
	char nbuf[UNIX_NAME_MAX * 4 + 8];
	int fd, prev;

	*bound = false;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || sk_sndbuf_reserve(fd, 1 << 20, 1, &prev, who)) {
		pr_perror("%s: cannot make a socket to queue a message from", who);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!name)
		return fd;
	if (!unix_name_op(fd, name->data, name->len, NULL, true))
		*bound = true;
	else
		pr_warn("%s: a queued message came from %s, which something else holds now: it "
			"reads as coming from an unnamed socket",
			who, unix_name_str(name->data, name->len, nbuf, sizeof(nbuf)));
	return fd;
}

/* Through the connection to @r: its mate's, or its stand-in's. */
static int send_connected(struct fill *f, struct unix_rsk *r, const UnixQueueEntry *q,
			  const struct unix_rsk *s, const char *who)
{
	int wfd = r->mate ? fd_of(f, r->mate) : r->tmp_peer;

	if (wfd < 0) {
		pr_err("%s: unnamed and connected to no one: no socket can queue its messages "
		       "again",
		       who);
		return -1;
	}
	if (r->mate && s != r->mate)
		pr_warn("%s: a queued message reads as coming from its peer, not from the socket "
			"that sent it",
			who);
	return send_logged(f, wfd, NULL, 0, q, who);
}

/*
 * Dgram: each message from its sender's name. A socket connected to
 * another takes messages from it only; an unnamed one can only be reached
 * through the socket connected to it.
 */
static int fill_dgram_one(struct fill *f, struct unix_rsk *r, const UnixQueueEntry *q,
			  const struct sockaddr_un *to, socklen_t tolen, const char *who)
{
	const ProtobufCBinaryData *sender = q->has_sender ? &q->sender : NULL;
	struct unix_rsk *mate = r->mate, *s;
	bool bound = false;
	int wfd, tmp = -1, ret;

	if (sender)
		s = owner_of(f, sender);
	else
		s = mate && !mate->ue->has_name ? mate : NULL;
	if (!to || (s && s == mate))
		return send_connected(f, r, q, s, who);
	wfd = s ? fd_of(f, s) : (tmp = tmp_sender(sender, &bound, who));
	if (wfd < 0)
		return -1;
	ret = send_one(f, wfd, to, tolen, q, who);
	if (ret && errno == EPERM && mate) {
		pr_warn("%s: a queued message reads as coming from its peer, which is the only "
			"socket it takes messages from now",
			who);
		ret = send_one(f, fd_of(f, mate), NULL, 0, q, who);
	}
	if (ret && errno)
		pr_perror("%s: cannot queue a %zu-byte message again", who, q->data.len);
	if (tmp >= 0)
		close(tmp);
	/* The message keeps the name; the path made for it goes. */
	if (bound && sender->data[0] && unix_name_unlink(sender->data, sender->len, NULL))
		pr_warn("%s: cannot remove %.*s again: %s", who, (int)sender->len, sender->data,
			strerror(errno));
	return ret;
}

static int fill_dgram(struct fill *f, struct unix_rsk *r, const char *who)
{
	struct sockaddr_un to;
	socklen_t tolen;
	bool named = rsk_addr(r, &to, &tolen);

	for (size_t i = 0; i < r->nr_q; i++)
		if (fill_dgram_one(f, r, r->q[i], named ? &to : NULL, tolen, who))
			return -1;
	return 0;
}

/* Let every socket of the image send all that is to be queued, then put that back. */
static int sndbufs(struct fill *f, bool put_back)
{
	char who[UNIX_NAME_MAX * 4 + 64];

	for (size_t i = 0; i < f->rs->nr_sk; i++) {
		struct unix_rsk *r = &f->rs->sk[i];
		int fd = fd_of(f, r);

		unix_rwho(r, who, sizeof(who));
		if (put_back ? sk_sndbuf_put_back(fd, f->prev_sndbuf[i], who) :
			       sk_sndbuf_reserve(fd, f->bytes, f->nr, &f->prev_sndbuf[i], who))
			return -1;
		if (r->tmp_peer >= 0 && !put_back &&
		    sk_sndbuf_reserve(r->tmp_peer, f->bytes, f->nr, &(int){ 0 }, who))
			return -1;
	}
	return 0;
}

static int refill(struct fill *f)
{
	char who[UNIX_NAME_MAX * 4 + 64];

	for (size_t i = 0; i < f->rs->nr_queue; i++) {
		f->bytes += f->rs->queue[i]->data.len;
		f->nr++;
	}
	if (!f->nr)
		return 0;
	if (sndbufs(f, false))
		return -1;
	for (size_t i = 0; i < f->rs->nr_sk; i++) {
		struct unix_rsk *r = &f->rs->sk[i];

		if (!r->nr_q)
			continue;
		unix_rwho(r, who, sizeof(who));
		if (r->ue->type == SOCK_DGRAM ? fill_dgram(f, r, who) : fill_stream(f, r, who))
			return -1;
	}
	return sndbufs(f, true);
}

/* Steps 2 to 5 for one socket. */
static int finish(struct fill *f, struct unix_rsk *r)
{
	const UnixSkEntry *ue = r->ue;
	char who[UNIX_NAME_MAX * 4 + 64];
	int fd = fd_of(f, r), sd = ue->has_shutdown ? ue->shutdown : 0;

	unix_rwho(r, who, sizeof(who));
	if (ue->type == SOCK_DGRAM && r->mate && r->peer != r->mate) {
		/* Made connected to its mate, it was connected to another, or to none. */
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };

		if (connect(fd, &unspec, sizeof(unspec))) {
			pr_perror("%s: cannot disconnect it", who);
			return -1;
		}
	}
	if (ue->type == SOCK_DGRAM && ue->has_peer && (!r->peer || r->peer != r->mate)) {
		const ProtobufCBinaryData *to = r->peer ? &r->peer->ue->name : &ue->peer_name;
		const char *dir = r->peer ? r->peer->ue->name_dir : NULL;

		if ((r->peer && !r->peer->ue->has_name) ||
		    unix_name_op(fd, to->data, to->len, dir, false)) {
			pr_perror("%s: cannot connect it to its peer again", who);
			return -1;
		}
	}
	if (((sd & UNIX_SEND_SHUTDOWN) && shutdown(fd, SHUT_WR)) ||
	    ((sd & UNIX_RCV_SHUTDOWN) && shutdown(fd, SHUT_RD))) {
		pr_perror("%s: cannot shut it down as it was", who);
		return -1;
	}
	return 0;
}

static int settle(struct fill *f, struct unix_rsk *r)
{
	const UnixSkEntry *ue = r->ue;
	char who[UNIX_NAME_MAX * 4 + 64];
	int fd = fd_of(f, r);

	unix_rwho(r, who, sizeof(who));
	if (ue->name_gone && r->name_owner && ue->name.data[0] &&
	    (ue->type == SOCK_DGRAM || ue->state == UNIX_LISTEN) &&
	    unix_name_unlink(ue->name.data, ue->name.len, ue->name_dir)) {
		pr_perror("%s: cannot remove its path again", who);
		return -1;
	}
	if (sk_opts_restore(fd, ue->opts, who))
		return -1;
	if (fcntl(fd, F_SETFL, ue->flags)) {
		pr_perror("%s: cannot set file flags %#o", who, ue->flags);
		return -1;
	}
	return 0;
}

static int fill_all(struct restore_ctx *ctx, struct unix_restore_state *rs, pid_t via)
{
	struct fill f = { .ctx = ctx, .rs = rs, .via = via };
	int ret = -1;

	f.prev_sndbuf = calloc(rs->nr_sk + 1, sizeof(*f.prev_sndbuf));
	if (!f.prev_sndbuf) {
		pr_err("out of memory to refill the unix sockets");
		return -1;
	}
	if (refill(&f))
		goto out;
	for (size_t i = 0; i < rs->nr_sk; i++)
		if (finish(&f, &rs->sk[i]))
			goto out;
	unix_close_stand_ins(ctx, rs);
	for (size_t i = 0; i < rs->nr_sk; i++)
		if (settle(&f, &rs->sk[i]))
			goto out;
	ret = 0;
out:
	free(f.prev_sndbuf);
	return ret;
}

/*
 * A message that carries a file the root opens (a path of the tree's own
 * mount namespace, a dead pid's pidfd made in its pid namespace), or
 * credentials when the tree has a pid namespace of its own (their pid is
 * looked up in the sender's, and read in the receiver's): the queues are
 * refilled by the root, where those files and pids are.
 */
static bool fill_needs_root(const struct restore_ctx *ctx, const struct unix_restore_state *rs)
{
	/* The sockets themselves are the root's (unix_where()). */
	if (rs->nr_sk && files_where(ctx, rs->sk[0].id) == FD_IN_ROOT)
		return true;
	for (size_t i = 0; i < rs->nr_queue; i++) {
		const UnixQueueEntry *q = rs->queue[i];

		if (q->creds && ctx->new_pidns)
			return true;
		for (size_t k = 0; k < q->n_fds; k++)
			if (files_where(ctx, q->fds[k]) == FD_IN_ROOT)
				return true;
	}
	return false;
}

int unix_all_opened(struct restore_ctx *ctx, void *st)
{
	struct unix_restore_state *rs = st;

	rs->fill_in_root = fill_needs_root(ctx, rs);
	if (rs->fill_in_root) {
		pr_debug("unix: the queues are refilled in the tree's root");
		return 0;
	}
	return fill_all(ctx, rs, 0);
}

/* The stand-ins for closed peers: their sockets see the end once every copy is closed. */
void unix_close_stand_ins(struct restore_ctx *ctx, void *st)
{
	struct unix_restore_state *rs = st;

	(void)ctx;
	for (size_t i = 0; i < rs->nr_sk; i++) {
		if (rs->sk[i].tmp_peer >= 0)
			close(rs->sk[i].tmp_peer);
		rs->sk[i].tmp_peer = -1;
	}
}

int unix_root_opened(struct restore_ctx *ctx, void *st)
{
	struct unix_restore_state *rs = st;
	pid_t top = 0;

	if (!rs->fill_in_root)
		return 0;
	/* In snap's pid namespace a spare pid may be any process's: under one at any pid. */
	if (!files_pids_in_root(ctx))
		return fill_all(ctx, rs, UNIX_VIA_ANY);
	/* The helpers that send as exited senders take those senders' pids. */
	for (size_t i = 0; i < rs->nr_queue; i++)
		if (rs->queue[i]->creds && (pid_t)rs->queue[i]->creds->pid > top)
			top = rs->queue[i]->creds->pid;
	return fill_all(ctx, rs, files_spare_pid(ctx, top));
}
