// SPDX-License-Identifier: GPL-2.0
/*
 * Namespaces at restore: ns.img is loaded and checked with the ns_ids of
 * pstree.img before anything is created, so a damaged image fails with one
 * error naming it; so are the images of each namespace that is not snap's
 * own (its kind's ->load, ns-kind.h). The tree's root is cloned into new
 * namespaces of those kinds and puts their contents back first thing
 * (ns_restore_root()), or joins the ones --join-ns names and the external
 * ones (--external at dump) --inherit-fd hands over; the other tasks
 * inherit them. An id of snap's own is joined with ns_enter().
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "ns/ns-kind.h"
#include "ns/ns-restore-int.h"
#include "ns/ns.h"


static const NsEntry *find_id(const struct ns_restore *nr, uint32_t id)
{
	for (size_t i = 0; i < nr->nr; i++)
		if (nr->e[i]->id == id)
			return nr->e[i];
	return NULL;
}

static size_t entry_index(const struct ns_restore *nr, const NsEntry *e)
{
	size_t i = 0;

	while (nr->e[i] != e)
		i++;
	return i;
}

/* Each entry of a known kind, each id and each namespace once, one own per kind. */
static int check_entries(const struct ns_restore *nr)
{
	for (size_t i = 0; i < nr->nr; i++) {
		const NsEntry *e = nr->e[i];

		if (!ns_kind_name(e->kind)) {
			pr_err("image ns.img: namespace id %u has an unknown kind %d", e->id,
			       e->kind);
			return -1;
		}
		if (!e->id || !e->inode) {
			pr_err("image ns.img: %s namespace id %u, inode %llu: neither may be 0",
			       ns_kind_name(e->kind), e->id, (unsigned long long)e->inode);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			const NsEntry *o = nr->e[j];

			if (o->id == e->id) {
				pr_err("image ns.img: namespace id %u is there twice", e->id);
				return -1;
			}
			if (o->kind == e->kind && o->inode == e->inode && o->dev == e->dev) {
				pr_err("image ns.img: ids %u and %u are the same %s namespace",
				       o->id, e->id, ns_kind_name(e->kind));
				return -1;
			}
			if (o->kind == e->kind && o->own && e->own) {
				pr_err("image ns.img: ids %u and %u are both snap's own %s "
				       "namespace",
				       o->id, e->id, ns_kind_name(e->kind));
				return -1;
			}
		}
	}
	return 0;
}

/* Every id a pstree.img entry gives is in ns.img, of the kind of its field. */
static int check_task(const struct ns_restore *nr, const PstreeEntry *pe)
{
	for (int s = 0; s < NS_SLOT_NR; s++) {
		const NsEntry *e;
		uint32_t id;

		if (!ns_ids_get(pe->ns, s, &id))
			continue;
		e = find_id(nr, id);
		if (!e) {
			pr_err("image pstree.img: pid %u: its %s namespace is id %u, %s", pe->pid,
			       ns_slot_name(s), id,
			       nr->no_img ? "but there is no ns.img"
					  : "which ns.img does not list");
			return -1;
		}
		if (e->kind != ns_slot_kind(s)) {
			pr_err("image pstree.img: pid %u: its %s namespace is id %u, a %s one in "
			       "ns.img",
			       pe->pid, ns_slot_name(s), id, ns_kind_name(e->kind));
			return -1;
		}
	}
	return 0;
}

/* The own namespaces ns_enter() may join, opened while snap is sure to be in them. */
static int open_own(struct ns_restore *nr)
{
	char path[64];

	for (size_t i = 0; i < nr->nr; i++) {
		const NsEntry *e = nr->e[i];

		if (!e->own)
			continue;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_kind_name(e->kind));
		nr->own_fd[e->kind] = open(path, O_RDONLY | O_CLOEXEC);
		if (nr->own_fd[e->kind] < 0) {
			pr_perror("cannot open snap's own %s namespace (%s) for ns.img",
				  ns_kind_name(e->kind), path);
			return -1;
		}
	}
	return 0;
}


/*
 * The root's namespaces that are not snap's own: each is joined (--join-ns)
 * or made by the root, whose kind's module loads its images now.
 */
