// SPDX-License-Identifier: GPL-2.0
/*
 * Namespace ids at dump. ns_read() is the one reader of /proc/PID/ns: the
 * freeze-time refusal of foreign namespaces (seize_check_ns) and the
 * collection below both go through it. A namespace is known by its kind and
 * its nsfs inode (dev, ino); the first task met in it gives it the next id,
 * so a tree that shares snap's namespaces lists each kind once.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "image.h"
#include "log.h"
#include "ns/ns.h"

static const struct {
	const char *name; /* in /proc/PID/ns/ */
	NsKind kind;
	size_t has, val; /* offsets of its has_ flag and id in NsIds */
} slots[NS_SLOT_NR] = {
#define SLOT(s, n, k, f) [s] = {n, k, offsetof(NsIds, has_##f), offsetof(NsIds, f)}
	SLOT(NS_SLOT_PID, "pid", NS_KIND__NS_PID, pid),
	SLOT(NS_SLOT_NET, "net", NS_KIND__NS_NET, net),
	SLOT(NS_SLOT_MNT, "mnt", NS_KIND__NS_MNT, mnt),
	SLOT(NS_SLOT_IPC, "ipc", NS_KIND__NS_IPC, ipc),
	SLOT(NS_SLOT_UTS, "uts", NS_KIND__NS_UTS, uts),
	SLOT(NS_SLOT_USER, "user", NS_KIND__NS_USER, user),
	SLOT(NS_SLOT_CGROUP, "cgroup", NS_KIND__NS_CGROUP, cgroup),
	SLOT(NS_SLOT_TIME, "time", NS_KIND__NS_TIME, time),
	SLOT(NS_SLOT_PID_CHILDREN, "pid_for_children", NS_KIND__NS_PID, pid_for_children),
	SLOT(NS_SLOT_TIME_CHILDREN, "time_for_children", NS_KIND__NS_TIME, time_for_children),
#undef SLOT
};

/* One distinct namespace of the tree: an entry of ns.img. */
struct ns_known {
	NsKind kind;
	struct ns_ref ref;
	uint32_t id;
	bool own;
	bool empty;	     /* --empty-ns: its contents not saved (ns-dump.c) */
	const char *ext_key; /* --external KIND[INODE]:KEY: the caller's, not saved */
};

struct ns_table {
	struct ns_set own; /* snap's, read once */
	struct ns_known *v;
	size_t nr, cap;
	NsIds **ids; /* each task's, pointed to by dump_task.ns_ids */
	size_t nr_ids;
};

_Static_assert(NS_SLOT_TIME == NS_KIND__NS_TIME - NS_KIND__NS_PID,
	       "the slots a task lives in are the kinds, in NsKind order");

const char *ns_slot_name(enum ns_slot s)
{
	return slots[s].name;
}

NsKind ns_slot_kind(enum ns_slot s)
{
	return slots[s].kind;
}

const char *ns_kind_name(NsKind kind)
{
	/* The first NS_SLOT_LIVES_NR slots are the kinds in NsKind order. */
	if (kind < NS_KIND__NS_PID || kind > NS_KIND__NS_TIME)
		return NULL;
	return slots[kind - NS_KIND__NS_PID].name;
}

bool ns_ids_get(const NsIds *ids, enum ns_slot s, uint32_t *id)
{
	const char *p = (const char *)ids;

	if (!*(const protobuf_c_boolean *)(p + slots[s].has))
		return false;
	*id = *(const uint32_t *)(p + slots[s].val);
	return true;
}

static void ns_ids_set(NsIds *ids, enum ns_slot s, uint32_t id)
{
	char *p = (char *)ids;

	*(protobuf_c_boolean *)(p + slots[s].has) = true;
	*(uint32_t *)(p + slots[s].val) = id;
}

int ns_read(pid_t pid, struct ns_set *set)
{
	char path[64];
	struct stat st;

	for (int s = 0; s < NS_SLOT_NR; s++) {
		if (pid)
			snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, slots[s].name);
		else
			snprintf(path, sizeof(path), "/proc/self/ns/%s", slots[s].name);
		/* stat() follows the link to the nsfs inode: its dev and ino name the namespace. */
		if (!stat(path, &st)) {
			set->ns[s] = (struct ns_ref){st.st_dev, st.st_ino};
			continue;
		}
		if (errno != ENOENT) {
			set->failed = s;
			return -1;
		}
		set->ns[s] = (struct ns_ref){0, 0};
	}
	return 0;
}

static struct ns_table *table_new(void)
{
	struct ns_table *nt = calloc(1, sizeof(*nt));

	if (!nt) {
		pr_err("out of memory for the namespace table");
		return NULL;
	}
	if (ns_read(0, &nt->own)) {
		pr_perror("cannot read snap's own %s namespace", slots[nt->own.failed].name);
		free(nt);
		return NULL;
	}
	return nt;
}

/* The id of the namespace @ref of slot @s, given a new one the first time it is met. */
static int ns_id(struct ns_table *nt, enum ns_slot s, const struct ns_ref *ref, uint32_t *id)
{
	NsKind kind = slots[s].kind;
	struct ns_known *k;

	for (size_t i = 0; i < nt->nr; i++)
		if (nt->v[i].kind == kind && ns_ref_equal(&nt->v[i].ref, ref)) {
			*id = nt->v[i].id;
			return 0;
		}
	if (nt->nr == nt->cap) {
		size_t cap = nt->cap ? 2 * nt->cap : 16;

		k = realloc(nt->v, cap * sizeof(*k));
		if (!k) {
			pr_err("out of memory for the namespace table");
			return -1;
		}
		nt->v = k;
		nt->cap = cap;
	}
	k = &nt->v[nt->nr];
	/* Own is where snap lives: pid_for_children is compared with its pid namespace. */
	*k = (struct ns_known){
		.kind = kind,
		.ref = *ref,
		.id = nt->nr + 1,
		.own = ns_ref_equal(ref, &nt->own.ns[kind - NS_KIND__NS_PID]),
	};
	nt->nr++;
	*id = k->id;
	return 0;
}

