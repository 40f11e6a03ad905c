// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, dump: each socket's entry (what sock_diag and getsockopt
 * say of it), the messages queued in it (peeked, files-unix-queue.c), and,
 * once the whole tree is dumped, the checks that need every socket: a peer
 * or a waiting connection outside the tree is refused by name unless
 * --ext-unix-sk. unix-queues.img is written last.
 *
 * Names: a path is saved as bound (maybe relative: the directory it resolves
 * in is saved with it), marked gone when it no longer leads to the socket
 * (removed, or replaced), else with the socket file's mode and owner; it
 * must be the path restore binds (check_bind_path()). A
 * connected stream socket whose name another socket of the same path or
 * abstract name shares got it from the listener it was accept()ed from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "image.h"
#include "log.h"
#include "net/sk-opts.h"
#include "ns/ns.h"
#include "proc/proc.h"
#include "vpid.h"

static bool same_name(const struct unix_diag *a, const struct unix_diag *b)
{
	return a->type == b->type && a->name_len == b->name_len &&
	       !memcmp(a->name, b->name, a->name_len) && a->has_vfs == b->has_vfs &&
	       (!a->has_vfs || (a->vfs_ino == b->vfs_ino && a->vfs_dev == b->vfs_dev));
}

/* A connected socket's name that came with accept(): its listener, if any is left. */
static void shared_name(const struct unix_dump_state *us, const struct unix_diag *u,
			UnixSkEntry *ue)
{
	if (u->state != UNIX_ESTABLISHED || u->type == SOCK_DGRAM)
		return;
	for (size_t i = 0; i < us->diag.nr; i++) {
		const struct unix_diag *o = &us->diag.sk[i];

		if (o == u || !same_name(o, u))
			continue;
		ue->has_name_shared = ue->name_shared = true;
		if (o->state == UNIX_LISTEN) {
			ue->has_accepted_from = true;
			ue->accepted_from = o->ino;
			return;
		}
	}
}

/*
 * Restore binds a name where the process that binds it sees the path: snap,
 * when the tree lives in snap's mount namespace; else the tree's root,
 * pivoted into the restored mounts (unix_where()), before any chroot. The
 * socket's process sees the path so too unless it has a root of its own
 * (chroot): then snap's path must still lead to this very socket file (as
 * ever), and the tree's root sees the namespace's root, so only a relative
 * name (bound in the directory it resolves in, saved from the namespace's
 * root) is found again. Refused by name otherwise.
 */
static int check_bind_path(pid_t pid, const struct unix_diag *u, const UnixSkEntry *ue, int len,
			   const char *who)
{
	char path[UNIX_NAME_MAX + 4096 + 2], root[8];
	struct ns_set own, tree;
	struct stat st;

	if (ns_read(0, &own) || ns_read(pid, &tree)) {
		pr_perror("%s: cannot read the mount namespace of pid %d", who, pid);
		return -1;
	}
	if (ue->name_dir)
		snprintf(path, sizeof(path), "%s/%.*s", ue->name_dir, len, u->name);
	else
		snprintf(path, sizeof(path), "%.*s", len, u->name);
	if (!ns_ref_equal(&own.ns[NS_SLOT_MNT], &tree.ns[NS_SLOT_MNT])) {
		if (ue->name_dir)
			return 0;
		/* A root longer than "/" is cut short: it still differs. */
		if (proc_readlink(pid, "root", root, sizeof(root)))
			return -1;
		if (!strcmp(root, "/"))
			return 0;
		pr_err("%s: bound to %s under a root of its own (chroot) inside the tree's mount "
		       "namespace: restore binds the name at the namespace's root",
		       who, path);
		return -1;
	}
	if (!stat(path, &st) && st.st_ino == u->vfs_ino &&
	    (major(st.st_dev) << 20 | minor(st.st_dev)) == u->vfs_dev)
		return 0;
	pr_err("%s: bound to %s under a root of its own (chroot) in snap's mount namespace: "
	       "snap's %s is not that socket file, and restore binds the name as snap sees it",
	       who, path, path);
	return -1;
}