static int load_tree_ns(struct restore_ctx *ctx, const PstreeEntry *root)
{
	struct ns_restore *nr = ctx->ns;

	for (int s = 0; root->ns && s < NS_SLOT_LIVES_NR; s++) {
		NsKind kind = ns_slot_kind(s);
		const struct ns_kind_ops *ops;
		const NsEntry *e;
		uint32_t id;

		if (!ns_ids_get(root->ns, s, &id))
			continue;
		e = find_id(nr, id);
		nr->root_id[kind] = id;
		if (e->own)
			continue;
		ops = ns_kind_ops(kind);
		if (ctx->opts->join_ns[kind] || (e->ext_key && e->ext_key[0])) {
			if (ns_open_joined(ctx, e))
				return -1;
			if (ops && ops->load_always && ops->load &&
			    ops->load(ctx, id, &nr->state[entry_index(nr, e)]))
				return -1;
			continue;
		}
		if (!ops) {
			pr_err("image ns.img: the tree lives in a %s namespace of its own (id %u); "
			       "this snap cannot restore %s namespaces",
			       ns_kind_name(kind), id, ns_kind_name(kind));
			return -1;
		}
		if ((!e->empty || ops->load_always) && ops->load &&
		    ops->load(ctx, id, &nr->state[entry_index(nr, e)]))
			return -1;
	}
	return 0;
}

int ns_load(struct restore_ctx *ctx, PstreeEntry **pe, size_t nr)
{
	struct ns_restore *ns = calloc(1, sizeof(*ns));

	if (!ns) {
		pr_err("out of memory for the namespace table");
		return -1;
	}
	for (int k = 0; k < NS_KIND_NR; k++)
		ns->own_fd[k] = ns->join_fd[k] = -1;
	ctx->ns = ns;
	ns->no_img = faccessat(ctx->dirfd, "ns.img", F_OK, 0) && errno == ENOENT;
	if (img_load_all(ctx->dirfd, IMG_NS, 0, true, (void ***)&ns->e, &ns->nr) ||
	    check_entries(ns))
		return -1;
	ns->state = calloc(ns->nr + 1, sizeof(*ns->state));
	if (!ns->state) {
		pr_err("out of memory for the namespace table");
		return -1;
	}
	for (size_t i = 0; i < nr; i++)
		if (pe[i]->ns && check_task(ns, pe[i]))
			return -1;
	if (open_own(ns) || (nr && load_tree_ns(ctx, pe[0])))
		return -1;
	return 0;
}

void ns_restore_free(struct restore_ctx *ctx)
{
	struct ns_restore *ns = ctx->ns;

	if (!ns)
		return;
	for (int k = 0; k < NS_KIND_NR; k++) {
		if (ns->own_fd[k] >= 0)
			close(ns->own_fd[k]);
		if (ns->join_fd[k] >= 0)
			close(ns->join_fd[k]);
		free(ns->join_what[k]);
	}
	for (size_t i = 0; i < ns->nr; i++) {
		const struct ns_kind_ops *ops = ns_kind_ops(ns->e[i]->kind);

		if (ns->state && ns->state[i] && ops && ops->free)
			ops->free(ns->state[i]);
		protobuf_c_message_free_unpacked(&ns->e[i]->base, NULL);
	}
	free(ns->state);
	free(ns->e);
	free(ns);
	ctx->ns = NULL;
}

/*
 * Whether the calling thread is in the namespace of @fd already. setns()
 * into one's own user namespace fails, and into one's own mount namespace
 * moves cwd and root to its root: entering where one is must do nothing.
 * For pid and time, setns() sets where children go, so that is compared.
 */
