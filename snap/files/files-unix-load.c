// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, restore: load. Before anything is created, every unix entry
 * of files.img and every message of unix-queues.img is checked, and the
 * sockets are linked: peers, the listener a socket was accept()ed from or
 * waits in, the messages each socket gets. A damaged image fails here, once,
 * naming the image and the entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "image.h"
#include "log.h"
#include "net/sk-opts.h"

#define QUEUE_MSG_MAX (64U << 20)

static int cmp_rsk(const void *a, const void *b)
{
	const struct unix_rsk *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

struct unix_rsk *unix_rsk_find(const struct unix_restore_state *rs, uint32_t ino)
{
	struct unix_rsk key = { .ino = ino };

	if (!rs->nr_sk)
		return NULL;
	return bsearch(&key, rs->sk, rs->nr_sk, sizeof(key), cmp_rsk);
}

static bool valid_type(uint32_t t)
{
	return t == SOCK_STREAM || t == SOCK_DGRAM || t == SOCK_SEQPACKET;
}

/* One entry on its own. */
static int check_entry(const FileEntry *fe)
{
	const UnixSkEntry *ue = fe->unix_sk;
	char who[64];

	snprintf(who, sizeof(who), "files.img: file id %u", fe->id);
	if (!ue) {
		pr_err("%s: a unix socket without its unix_sk part", who);
		return -1;
	}
	if (!valid_type(ue->type) ||
	    (ue->state != UNIX_ESTABLISHED && ue->state != UNIX_CLOSE &&
	     ue->state != UNIX_LISTEN) ||
	    (ue->state == UNIX_LISTEN && ue->type == SOCK_DGRAM)) {
		pr_err("%s: unix socket of type %u in state %u, which snap does not know", who,
		       ue->type, ue->state);
		return -1;
	}
	if ((ue->has_name && (!ue->name.len || ue->name.len > UNIX_NAME_MAX)) ||
	    (ue->has_peer_name && (!ue->peer_name.len || ue->peer_name.len > UNIX_NAME_MAX)) ||
	    (ue->name_dir && (!ue->has_name || ue->name.data[0] == 0 || ue->name.data[0] == '/' ||
			      ue->name_dir[0] != '/'))) {
		pr_err("%s: unix socket with a bad name", who);
		return -1;
	}
	if ((ue->n_icons || ue->has_backlog) && ue->state != UNIX_LISTEN) {
		pr_err("%s: unix socket with a listener's queue, not listening", who);
		return -1;
	}
	if ((ue->has_pending_on || ue->has_accepted_from || ue->name_shared) &&
	    (ue->type == SOCK_DGRAM || ue->state != UNIX_ESTABLISHED ||
	     (ue->has_pending_on && (ue->has_peer || ue->has_accepted_from)))) {
		pr_err("%s: unix socket connected in ways that do not go together", who);
		return -1;
	}
	if (ue->has_shutdown && ue->shutdown > (UNIX_RCV_SHUTDOWN | UNIX_SEND_SHUTDOWN)) {
		pr_err("%s: unix socket with shutdown state %#x", who, ue->shutdown);
		return -1;
	}
	return sk_opts_check(ue->opts, who);
}

/* A listener's connections: where a waiting one stands among those the image has. */
static int link_listener(struct unix_restore_state *rs, struct unix_rsk *l)
{
	uint32_t pos = 0;

	for (size_t i = 0; i < l->ue->n_icons; i++) {
		struct unix_rsk *c = unix_rsk_find(rs, l->ue->icons[i]);

		if (!c)
			continue; /* external: left out at dump */
		if (!c->ue->has_pending_on || c->ue->pending_on != l->ino || c->listener) {
			pr_err("files.img: file id %u: listening unix socket's queue names file id "
			       "%u, which does not wait in it",
			       l->id, c->id);
			return -1;
		}
		c->listener = l;
		c->pos = pos++;
	}
	return 0;
}

static int link_one(struct restore_ctx *ctx, struct unix_restore_state *rs, struct unix_rsk *r)
{
	const UnixSkEntry *ue = r->ue;
	char who[UNIX_NAME_MAX * 4 + 64];

	r->name_owner = ue->has_name && !ue->name_shared;
	if (ue->has_peer) {
		r->peer = unix_rsk_find(rs, ue->peer);
		r->external = !r->peer;
		/* A connection is both ways, but for dgram sockets. */
		if (r->peer && ue->type != SOCK_DGRAM &&
		    (r->peer->ue->peer != r->ino || r->peer->ue->type != ue->type)) {
			pr_err("%s: its peer, file id %u, is not connected back to it",
			       unix_rwho(r, who, sizeof(who)), r->peer->id);
			return -1;
		}
	}
	if (ue->has_accepted_from) {
		r->accepted_from = unix_rsk_find(rs, ue->accepted_from);
		if (r->accepted_from && r->accepted_from->ue->state != UNIX_LISTEN) {
			pr_err("%s: accepted from file id %u, which is no listener",
			       unix_rwho(r, who, sizeof(who)), r->accepted_from->id);
			return -1;
		}
		if (r->accepted_from)
			r->accepted_from->accepted_left++;
	}
	if (ue->has_pending_on && !unix_rsk_find(rs, ue->pending_on))
		r->external = true;
	if (ue->has_pending_on && !r->external && !r->listener) {
		pr_err("%s: waits in the queue of file id %u, whose queue does not name it",
		       unix_rwho(r, who, sizeof(who)), unix_rsk_find(rs, ue->pending_on)->id);
		return -1;
	}
	if (!r->external)
		return 0;
	if (!ue->has_peer_name) {
		pr_err("%s: its peer is outside the image and has no name",
		       unix_rwho(r, who, sizeof(who)));
		return -1;
	}
	if (!ctx->opts->ext_unix_sk) {
		pr_err("%s was connected to a socket outside the dumped tree: restore with "
		       "--ext-unix-sk to connect it again by name",
		       unix_rwho(r, who, sizeof(who)));
		return -1;
	}
	return 0;
}

/*
 * Two dgram sockets are made by one socketpair() when connected to each
 * other, or when one is connected to the other and that one has no name
 * (only a socketpair() connects to an unnamed socket); the second then
 * connects to its own peer, or to none, at the end.
 */
static void pair_dgram(struct unix_rsk *r)
{
	struct unix_rsk *p = r->peer;

	if (r->ue->type != SOCK_DGRAM || !p || r->mate || p->mate || p == r)
		return;
	if (p->peer == r || !p->ue->has_name) {
		r->mate = p;
		p->mate = r;
	}
}

static int attach_msg(struct restore_ctx *ctx, struct unix_restore_state *rs,
		      const UnixQueueEntry *q)
{
	struct unix_rsk *r = unix_rsk_find(rs, q->ino);
	const UnixQueueEntry **n;
	char who[UNIX_NAME_MAX * 4 + 64];

	if (!r) {
		pr_err("unix-queues.img: a message for unix socket %u, which files.img does not "
		       "have",
		       q->ino);
		return -1;
	}
	unix_rwho(r, who, sizeof(who));
	if (q->data.len > QUEUE_MSG_MAX || (q->has_sender && q->sender.len > UNIX_NAME_MAX) ||
	    q->n_fds > UNIX_MAX_FDS) {
		pr_err("unix-queues.img: a message for %s is out of range", who);
		return -1;
	}
	if (q->pending != !!r->listener ||
	    (r->ue->type != SOCK_DGRAM && r->ue->state != UNIX_ESTABLISHED) ||
	    (r->ue->type != SOCK_DGRAM && r->external && !q->pending)) {
		pr_err("unix-queues.img: a message for %s, which cannot hold one", who);
		return -1;
	}
	for (size_t i = 0; i < q->n_fds; i++) {
		if (!files_entry(ctx, q->fds[i])) {
			pr_err("unix-queues.img: a message for %s carries file id %u, which "
			       "files.img does not have",
			       who, q->fds[i]);
			return -1;
		}
	}
	n = realloc(r->q, (r->nr_q + 1) * sizeof(*n));
	if (!n) {
		pr_err("unix-queues.img: out of memory");
		return -1;
	}
	r->q = n;
	r->q[r->nr_q++] = q;
	return 0;
}

int unix_load(struct restore_ctx *ctx, void *st)
{
	struct unix_restore_state *rs = st;
	void **msgs;
	size_t n = 0;

	for (size_t i = 0; i < ctx->nr_files; i++)
		n += ctx->files[i]->type == FD_TYPE__FD_UNIX;
	rs->sk = calloc(n + 1, sizeof(*rs->sk));
	if (!rs->sk) {
		pr_err("files.img: out of memory for the unix sockets");
		return -1;
	}
	for (size_t i = 0; i < ctx->nr_files; i++) {
		const FileEntry *fe = ctx->files[i];
		struct unix_rsk *r;

		if (fe->type != FD_TYPE__FD_UNIX)
			continue;
		if (check_entry(fe))
			return -1;
		r = &rs->sk[rs->nr_sk++];
		r->ino = fe->unix_sk->ino;
		r->id = fe->id;
		r->ue = fe->unix_sk;
		r->tmp_peer = -1;
	}
	qsort(rs->sk, rs->nr_sk, sizeof(*rs->sk), cmp_rsk);
	for (size_t i = 1; i < rs->nr_sk; i++) {
		if (rs->sk[i].ino == rs->sk[i - 1].ino) {
			pr_err("files.img: file ids %u and %u are one unix socket (inode %u)",
			       rs->sk[i - 1].id, rs->sk[i].id, rs->sk[i].ino);
			return -1;
		}
	}
	for (size_t i = 0; i < rs->nr_sk; i++)
		if (rs->sk[i].ue->state == UNIX_LISTEN && link_listener(rs, &rs->sk[i]))
			return -1;
	for (size_t i = 0; i < rs->nr_sk; i++)
		if (link_one(ctx, rs, &rs->sk[i]))
			return -1;
	for (size_t i = 0; i < rs->nr_sk; i++)
		pair_dgram(&rs->sk[i]);
	/* Older images, and dumps without unix sockets, may have none. */
	if (img_load_all(ctx->dirfd, IMG_UNIX_QUEUES, 0, !rs->nr_sk, &msgs, &rs->nr_queue))
		return -1;
	rs->queue = (UnixQueueEntry **)msgs;
	for (size_t i = 0; i < rs->nr_queue; i++)
		if (attach_msg(ctx, rs, rs->queue[i]))
			return -1;
	return 0;
}

void unix_restore_free(void *st)
{
	struct unix_restore_state *rs = st;

	for (size_t i = 0; i < rs->nr_sk; i++) {
		free(rs->sk[i].q);
		if (rs->sk[i].tmp_peer >= 0)
			close(rs->sk[i].tmp_peer);
	}
	free(rs->sk);
	for (size_t i = 0; i < rs->nr_queue; i++)
		unix_queue_entry__free_unpacked(rs->queue[i], NULL);
	free(rs->queue);
}