static int dump_path(struct dump_ctx *ctx, const struct fd_desc *d, const struct unix_diag *u,
		     UnixSkEntry *ue, const char *who)
{
	/* A socket in flight has no process: the tree's root stands in for one. */
	pid_t pid = d->inflight ? ctx->tasks[0].pid : d->pid;
	char path[UNIX_NAME_MAX + 64], dir[4096];
	int len = strnlen(u->name, u->name_len);
	struct stat st;
	ssize_t n;

	if (u->name[0] != '/') {
		snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
		n = readlink(path, dir, sizeof(dir) - 1);
		if (n < 0) {
			pr_perror("%s: cannot read %s for its relative name", who, path);
			return -1;
		}
		dir[n] = '\0';
		ue->name_dir = strdup(dir);
		if (!ue->name_dir) {
			pr_err("%s: out of memory", who);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/%s/%.*s", pid, u->name[0] == '/' ? "root" : "cwd",
		 len, u->name);
	/* sock_diag gives the kernel's own dev_t: major << 20 | minor. */
	if (!u->has_vfs || stat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_ino != u->vfs_ino ||
	    (major(st.st_dev) << 20 | minor(st.st_dev)) != u->vfs_dev) {
		ue->has_name_gone = ue->name_gone = true;
		return 0;
	}
	if (check_bind_path(pid, u, ue, len, who))
		return -1;
	if (ue->name_shared)
		return 0;
	ue->has_file_mode = ue->has_file_uid = ue->has_file_gid = true;
	ue->file_mode = st.st_mode & 07777;
	ue->file_uid = st.st_uid;
	ue->file_gid = st.st_gid;
	return 0;
}

static int dump_names(struct dump_ctx *ctx, struct unix_dump_state *us, const struct fd_desc *d,
		      const struct unix_diag *u, UnixSkEntry *ue, const char *who)
{
	const struct unix_diag *p;
	uint32_t pos;

	if (u->name_len) {
		ue->has_name = true;
		ue->name.len = u->name_len;
		ue->name.data = malloc(u->name_len);
		if (!ue->name.data)
			goto oom;
		memcpy(ue->name.data, u->name, u->name_len);
		shared_name(us, u, ue);
		if (u->name[0] && dump_path(ctx, d, u, ue, who))
			return -1;
	}
	p = NULL;
	if (u->peer) {
		ue->has_peer = true;
		ue->peer = u->peer;
		p = unix_diag_find(&us->diag, u->peer);
	} else if ((p = unix_pending_on(us, u->ino, &pos))) {
		ue->has_pending_on = true;
		ue->pending_on = p->ino;
	}
	if (p && p->name_len) {
		ue->has_peer_name = true;
		ue->peer_name.len = p->name_len;
		ue->peer_name.data = malloc(p->name_len);
		if (!ue->peer_name.data)
			goto oom;
		memcpy(ue->peer_name.data, p->name, p->name_len);
	}
	return 0;
oom:
	pr_err("%s: out of memory", who);
	return -1;
}

int unix_queue_msg(struct dump_ctx *ctx, struct unix_dump_state *us, uint32_t ino, bool pending,
		   struct unix_msg *m)
{
	UnixQueueEntry *q, **n;

	if (us->nr_q == us->cap_q) {
		size_t cap = us->cap_q ? us->cap_q * 2 : 64;

		n = realloc(us->q, cap * sizeof(*n));
		if (!n)
			goto oom;
		us->q = n;
		us->cap_q = cap;
	}
	q = malloc(sizeof(*q));
	if (!q)
		goto oom;
	unix_queue_entry__init(q);
	us->q[us->nr_q++] = q;
	q->ino = ino;
	q->has_pending = pending;
	q->pending = pending;
	q->data.data = m->data;
	q->data.len = m->len;
	m->data = NULL;
	if (m->sender_len) {
		q->has_sender = true;
		q->sender.data = malloc(m->sender_len);
		if (!q->sender.data)
			goto oom;
		q->sender.len = m->sender_len;
		memcpy(q->sender.data, m->sender, m->sender_len);
	}
	if (m->has_creds) {
		q->creds = malloc(sizeof(*q->creds));
		if (!q->creds)
			goto oom;
		unix_creds__init(q->creds);
		q->creds->pid = m->creds_in_tree ? m->creds.pid : dump_vpid(ctx, m->creds.pid);
		q->creds->uid = m->creds.uid;
		q->creds->gid = m->creds.gid;
	}
	if (m->nfds) {
		q->fds = calloc(m->nfds, sizeof(*q->fds));
		if (!q->fds)
			goto oom;
		q->n_fds = m->nfds;
		/* Each fd goes to the table, which gives it an id in q->fds[i]. */
		for (int i = 0; i < m->nfds; i++) {
			int fd = m->fds[i];

			m->fds[i] = -1;
			if (files_inflight_add(ctx, fd, &q->fds[i]))
				return -1;
		}
		m->nfds = 0;
	}
	return 0;
oom:
	pr_err("unix socket %u: out of memory for its queue", ino);
	return -1;
}

static int dump_queue(struct dump_ctx *ctx, struct unix_dump_state *us, const struct fd_desc *d,
		      const struct unix_diag *u, const char *who)
{
	struct unix_msg *msgs;
	size_t nr;
	int ret = 0;

	/* A listener's queue holds connections; an unconnected stream socket, nothing. */
	if (u->type != SOCK_DGRAM && u->state != UNIX_ESTABLISHED)
		return 0;
	if (unix_peek_queue(d->local, u->type, u->shutdown & UNIX_RCV_SHUTDOWN, who, &msgs, &nr))
		return -1;
	if (unix_creds_vpids(ctx, d->local, u->type, u->shutdown & UNIX_RCV_SHUTDOWN, who, msgs,
			     nr)) {
		unix_msgs_free(msgs, nr);
		return -1;
	}
	for (size_t i = 0; i < nr && !ret; i++) {
		/* Only a dgram's sender varies: a connection's is its peer. */
		if (u->type != SOCK_DGRAM)
			msgs[i].sender_len = 0;
		ret = unix_queue_msg(ctx, us, u->ino, false, &msgs[i]);
	}
	unix_msgs_free(msgs, nr);
	/* Data collect took out of its connection, which no listener accepted yet. */
	for (size_t p = 0; p < us->nr_pending && !ret; p++) {
		struct unix_pending_data *pd = &us->pending[p];

		if (pd->ino != u->ino)
			continue;
		for (size_t i = 0; i < pd->nr && !ret; i++)
			ret = unix_queue_msg(ctx, us, u->ino, true, &pd->msgs[i]);
	}
	return ret;
}

static int note_dumped(struct unix_dump_state *us, const struct fd_desc *d, UnixSkEntry *ue)
{
	struct unix_dumped *n;

	if (us->nr_dumped == us->cap_dumped) {
		size_t cap = us->cap_dumped ? us->cap_dumped * 2 : 32;

		n = realloc(us->dumped, cap * sizeof(*n));
		if (!n) {
			pr_err("out of memory for the unix sockets");
			return -1;
		}
		us->dumped = n;
		us->cap_dumped = cap;
	}
	us->dumped[us->nr_dumped++] =
		(struct unix_dumped){ ue->ino, d->pid, d->fd, d->inflight, ue };
	return 0;
}

int unix_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct unix_dump_state *us = st;
	const struct unix_diag *u;
	UnixSkEntry *ue;
	char who[96];

	unix_who(d, who, sizeof(who));
	u = unix_diag_find(&us->diag, d->st.st_ino);
	if (!u) {
		pr_err("%s: sock_diag does not list unix socket inode %lu: it lives in another "
		       "network namespace than its tree's, which snap does not dump",
		       who, (unsigned long)d->st.st_ino);
		return -1;
	}
	ue = malloc(sizeof(*ue));
	if (!ue) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	unix_sk_entry__init(ue);
	fe->unix_sk = ue;
	ue->ino = u->ino;
	ue->type = u->type;
	ue->state = u->state;
	ue->flags = d->flags;
	if (u->shutdown) {
		ue->has_shutdown = true;
		ue->shutdown = u->shutdown;
	}
	if (u->state == UNIX_LISTEN) {
		ue->has_backlog = true;
		ue->backlog = u->wqueue;
		if (u->nr_icons) {
			ue->icons = malloc(u->nr_icons * sizeof(*ue->icons));
			if (!ue->icons) {
				pr_err("%s: out of memory", who);
				return -1;
			}
			memcpy(ue->icons, u->icons, u->nr_icons * sizeof(*ue->icons));
			ue->n_icons = u->nr_icons;
		}
	}
	if (dump_names(ctx, us, d, u, ue, who) ||
	    sk_opts_dump(d->local, AF_UNIX, u->type, 0, &us->sk_defaults, who, &ue->opts, NULL) ||
	    note_dumped(us, d, ue))
		return -1;
	return dump_queue(ctx, us, d, u, who);
}