static bool already_in(NsKind kind, int fd)
{
	const char *name = kind == NS_KIND__NS_PID    ? "pid_for_children"
			   : kind == NS_KIND__NS_TIME ? "time_for_children"
						      : ns_kind_name(kind);
	struct stat a, b;
	char path[80];

	snprintf(path, sizeof(path), "/proc/thread-self/ns/%s", name);
	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int ns_enter(struct restore_ctx *ctx, NsKind kind, uint32_t id)
{
	const NsEntry *e = ctx->ns ? find_id(ctx->ns, id) : NULL;
	const char *name = ns_kind_name(kind);
	int fd;

	if (!name || !e || e->kind != kind) {
		pr_err("image ns.img: no %s namespace with id %u", name ? name : "(unknown kind)",
		       id);
		return -1;
	}
	/* The tree's own: its root made or joined it, and every task descends from the root. */
	if (!e->own)
		return 0;
	/* --new-pidns: the tree's pid namespace is the one its root was cloned into. */
	if (kind == NS_KIND__NS_PID && ctx->new_pidns)
		return 0;
	fd = ctx->ns->own_fd[kind];
	if (already_in(kind, fd))
		return 0;
	if (setns(fd, ns_clone_flag(kind))) {
		pr_perror("cannot enter snap's own %s namespace (ns.img id %u)", name, id);
		return -1;
	}
	return 0;
}

int ns_enter_task(struct restore_ctx *ctx, const PstreeEntry *pe)
{
	/*
	 * A process cannot change its own pid or time namespace: setns() of
	 * those sets where its children go, which is what *_for_children say.
	 */
	static const enum ns_slot slots[] = {
		NS_SLOT_NET,  NS_SLOT_MNT,    NS_SLOT_IPC,	    NS_SLOT_UTS,
		NS_SLOT_USER, NS_SLOT_CGROUP, NS_SLOT_PID_CHILDREN, NS_SLOT_TIME_CHILDREN};
	uint32_t id;

	for (size_t i = 0; pe->ns && i < sizeof(slots) / sizeof(slots[0]); i++)
		if (ns_ids_get(pe->ns, slots[i], &id) && ns_enter(ctx, ns_slot_kind(slots[i]), id))
			return -1;
	return 0;
}

int ns_move_fds(struct restore_ctx *ctx, int base)
{
	struct ns_restore *nr = ctx->ns;

	for (int k = 0; nr && k < NS_KIND_NR; k++) {
		int *fds[] = { &nr->own_fd[k], &nr->join_fd[k] };

		for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
			int fd;

			if (*fds[i] < 0)
				continue;
			fd = fcntl(*fds[i], F_DUPFD_CLOEXEC, base);
			if (fd < 0) {
				pr_perror("cannot move the fd of a %s namespace", ns_kind_name(k));
				return -1;
			}
			close(*fds[i]);
			*fds[i] = fd;
		}
	}
	return 0;
}

/* The root's namespace of @kind when it is not snap's own, else NULL. */
static const NsEntry *tree_ns(const struct ns_restore *nr, NsKind kind)
{
	const NsEntry *e = nr->root_id[kind] ? find_id(nr, nr->root_id[kind]) : NULL;

	return e && !e->own ? e : NULL;
}

uint64_t ns_root_clone_flags(const struct restore_ctx *ctx)
{
	uint64_t flags = 0;

	for (int k = NS_KIND__NS_PID; ctx->ns && k < NS_KIND_NR; k++)
		/* A time namespace's offsets are set before its first task is in it. */
		if (k != NS_KIND__NS_TIME && tree_ns(ctx->ns, k) && ctx->ns->join_fd[k] < 0)
			flags |= ns_clone_flag(k);
	return flags;
}

int ns_restore_root(struct restore_ctx *ctx)
{
	struct ns_restore *nr = ctx->ns;

	for (size_t i = 0; nr && i < ns_restore_order_nr; i++) {
		NsKind kind = ns_restore_order[i];
		const NsEntry *e = tree_ns(nr, kind);
		const struct ns_kind_ops *ops = ns_kind_ops(kind);

		if (!e)
			continue;
		if (nr->join_fd[kind] >= 0) {
			if (setns(nr->join_fd[kind], ns_clone_flag(kind))) {
				pr_perror("cannot join the %s namespace %s gives", ns_kind_name(kind),
					  nr->join_what[kind]);
				return -1;
			}
			continue;
		}
		if (ops && ops->restore &&
		    ops->restore(ctx, e->empty && !ops->load_always
					      ? NULL
					      : nr->state[entry_index(nr, e)]))
			return -1;
	}
	return 0;
}
