// SPDX-License-Identifier: GPL-2.0
/*
 * The contents of the tree's namespaces at dump: each one that is not
 * snap's own is saved by its kind's module (ns-kind.h) while the tree is
 * frozen, unless --empty-ns names its kind or --external names it.
 */
#include <sched.h>

#include "log.h"
#include "ns/ns-kind.h"
#include "ns/ns.h"

/* CLONE_NEW* of @kind: the flag --empty-ns names it by. */
static unsigned long empty_flag(NsKind kind)
{
	return kind == NS_KIND__NS_NET ? CLONE_NEWNET : 0;
}

static int dump_one(struct dump_ctx *ctx, NsKind kind, uint32_t id, bool *empty)
{
	const struct ns_kind_ops *ops = ns_kind_ops(kind);
	/* Every task lives in its root's namespaces (seize_check_ns()). */
	pid_t pid = ctx->tasks[0].pid;

	if (!ops) {
		pr_err("pid %d: its %s namespace is not snap's; snap cannot dump %s namespaces "
		       "yet",
		       pid, ns_kind_name(kind), ns_kind_name(kind));
		return -1;
	}
	*empty = (ctx->opts->empty_ns & empty_flag(kind)) != 0;
	return !*empty && ops->dump ? ops->dump(ctx, pid, id) : 0;
}

int ns_dump_contents(struct dump_ctx *ctx)
{
	return ns_mark_external(ctx) || ns_for_each_tree_ns(ctx, dump_one) ? -1 : 0;
}