/*
 * A zombie gets no ids: exit released all but its pid and user namespaces,
 * and restore makes it in its parent's, as a child of it. Revisit when pid
 * namespaces are restored: a parent may have moved its pid_for_children since.
 */
int ns_collect(struct dump_ctx *ctx, struct dump_task *t)
{
	struct ns_set set;
	NsIds *ids, **v;

	if (!ctx->ns && !(ctx->ns = table_new()))
		return -1;
	if (ns_read(t->pid, &set)) {
		pr_perror("pid %d: cannot read its %s namespace", t->pid, slots[set.failed].name);
		return -1;
	}
	ids = calloc(1, sizeof(*ids));
	v = realloc(ctx->ns->ids, (ctx->ns->nr_ids + 1) * sizeof(*v));
	if (!ids || !v) {
		pr_err("pid %d: out of memory for its namespace ids", t->pid);
		free(ids);
		if (v)
			ctx->ns->ids = v;
		return -1;
	}
	ctx->ns->ids = v;
	v[ctx->ns->nr_ids++] = ids;
	ns_ids__init(ids);
	for (int s = 0; s < NS_SLOT_NR; s++) {
		uint32_t id;

		if (!set.ns[s].ino) {
			/* An empty new pid namespace has no inode to show (see ns.proto). */
			if (!ctx->ns->own.ns[s].ino || s == NS_SLOT_PID_CHILDREN)
				continue;
			pr_err("pid %d: its %s namespace is gone while it is frozen; was it "
			       "killed?",
			       t->pid, slots[s].name);
			return -1;
		}
		if (ns_id(ctx->ns, s, &set.ns[s], &id))
			return -1;
		ns_ids_set(ids, s, id);
	}
	t->ns_ids = ids;
	return 0;
}

int ns_write(struct dump_ctx *ctx)
{
	struct image *img = img_open_write(ctx->dirfd, IMG_NS, 0);
	int ret = 0;

	if (!img)
		return -1;
	for (size_t i = 0; ctx->ns && i < ctx->ns->nr && !ret; i++) {
		const struct ns_known *k = &ctx->ns->v[i];
		NsEntry e = NS_ENTRY__INIT;

		e.id = k->id;
		e.kind = k->kind;
		e.inode = k->ref.ino;
		e.has_dev = true;
		e.dev = k->ref.dev;
		e.has_own = true;
		e.own = k->own;
		e.has_empty = k->empty;
		e.empty = k->empty;
		e.ext_key = (char *)k->ext_key;
		ret = img_write(img, &e.base);
	}
	if (img_close(img))
		ret = -1;
	return ret;
}

int ns_for_each_tree_ns(struct dump_ctx *ctx,
			int (*fn)(struct dump_ctx *ctx, NsKind kind, uint32_t id, bool *empty))
{
	for (size_t i = 0; ctx->ns && i < ctx->ns->nr; i++) {
		struct ns_known *k = &ctx->ns->v[i];

		if (!k->own && !k->ext_key && fn(ctx, k->kind, k->id, &k->empty))
			return -1;
	}
	return 0;
}

/* The tree root's namespace of @kind: every task lives in it (seize_check_ns()). */
static struct ns_known *root_ns(struct dump_ctx *ctx, NsKind kind)
{
	uint32_t id;

	if (!ctx->ns || !ctx->tasks[0].ns_ids ||
	    !ns_ids_get(ctx->tasks[0].ns_ids, kind - NS_KIND__NS_PID, &id))
		return NULL;
	for (size_t i = 0; i < ctx->ns->nr; i++)
		if (ctx->ns->v[i].id == id)
			return &ctx->ns->v[i];
	return NULL;
}

int ns_mark_external(struct dump_ctx *ctx)
{
	pid_t pid = ctx->tasks[0].pid;

	for (int kind = NS_KIND__NS_PID; kind < NS_KIND_NR; kind++) {
		const struct ext_ns *x = &ctx->opts->ext_ns[kind];
		const char *name = ns_kind_name(kind);
		struct ns_known *k;

		if (!x->key)
			continue;
		k = root_ns(ctx, kind);
		if (!k) {
			pr_err("--external %s[%llu]:%s: pid %d shows no %s namespace", name,
			       (unsigned long long)x->inode, x->key, pid, name);
			return -1;
		}
		if (k->ref.ino != x->inode) {
			pr_err("--external %s[%llu]:%s: the tree's %s namespace is %s:[%llu] (pid "
			       "%d), not inode %llu",
			       name, (unsigned long long)x->inode, x->key, name, name,
			       (unsigned long long)k->ref.ino, pid, (unsigned long long)x->inode);
			return -1;
		}
		if (k->own) {
			pr_err("--external %s[%llu]:%s: it is snap's own %s namespace, not one of "
			       "the tree's (pid %d)",
			       name, (unsigned long long)x->inode, x->key, name, pid);
			return -1;
		}
		k->ext_key = x->key;
		pr_info("pid %d: its %s namespace %s:[%llu] is external, key %s: nothing of it "
			"is saved",
			pid, name, name, (unsigned long long)k->ref.ino, x->key);
	}
	return 0;
}

void ns_table_free(struct ns_table *nt)
{
	if (!nt)
		return;
	for (size_t i = 0; i < nt->nr_ids; i++)
		free(nt->ids[i]);
	free(nt->ids);
	free(nt->v);
	free(nt);
}
