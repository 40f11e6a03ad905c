// SPDX-License-Identifier: GPL-2.0
/*
 * Namespace ids at restore: ns.img is loaded and checked with the ns_ids of
 * pstree.img before anything is created, so a damaged image fails with one
 * error naming it. ns_enter() joins a namespace by id. Restore makes no
 * namespaces yet (dump refuses tasks outside snap's), so for now an id
 * stands for one of snap's own, opened here at load.
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
#include "ns/ns.h"

struct ns_restore {
	NsEntry **e; /* ns.img, in file order */
	size_t nr;
	bool no_img;		/* images from before ns.img */
	int own_fd[NS_KIND_NR]; /* by kind: snap's own namespace, -1 if not open */
};

static const NsEntry *find_id(const struct ns_restore *nr, uint32_t id)
{
	for (size_t i = 0; i < nr->nr; i++)
		if (nr->e[i]->id == id)
			return nr->e[i];
	return NULL;
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

		if (!e->own) {
			pr_warn("image ns.img: %s namespace id %u (inode %llu) is not snap's own; "
				"restore makes no namespaces yet: its tasks come back in snap's",
				ns_kind_name(e->kind), e->id, (unsigned long long)e->inode);
			continue;
		}
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

int ns_load(struct restore_ctx *ctx, PstreeEntry **pe, size_t nr)
{
	struct ns_restore *ns = calloc(1, sizeof(*ns));

	if (!ns) {
		pr_err("out of memory for the namespace table");
		return -1;
	}
	for (int k = 0; k < NS_KIND_NR; k++)
		ns->own_fd[k] = -1;
	ctx->ns = ns;
	ns->no_img = faccessat(ctx->dirfd, "ns.img", F_OK, 0) && errno == ENOENT;
	if (img_load_all(ctx->dirfd, IMG_NS, 0, true, (void ***)&ns->e, &ns->nr) ||
	    check_entries(ns))
		return -1;
	for (size_t i = 0; i < nr; i++)
		if (pe[i]->ns && check_task(ns, pe[i]))
			return -1;
	return open_own(ns);
}

void ns_restore_free(struct restore_ctx *ctx)
{
	struct ns_restore *ns = ctx->ns;

	if (!ns)
		return;
	for (int k = 0; k < NS_KIND_NR; k++)
		if (ns->own_fd[k] >= 0)
			close(ns->own_fd[k]);
	for (size_t i = 0; i < ns->nr; i++)
		protobuf_c_message_free_unpacked(&ns->e[i]->base, NULL);
	free(ns->e);
	free(ns);
	ctx->ns = NULL;
}

static int clone_flag(NsKind kind)
{
	switch (kind) {
	case NS_KIND__NS_PID:
		return CLONE_NEWPID;
	case NS_KIND__NS_NET:
		return CLONE_NEWNET;
	case NS_KIND__NS_MNT:
		return CLONE_NEWNS;
	case NS_KIND__NS_IPC:
		return CLONE_NEWIPC;
	case NS_KIND__NS_UTS:
		return CLONE_NEWUTS;
	case NS_KIND__NS_USER:
		return CLONE_NEWUSER;
	case NS_KIND__NS_CGROUP:
		return CLONE_NEWCGROUP;
	case NS_KIND__NS_TIME:
		return CLONE_NEWTIME;
	default:
		return 0;
	}
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
	if (!e->own) {
		pr_err("image ns.img: %s namespace id %u (inode %llu) is not snap's own; restoring "
		       "namespaces is not supported yet",
		       name, id, (unsigned long long)e->inode);
		return -1;
	}
	/* --new-pidns: the tree's pid namespace is the one its root was cloned into. */
	if (kind == NS_KIND__NS_PID && ctx->new_pidns)
		return 0;
	fd = ctx->ns->own_fd[kind];
	if (already_in(kind, fd))
		return 0;
	if (setns(fd, clone_flag(kind))) {
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
		int fd;

		if (nr->own_fd[k] < 0)
			continue;
		fd = fcntl(nr->own_fd[k], F_DUPFD_CLOEXEC, base);
		if (fd < 0) {
			pr_perror("cannot move the fd of snap's own %s namespace", ns_kind_name(k));
			return -1;
		}
		close(nr->own_fd[k]);
		nr->own_fd[k] = fd;
	}
	return 0;
}
