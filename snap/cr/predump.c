// SPDX-License-Identifier: GPL-2.0
/*
 * `snap pre-dump`: the memory of a tree, saved while it runs, so that a later
 * dump (--prev-images-dir) saves only what was written since (mem/track.h).
 * The tree is frozen only to read which pages were written and protect them
 * again; the first round also has the parasite make each process's write
 * tracker, which protects the pages once the tree runs again
 * (track_arm_running()), before they are copied. Nothing but memory
 * is saved: a pre-dump is a parent, it cannot be restored.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmds.h"
#include "cr/dump-steps.h"
#include "cr/stats.h"
#include "infect.h"
#include "log.h"
#include "mem/dump-mode.h"
#include "mem/mem-dump.h"
#include "mem/page-sink.h"
#include "mem/track.h"
#include "proc/proc.h"
#include "proc/pstree.h"
#include "proc/seize.h"
#include "proc/thread-dump.h"

/* Parasite areas a killed snap left are not the task's memory. */
static void drop_stale_parasites(struct dump_task *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->vmas.nr; i++) {
		if (!t->vmas.v[i].stale_parasite)
			t->vmas.v[n++] = t->vmas.v[i];
		else
			free(t->vmas.v[i].path);
	}
	t->vmas.nr = n;
}

/*
 * The parasite makes the tracker; the task then goes back into the syscall
 * the freeze interrupted, so that a signal coming after the thaw interrupts
 * it as it would have (see ptrace_enter_syscall()).
 */
static int arm_tracker(struct dump_ctx *ctx, struct dump_task *t)
{
	struct syscall_site site;
	int ret;

	if (dump_syscall_site(t, &site) || thread_collect(t, ctx->kf->xsave_size))
		return -1;
	t->ctl = parasite_infect(t->pid, &site, ctx->kf->xsave_size);
	if (!t->ctl)
		return -1;
	ret = track_arm(ctx, t);
	if (parasite_cure(t->ctl))
		ret = -1;
	parasite_free(t->ctl);
	t->ctl = NULL;
	for (size_t i = 0; !ret && i < t->nr_threads; i++) {
		t->thr[i].detach_sig = ptrace_enter_syscall(t->threads[i]);
		if (t->thr[i].detach_sig < 0) {
			pr_perror("pid %d: cannot let thread %d back into its syscall", t->pid,
				  t->threads[i]);
			ret = -1;
		}
	}
	return ret;
}

/* Frozen: the pages written since the last round, found and protected again. */
static int predump_frozen(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl)
{
	t->pidfd = syscall(SYS_pidfd_open, t->pid, 0);
	if (t->pidfd < 0) {
		pr_perror("pid %d: pidfd_open", t->pid);
		return -1;
	}
	if (parse_vmas(t->pid, &t->vmas_hint, &t->vmas))
		return -1;
	drop_stale_parasites(t);
	if (track_find(ctx, t) || (!t->trk && arm_tracker(ctx, t)))
		return -1;
	return page_collect(ctx, t, pl) || track_split(ctx, t, pl, true) ? -1 : 0;
}

static void free_tasks(struct dump_ctx *ctx, struct page_list *pls)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		if (pls)
			page_list_free(&pls[i]);
		dump_task_free(&ctx->tasks[i]);
	}
	free(pls);
	free(ctx->tasks);
}

int cmd_predump(const struct snap_opts *opts, const struct kfeat *kf)
{
	struct dump_ctx ctx = {
		.opts = opts,
		.kf = kf,
		.dirfd = -1,
		.mode = &stw_dump_mode,
		.pre_dump = true,
	};
	struct page_list *pls = NULL;
	bool frozen = false, ok = false;
	size_t i;

	ctx.st.t_start = now_ns();
	if (track_check_kernel(kf, "snap pre-dump"))
		return -1;
	ctx.tasks = calloc(1, sizeof(*ctx.tasks));
	if (!ctx.tasks)
		return -1;
	ctx.nr_tasks = ctx.cap_tasks = 1;
	ctx.tasks[0].pid = opts->pid;
	ctx.tasks[0].pidfd = -1;
	if (seize_check(&ctx.tasks[0]) || parse_smaps(opts->pid, &ctx.tasks[0].vmas_hint) ||
	    dump_open_images_dir(&ctx) || page_sinks_begin(&ctx, PAGE_SET_PRE_DUMP) ||
	    track_parent_load(&ctx) || tree_prepare(&ctx))
		goto out;
	/* Frozen from the first task stopped. */
	frozen = true;
	ctx.st.t_frozen = now_ns();
	if (tree_seize(&ctx))
		goto out;
	pls = calloc(ctx.nr_tasks, sizeof(*pls));
	if (!pls)
		goto out;
	for (i = 0; i < ctx.nr_tasks; i++)
		if (!ctx.tasks[i].zombie && predump_frozen(&ctx, &ctx.tasks[i], &pls[i]))
			goto out;
	ctx.st.t_release = now_ns();
	tree_unseize(&ctx, false);
	frozen = false;
	ctx.st.t_unfrozen = ctx.st.t_mem_start = now_ns();
	for (i = 0; i < ctx.nr_tasks; i++)
		if (!ctx.tasks[i].zombie && (track_arm_running(&ctx.tasks[i]) ||
					     page_copy(&ctx, &ctx.tasks[i], &pls[i], true)))
			goto out;
	ctx.st.t_mem_end = now_ns();
	/* --page-server: the server has every page before inventory.img says the set is whole. */
	if (track_write(&ctx) || page_sinks_end(&ctx) || dump_write_inventory(&ctx))
		goto out;
	ok = true;
out:
	page_sinks_cancel(&ctx);
	if (frozen) {
		tree_unseize(&ctx, false);
		ctx.st.t_unfrozen = now_ns();
	}
	ctx.st.t_end = now_ns();
	if (ok && opts->display_stats)
		print_dump_stats(&ctx);
	if (ok)
		pr_info("pre-dump of pid %d done (%zu processes)", opts->pid, ctx.nr_tasks);
	free_tasks(&ctx, pls);
	tree_prepare_free(&ctx);
	track_parent_free(&ctx);
	if (ctx.dirfd >= 0)
		close(ctx.dirfd);
	return ok ? 0 : -1;
}
