/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Namespaces by id. Dump reads every task's namespaces from /proc/PID/ns
 * (ns_read() is the one place that does), gives each distinct namespace a
 * small id, lists them once in ns.img and refers to them from each task's
 * pstree.img entry (ns_ids). Restore loads and checks both before anything
 * is created, and ns_enter() joins a namespace by its id.
 */
#ifndef SNAP_NS_H
#define SNAP_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctx.h"
#include "ns.pb-c.h"

/* The entries of /proc/PID/ns that snap reads, each one field of NsIds. */
enum ns_slot {
	/* Where the task lives, one per kind, in NsKind order. */
	NS_SLOT_PID,
	NS_SLOT_NET,
	NS_SLOT_MNT,
	NS_SLOT_IPC,
	NS_SLOT_UTS,
	NS_SLOT_USER,
	NS_SLOT_CGROUP,
	NS_SLOT_TIME,
	/* Where its next children go (see ns.proto). */
	NS_SLOT_PID_CHILDREN,
	NS_SLOT_TIME_CHILDREN,
	NS_SLOT_NR,
};
#define NS_SLOT_LIVES_NR NS_SLOT_PID_CHILDREN

/* Indexes an array by NsKind value; 0 is no kind. */
#define NS_KIND_NR (NS_KIND__NS_TIME + 1)

/* One namespace as nsfs names it; ino 0 for none. */
struct ns_ref {
	dev_t dev;
	ino_t ino;
};

struct ns_set {
	struct ns_ref ns[NS_SLOT_NR];
	enum ns_slot failed; /* after ns_read() failed: the entry it could not read */
};

/* "net", "pid_for_children": the entry's name in /proc/PID/ns/. */
const char *ns_slot_name(enum ns_slot s);
/* The kind of namespace a slot holds. */
NsKind ns_slot_kind(enum ns_slot s);
/* "net" for NS_KIND__NS_NET; NULL for a value that is no kind snap knows. */
const char *ns_kind_name(NsKind kind);

/* The id @ids gives for slot @s: false if it gives none. */
bool ns_ids_get(const NsIds *ids, enum ns_slot s, uint32_t *id);

static inline bool ns_ref_equal(const struct ns_ref *a, const struct ns_ref *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * What /proc/@pid/ns/ refers to (@pid 0: snap itself). An entry that is not
 * there leaves its slot 0: a kind this kernel lacks, a task that exited (a
 * zombie keeps only pid and user), or a pid namespace nobody was forked into
 * yet (pid_for_children after unshare(CLONE_NEWPID)). Any other error: -1
 * with errno and set->failed, nothing logged: the caller knows what it means.
 */
int ns_read(pid_t pid, struct ns_set *set);

/*
 * Run @fn(@arg, @fd) in a child of snap that joined @pid's namespace of
 * @kind; what it writes to @fd comes back in @buf, up to @len bytes. The
 * bytes read, or -1 (logged: @fn logs its own errors and returns non-zero).
 */
ssize_t ns_call(pid_t pid, NsKind kind, int (*fn)(void *arg, int fd), void *arg, void *buf,
		size_t len);

/* --empty-ns @arg, --join-ns @arg (ns-opts.c). 0, or -1 logged. */
int ns_opt_empty(const char *arg, struct snap_opts *o);
int ns_opt_join(const char *arg, struct snap_opts *o);
/*
 * --external @arg (argv or a kept copy: it is cut in place): mnt[KEY]:VAL to
 * ns/mnt.h, net[INODE]:KEY and pid[INODE]:KEY to opts->ext_ns; any other
 * kind refused by name.
 */
int ns_opt_external(char *arg, struct snap_opts *o);

/* Dump (ns-ids.c). Frozen: record @t's namespaces in ctx->ns and t->ns_ids. Logged. */
int ns_collect(struct dump_ctx *ctx, struct dump_task *t);
/*
 * The tree frozen, every task collected: each namespace that is not snap's
 * saved by its kind's module (ns-kind.h), unless --empty-ns names it
 * (ns-dump.c). Logged.
 */
int ns_dump_contents(struct dump_ctx *ctx);
/*
 * Each namespace --external names (opts->ext_ns) is the tree root's, by its
 * inode, and not snap's: it is marked so in ns.img, with its key, and
 * ns_for_each_tree_ns() skips it. -1 logged naming both inodes.
 */
int ns_mark_external(struct dump_ctx *ctx);
/*
 * @fn for each namespace of the table that is not snap's own nor external; it may mark
 * it *@empty (its contents not saved). Stops at the first non-zero.
 */
int ns_for_each_tree_ns(struct dump_ctx *ctx,
			int (*fn)(struct dump_ctx *ctx, NsKind kind, uint32_t id, bool *empty));
/* ns.img, every namespace ns_collect() met, by id. Logged. */
int ns_write(struct dump_ctx *ctx);
void ns_table_free(struct ns_table *nt);

/*
 * Restore (ns-restore.c). Load ns.img (optional: older images have none)
 * and check it and the ns_ids of @pe, nr entries of pstree.img: an unknown
 * kind, an id twice, an id no entry has, all logged naming the image.
 * Opens snap's own namespaces for ns_enter(). ctx->ns is set even on error.
 */
int ns_load(struct restore_ctx *ctx, PstreeEntry **pe, size_t nr);
void ns_restore_free(struct restore_ctx *ctx);
/*
 * Move the calling thread into namespace @id of ns.img, of @kind (for pid
 * and time: where its children will be). One of snap's own is joined; the
 * tree's others were made by its root, and its descendants are in them. Logged.
 */
int ns_enter(struct restore_ctx *ctx, NsKind kind, uint32_t id);
/*
 * After ns_load(): the fd of the namespace of @kind the root joins (--join-ns,
 * or an external one's --inherit-fd), and in *@what the option that gave it;
 * -1 when the root makes its own.
 */
int ns_joined(const struct restore_ctx *ctx, NsKind kind, const char **what);
/* CLONE_NEW* for the tree's root: each namespace of it snap must make (not time's). */
uint64_t ns_root_clone_flags(const struct restore_ctx *ctx);
/*
 * In the root, just cloned into its new namespaces: join those --join-ns
 * names, put back the contents of the others (ns-kind.h), kind by kind. -1 logged.
 */
int ns_restore_root(struct restore_ctx *ctx);
/*
 * In a restored process, before it makes children: join every namespace its
 * pstree.img entry @pe names (none for an image without them). -1 logged.
 */
int ns_enter_task(struct restore_ctx *ctx, const PstreeEntry *pe);
/* In the restored child: move the namespace fds to @base and up, out of the fds' way. */
int ns_move_fds(struct restore_ctx *ctx, int base);

#endif