static int cmp_dumped(const void *a, const void *b)
{
	const struct unix_dumped *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

static bool dumped(const struct unix_dump_state *us, uint32_t ino)
{
	struct unix_dumped key = { .ino = ino };

	return us->nr_dumped && bsearch(&key, us->dumped, us->nr_dumped, sizeof(key), cmp_dumped);
}

/* May a socket of the tree be connected to @ino, outside it? */
static bool ext_allowed(const struct snap_opts *o, uint32_t ino)
{
	if (!o->ext_unix_sk)
		return false;
	if (!o->nr_ext_unix_inos)
		return true;
	for (size_t i = 0; i < o->nr_ext_unix_inos; i++)
		if (o->ext_unix_inos[i] == ino)
			return true;
	return false;
}

static const char *who_of(const struct unix_dumped *dd, char *buf, size_t size)
{
	char name[UNIX_NAME_MAX * 4 + 8];
	int n;

	if (dd->inflight)
		n = snprintf(buf, size, "a socket in flight: unix socket ");
	else
		n = snprintf(buf, size, "pid %d fd %d: unix socket ", dd->pid, dd->fd);
	if (dd->ue->has_name)
		snprintf(buf + n, size - n, "%s",
			 unix_name_str(dd->ue->name.data, dd->ue->name.len, name, sizeof(name)));
	else
		snprintf(buf + n, size - n, "(unnamed, inode %u)", dd->ue->ino);
	return buf;
}

/* Data a stream socket's external peer sent cannot come back: the peer is not ours. */
static void drop_queue(struct unix_dump_state *us, const struct unix_dumped *dd, const char *who)
{
	size_t n = 0, bytes = 0;

	for (size_t i = 0; i < us->nr_q; i++) {
		if (us->q[i]->ino == dd->ino && !us->q[i]->pending) {
			bytes += us->q[i]->data.len;
			unix_queue_entry__free_unpacked(us->q[i], NULL);
			continue;
		}
		us->q[n++] = us->q[i];
	}
	if (n != us->nr_q)
		pr_warn("%s: the %zu bytes its external peer sent and it did not read yet are not "
			"saved",
			who, bytes);
	us->nr_q = n;
}

static int check_peer(struct dump_ctx *ctx, struct unix_dump_state *us, struct unix_dumped *dd)
{
	const UnixSkEntry *ue = dd->ue;
	char who[UNIX_NAME_MAX * 4 + 96], pname[UNIX_NAME_MAX * 4 + 8];
	uint32_t peer = ue->has_pending_on ? ue->pending_on : ue->peer;

	if (!peer || dumped(us, peer))
		return 0;
	who_of(dd, who, sizeof(who));
	unix_name_str(ue->peer_name.data, ue->has_peer_name ? ue->peer_name.len : 0, pname,
		      sizeof(pname));
	if (!ext_allowed(ctx->opts, peer)) {
		pr_err("%s is connected to a socket outside the dumped tree (peer inode %u, %s): "
		       "dump its process too, or pass --ext-unix-sk to connect it again by name "
		       "at restore",
		       who, peer, pname);
		return -1;
	}
	if (!ue->has_peer_name) {
		pr_err("%s is connected to a socket outside the dumped tree that has no name "
		       "(peer inode %u): it could not be connected again",
		       who, peer);
		return -1;
	}
	if (ue->type != SOCK_DGRAM)
		drop_queue(us, dd, who);
	pr_info("%s: peer %s (inode %u) is outside the tree: connected again at restore", who,
		pname, peer);
	return 0;
}

static int check_waiting(struct dump_ctx *ctx, struct unix_dump_state *us,
			 const struct unix_dumped *dd)
{
	char who[UNIX_NAME_MAX * 4 + 96];

	for (size_t i = 0; i < dd->ue->n_icons; i++) {
		uint32_t c = dd->ue->icons[i];

		if (dumped(us, c))
			continue;
		who_of(dd, who, sizeof(who));
		if (!ext_allowed(ctx->opts, c)) {
			pr_err("%s (listening) has a connection not yet accepted from a socket "
			       "outside the dumped tree (inode %u): dump its process too, or pass "
			       "--ext-unix-sk to leave that connection out",
			       who, c);
			return -1;
		}
		pr_warn("%s (listening): its connection not yet accepted from external socket "
			"inode %u is left out",
			who, c);
	}
	return 0;
}

int unix_write(struct dump_ctx *ctx, void *st)
{
	struct unix_dump_state *us = st;
	struct image *img;
	int ret = 0;

	if (us->nr_dumped)
		qsort(us->dumped, us->nr_dumped, sizeof(*us->dumped), cmp_dumped);
	for (size_t i = 0; i < us->nr_dumped; i++)
		if (check_peer(ctx, us, &us->dumped[i]) || check_waiting(ctx, us, &us->dumped[i]))
			return -1;
	/* Restore needs it only with unix sockets: a tree without has none. */
	if (!us->nr_dumped)
		return 0;
	img = img_open_write(ctx->dirfd, IMG_UNIX_QUEUES, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < us->nr_q && !ret; i++)
		ret = img_write(img, &us->q[i]->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

void unix_dump_free(void *st)
{
	struct unix_dump_state *us = st;

	unix_index_free(us);
	for (size_t i = 0; i < us->nr_pending; i++)
		unix_msgs_free(us->pending[i].msgs, us->pending[i].nr);
	free(us->pending);
	free(us->dumped);
	for (size_t i = 0; i < us->nr_q; i++)
		unix_queue_entry__free_unpacked(us->q[i], NULL);
	free(us->q);
	sk_kind_cache_free(&us->sk_defaults);
}
