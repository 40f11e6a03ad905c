// SPDX-License-Identifier: GPL-2.0
/*
 * `snap dump`: the flow of Documentation/architecture.md "Dump" — seize, collect, infect, dump
 * state, files and memory, cure, write, then resume or kill (a tree to be
 * killed first has its TCP connections locked: net/netlock.h). How memory is
 * saved is the dump mode's (mem/dump-mode.h), chosen once here: its steps
 * are called at their places in the flow. Any failure puts the target back
 * running as it was: the parasite is cured (or rolled back), and the task
 * is detached, never killed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cmds.h"
#include "cr/action-script.h"
#include "cr/dump-steps.h"
#include "cr/page-server.h"
#include "proc/core-dump.h"
#include "files/files.h"
#include "files/link-remap.h"
#include "image.h"
#include "infect.h"
#include "live/live.h"
#include "log.h"
#include "mem/dump-mode.h"
#include "mem/mem-dump.h"
#include "mem/mem-pageout.h"
#include "mem/page-hold.h"
#include "mem/page-sink.h"
#include "mem/track.h"
#include "net/netlock.h"
#include "ns/net-ns.h"
#include "ns/ns.h"
#include "proc/proc.h"
#include "proc/procstate.h"
#include "proc/pstree.h"
#include "proc/seize.h"
#include "mem/shmem.h"
#include "cr/stats.h"
#include "proc/thread-dump.h"

int dump_open_images_dir(struct dump_ctx *ctx)
{
	const char *dir = ctx->opts->images_dir;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_perror("images directory %s", dir);
		return -1;
	}
	ctx->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->dirfd < 0) {
		pr_perror("images directory %s", dir);
		return -1;
	}
	/* inventory.img is written last: without it a set is incomplete. */
	if (unlinkat(ctx->dirfd, "inventory.img", 0) && errno != ENOENT) {
		pr_perror("images directory %s: cannot remove the old inventory.img", dir);
		return -1;
	}
	return 0;
}

int dump_write_inventory(struct dump_ctx *ctx)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* A set another may be made on top of names itself; a child names its parent. */
	if (getrandom(&inv.dump_id, sizeof(inv.dump_id), 0) != sizeof(inv.dump_id))
		inv.dump_id = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	inv.has_dump_id = true;
	inv.parent_id = track_parent_id(ctx);
	inv.has_parent_id = inv.parent_id != 0;
	inv.has_pre_dump = ctx->pre_dump;
	inv.pre_dump = ctx->pre_dump;
	inv.version = IMG_VERSION;
	inv.root_pid = ctx->tasks[0].vpid;
	inv.kernel = (char *)ctx->kf->kernel;
	inv.has_live = true;
	inv.live = ctx->mode->live && !ctx->pre_dump;
	inv.has_dump_time_ns = true;
	inv.dump_time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	return img_write_one(ctx->dirfd, IMG_INVENTORY, 0, &inv.base);
}

/*
 * Parasite areas a snap killed mid-dump left in the task are not the task's
 * memory: they leave the list before the dump, and the task once our own
 * parasite is gone.
 */
static int forget_stale_parasites(struct dump_task *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->vmas.nr; i++) {
		struct vma *v = &t->vmas.v[i];

		if (!v->stale_parasite) {
			t->vmas.v[n++] = *v;
			continue;
		}
		if (t->nr_stale == ARRAY_SIZE(t->stale)) {
			pr_err("pid %d holds more than %zu parasite areas of killed snaps", t->pid,
			       ARRAY_SIZE(t->stale));
			return -1;
		}
		t->stale[t->nr_stale++] = (struct vma_range){ v->start, v->end };
		free(v->path);
	}
	t->vmas.nr = n;
	return 0;
}

static int unmap_stale_parasites(struct dump_task *t)
{
	long ret;

	for (size_t i = 0; i < t->nr_stale; i++) {
		if (infect_syscall(t->ctl, &ret, __NR_munmap, t->stale[i].start,
				   t->stale[i].end - t->stale[i].start, 0, 0, 0, 0) ||
		    ret) {
			pr_err("pid %d: cannot unmap an old parasite area at %lx", t->pid,
			       (unsigned long)t->stale[i].start);
			return -1;
		}
		pr_info("pid %d: removed the parasite area a killed snap left at %lx", t->pid,
			(unsigned long)t->stale[i].start);
	}
	return 0;
}

static int note_shmem(struct dump_ctx *ctx, struct dump_task *t)
{
	for (size_t i = 0; i < t->vmas.nr; i++)
		if (t->vmas.v[i].kind == VMA_KIND__VMA_SHMEM &&
		    shmem_note_vma(ctx, t->pid, &t->vmas.v[i], i ? &t->vmas.v[i - 1] : NULL))
			return -1;
	return shmem_note_sysv_created(ctx, t->pid);
}

/*
 * The last step on a task that goes on running; live, it comes before the
 * rseq page is protected: the kernel writes it on the way into the syscall.
 * A stopped task is not let in: it stays in its stop (unseize_task()).
 */
static int enter_syscall(struct dump_ctx *ctx, struct dump_task *t)
{
	if (!ctx->opts->leave_running || t->stopped)
		return 0;
	for (size_t i = 0; i < t->nr_threads; i++) {
		t->thr[i].detach_sig = ptrace_enter_syscall(t->threads[i]);
		if (t->thr[i].detach_sig < 0) {
			pr_perror("pid %d: cannot let thread %d back into its syscall", t->pid,
				  t->threads[i]);
			return -1;
		}
	}
	return 0;
}

/* The tree's namespaces and cgroups, once, read frozen after the last task's fds. */
static int dump_tree_wide(struct dump_ctx *ctx)
{
	if (ctx->tree_wide_dumped)
		return 0;
	if (ns_dump_contents(ctx) || cgroup_dump(ctx))
		return -1;
	ctx->tree_wide_dumped = true;
	return 0;
}

static bool last_task(const struct dump_ctx *ctx, const struct dump_task *t)
{
	for (const struct dump_task *n = t + 1; n < ctx->tasks + ctx->nr_tasks; n++)
		if (!n->zombie)
			return false;
	return true;
}

/*
 * Neither needs the parasite gone, only the tree frozen; nor do they
 * depend on what is read of @t after it (its core, its memory). The
 * holder the fork makes changes nothing read here: it closes its copies of
 * the fds at once, and it is no task of the tree.
 */
int dump_meanwhile(struct dump_ctx *ctx, struct dump_task *t)
{
	if (dump_task_files(ctx, t))
		return -1;
	return last_task(ctx, t) ? dump_tree_wide(ctx) : 0;
}

/*
 * Everything done while the task is frozen: the mode's memory steps come
 * with the parasite in (live: pages held and armed) and after it is gone.
 */
static int dump_frozen(struct dump_ctx *ctx, struct dump_task *t)
{
	/* Read while the task is ptrace-stopped, before the parasite runs. */
	struct parasite_timers timers;
	struct syscall_site site;
	uint64_t t0;
	int ret;

	if (ns_collect(ctx, t) || parse_vmas(t->pid, &t->vmas_hint, &t->vmas) ||
	    dump_syscall_site(t, &site))
		return -1;
	if (forget_stale_parasites(t) || thread_collect(t, ctx->kf->xsave_size) ||
	    note_shmem(ctx, t) || timers_prepare(t->pid, &timers))
		return -1;
	t0 = now_ns();
	t->ctl = parasite_infect(t->pid, &site, ctx->kf->xsave_size);
	if (!t->ctl)
		return -1;
	t->ctl->args->misc.timers = timers;
	ret = parasite_cmd(t->ctl, PARASITE_CMD_DUMP_MISC);
	t->subreaper = t->ctl->args->misc.child_subreaper;
	if (!ret)
		ret = thread_collect_infected(t);
	/*
	 * Before the fds are listed: snap's write trackers are not the task's
	 * files. The list is taken before the mode's steps, whose fds come and
	 * go in the task, and may be dumped while the parasite works on.
	 */
	if (!ret)
		ret = track_take(ctx, t) ?: files_list_task(t, t->ctl->args->sock);
	if (!ret && ctx->mode->task_infected)
		ret = ctx->mode->task_infected(ctx, t);
	/* What follows needs ptrace stops: the target must not run the parasite. */
	if (parasite_cure(t->ctl))
		ret = -1;
	ctx->st.parasite_ns += now_ns() - t0;
	if (ret || unmap_stale_parasites(t) || dump_core(ctx, t) || dump_task_files(ctx, t))
		return -1;
	return ctx->mode->task_memory(ctx, t) || enter_syscall(ctx, t) ? -1 : 0;
}

/*
 * The whole tree is frozen. Shared memory is dealt with once the last task
 * has been through: no write to it, by whatever process, can reach the
 * image then.
 */
static int dump_tree(struct dump_ctx *ctx)
{
	int ret;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		t->pidfd = syscall(SYS_pidfd_open, t->pid, 0);
		if (t->pidfd < 0) {
			pr_perror("pid %d: pidfd_open", t->pid);
			return -1;
		}
		/* A task found only once frozen is prepared now. */
		if (dump_mode_prepare_task(ctx, t))
			return -1;
		ret = dump_frozen(ctx, t);
		if (t->ctl)
			parasite_free(t->ctl);
		t->ctl = NULL;
		if (ret)
			return -1;
	}
	return ctx->mode->tree_frozen(ctx);
}

/*
 * The tree is about to be killed: its TCP connections (listed by their
 * sockets' kind, and --lock-conn) are hidden from their peers until the
 * restore, then the network-lock hook runs. A dump with -R kills nothing,
 * so nothing is locked: no socket kind may list a connection then.
 */
static int take_lock(struct dump_ctx *ctx)
{
	const struct snap_opts *o = ctx->opts;
	size_t nr = ctx->nr_lock_conns + o->nr_lock_conns;
	struct netlock_conn *all = NULL;
	int ret;

	if (nr) {
		all = malloc(nr * sizeof(*all));
		if (!all) {
			pr_err("out of memory for %zu connections to lock", nr);
			return -1;
		}
		if (ctx->nr_lock_conns)
			memcpy(all, ctx->lock_conns, ctx->nr_lock_conns * sizeof(*all));
		memcpy(all + ctx->nr_lock_conns, o->lock_conns, o->nr_lock_conns * sizeof(*all));
	}
	/* In the tree's network namespace: its connections' packets go through there. */
	ret = net_ns_enter(ctx->netns);
	if (!ret) {
		ret = netlock_take(ctx->dirfd, o->images_dir, o->network_lock, ctx->tasks[0].pid,
				   all, nr, &ctx->netlock);
		if (net_ns_leave(ctx->netns))
			ret = -1;
	}
	free(all);
	ctx->nr_locked = ctx->nr_lock_conns;
	return ret;
}

/*
 * Right after the fd kinds' collect, before any socket is read: a peer's
 * data that came in after its connection's queues were read would be acked
 * by the kernel and missing from the image.
 */
static int lock_network(struct dump_ctx *ctx)
{
	const struct snap_opts *o = ctx->opts;

	if (o->leave_running) {
		if (!ctx->nr_lock_conns)
			return 0;
		pr_err("%zu TCP connections to lock in a dump that leaves the tree running",
		       ctx->nr_lock_conns);
		return -1;
	}
	if (take_lock(ctx) || action_run(o, ACT_NETWORK_LOCK, ctx->tasks[0].pid))
		return -1;
	ctx->network_locked = true;
	return 0;
}

/* netlock_undo() where the lock was taken; the lock may stay if snap cannot get there. */
static void undo_lock(struct dump_ctx *ctx)
{
	if (ctx->netlock && !net_ns_enter(ctx->netns)) {
		netlock_undo(ctx->dirfd, ctx->netlock);
		net_ns_leave(ctx->netns);
	} else {
		netlock_free(ctx->netlock);
	}
	ctx->netlock = NULL;
}

/* Connections the kinds met only while dumping (in flight, say): locked again with them. */
static int lock_late_conns(struct dump_ctx *ctx)
{
	if (ctx->opts->leave_running || ctx->nr_lock_conns == ctx->nr_locked)
		return 0;
	undo_lock(ctx);
	return take_lock(ctx);
}

/* A failed dump: the tree runs on, so nothing stays locked. */
static void unlock_network(struct dump_ctx *ctx)
{
	if (ctx->network_locked)
		action_run(ctx->opts, ACT_NETWORK_UNLOCK, ctx->tasks[0].pid);
	undo_lock(ctx);
}

/* Every image is written; a failing hook fails the dump, whose set must not look complete. */
static int post_dump(struct dump_ctx *ctx)
{
	if (!action_run(ctx->opts, ACT_POST_DUMP, ctx->tasks[0].pid))
		return 0;
	unlinkat(ctx->dirfd, "inventory.img", 0);
	return -1;
}

/*
 * The tree is released (killed, or running on): the pages held since the
 * freeze go to their images, then inventory.img. A killed tree cannot come
 * back if this fails.
 */
static int write_held(struct dump_ctx *ctx)
{
	uint64_t t0 = now_ns();

	ctx->st.pages_held = page_hold_pages(ctx->hold);
	if (!page_hold_write(ctx->hold) && !dump_write_inventory(ctx)) {
		ctx->st.held_write_ns = now_ns() - t0;
		return 0;
	}
	pr_err("pid %d: the tree was %s before its last pages were written: no image",
	       ctx->tasks[0].pid, ctx->opts->leave_running ? "released" :
				  ctx->opts->leave_stopped ? "left stopped" : "killed");
	return -1;
}

void dump_task_free(struct dump_task *t)
{
	track_task_free(t);
	vma_list_free(&t->vmas);
	vma_list_free(&t->vmas_hint);
	range_list_free(&t->swapped);
	free(t->fds);
	thread_state_free(t);
	free(t->threads);
	free(t->vtids);
	free(t->nspid);
	free(t->nstids);
	if (t->pidfd >= 0)
		close(t->pidfd);
}

static void free_tasks(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		dump_mode_free_task(ctx, &ctx->tasks[i]);
		dump_task_free(&ctx->tasks[i]);
	}
	free(ctx->tasks);
	if (ctx->mode && ctx->mode->free_tree)
		ctx->mode->free_tree(ctx);
}

/*
 * Live only makes sense when the task goes on running, and not on a
 * parent whose written pages are held (see cmd_dump()).
 */
static const struct dump_mode *choose_mode(const struct dump_ctx *ctx)
{
	const struct snap_opts *opts = ctx->opts;

	if (!opts->leave_running || opts->no_live)
		return &stw_dump_mode;
	if (ctx->hold) {
		pr_info("pid %d: on a parent, -R catches up and holds the pages written since, "
			"frozen; it is not a live dump", opts->pid);
		return &stw_dump_mode;
	}
	if (live_supported(ctx->kf))
		return &live_dump_mode;
	pr_info("this kernel cannot do a live dump; the dump is stop-the-world");
	return &stw_dump_mode;
}

int cmd_dump(const struct snap_opts *opts, const struct kfeat *kf)
{
	struct dump_ctx ctx = {
		.opts = opts,
		.kf = kf,
		.dirfd = -1,
	};
	struct dump_task *root;
	bool frozen = false, ok = false, killed = false;
	char lazy_name[PS_NAME_MAX];
	int lazy_lsk = -1;

	if (opts->leave_running && opts->leave_stopped) {
		pr_err("--leave-running and --leave-stopped: the tree either runs on or stays stopped");
		return -1;
	}
	ctx.st.t_start = now_ns();
	ctx.tasks = calloc(1, sizeof(*ctx.tasks));
	if (!ctx.tasks)
		return -1;
	ctx.nr_tasks = ctx.cap_tasks = 1;
	root = ctx.tasks;
	root->pid = opts->pid;
	root->pidfd = -1;
	/* --lazy-pages: a port taken fails the dump before the tree is touched. */
	if (opts->lazy_pages &&
	    (lazy_lsk = page_server_listen(opts, lazy_name, sizeof(lazy_name))) < 0)
		goto out;
	/*
	 * The slow read of the mappings (and the refusal of ones we cannot
	 * handle) happens before the freeze; frozen, a fast re-read checks it.
	 */
	if (seize_check(root) || parse_smaps(root->pid, &root->vmas_hint) ||
	    dump_open_images_dir(&ctx) || action_run(opts, ACT_PRE_DUMP, root->pid) ||
	    page_sinks_begin(&ctx, PAGE_SET_DUMP))
		goto out;
	if (opts->prev_images_dir &&
	    (track_check_kernel(kf, "dump --prev-images-dir") || track_parent_load(&ctx)))
		goto out;
	/*
	 * The pages written since the parent, caught up while the tree runs
	 * and held, leave the freeze shorter, whether the tree is killed or
	 * runs on. With -R a live dump would fork a holder, whose copy of the
	 * tracked page tables took 120-400 ms of a 1 GiB redis's freeze; the
	 * catch-up took 20-55 ms, 100-120 under a load that rewrites many
	 * pages all the time (benchmarks.md, "Pre-copy").
	 */
	if (ctx.parent && !ctx.xfer && !(ctx.hold = page_hold_new()))
		goto out;
	netlock_forget_old(ctx.dirfd, opts->images_dir);
	ctx.files = file_table_new();
	ctx.shmem = shmem_table_new();
	if (!ctx.files || !ctx.shmem)
		goto out;

	ctx.mode = choose_mode(&ctx);
	if (dump_mode_prepare_task(&ctx, root) || tree_prepare(&ctx))
		goto out;
	if (ctx.mode->prepare_tree)
		ctx.mode->prepare_tree(&ctx);
	/* Held pages: most of them copied while the tree still runs. */
	if (ctx.hold && track_catchup(&ctx))
		goto out;
	/* Frozen from the first task stopped. */
	frozen = true;
	ctx.st.t_frozen = now_ns();
	if (cgroup_freeze_seize(&ctx) || tree_seize(&ctx))
		goto out;

	if (net_ns_scope_open(ctx.tasks[0].pid, &ctx.netns) || files_collect(&ctx) ||
	    lock_network(&ctx) || dump_tree(&ctx) || dump_tree_wide(&ctx))
		goto out;
	/* A mode that saves pages while the tree runs lets it go first. */
	if (ctx.mode->tree_running) {
		ctx.st.t_release = now_ns();
		files_unfreeze(&ctx, false);
		tree_unseize(&ctx, false);
		frozen = false;
		ctx.st.t_unfrozen = now_ns();
		if (ctx.mode->tree_running(&ctx))
			goto out;
	}
	if (files_write(&ctx) || ns_write(&ctx) || tree_write(&ctx) || lock_late_conns(&ctx))
		goto out;
	/*
	 * The pages are acknowledged (a page server's included) before
	 * inventory.img; held pages are written once the tree is killed, and
	 * inventory.img after them, but the post-dump hook still runs frozen.
	 */
	if (ctx.hold ? action_run(opts, ACT_POST_DUMP, root->pid) :
		       page_sinks_end(&ctx) || dump_write_inventory(&ctx) || post_dump(&ctx))
		goto out;
	ok = true;
out:
	if (!ok)
		unlock_network(&ctx);
	page_sinks_cancel(&ctx);
	cgroup_freeze_release(&ctx);
	if (frozen) {
		/*
		 * The kinds learn first whether the tree runs on: a tree killed
		 * or left stopped keeps its connections in repair mode, so that
		 * its close, whenever it comes, tells the peer nothing.
		 */
		bool down = ok && !opts->leave_running;

		ctx.st.t_release = now_ns();
		killed = down && !opts->leave_stopped;
		files_unfreeze(&ctx, down);
		if (down && opts->leave_stopped)
			tree_unseize_stopped(&ctx);
		else
			tree_unseize(&ctx, killed);
		ctx.st.t_unfrozen = now_ns();
	}
	if (!ok)
		track_catchup_reset(&ctx);
	if (ok && ctx.hold && write_held(&ctx)) {
		ok = false;
		unlock_network(&ctx);
	}
	/*
	 * The frozen clock stopped at the SIGKILL: the tree cannot run again
	 * from there. The kernel tearing down its memory (held pages written
	 * meanwhile) is waited for here, before snap exits.
	 */
	if (frozen && killed) {
		uint64_t t0 = now_ns();

		tree_wait_killed(&ctx);
		ctx.st.kill_wait_ns = now_ns() - t0;
	}
	netlock_free(ctx.netlock);
	if (!ok)
		link_remap_undo(&ctx);
	link_remap_free(&ctx);
	/* The pages are in the image and no pipe holds them any more. */
	for (size_t i = 0; ok && !killed && i < ctx.nr_tasks; i++)
		if (!ctx.tasks[i].zombie)
			mem_pageout_swapped(&ctx, &ctx.tasks[i]);
	ctx.st.t_end = now_ns();
	if (ok && opts->display_stats)
		print_dump_stats(&ctx);
	/* The times in the log too: under RPC (runc) stdout goes nowhere. */
	if (ok)
		pr_info("dump of pid %d done (%zu processes): frozen %llu us, total %llu us",
			opts->pid, ctx.nr_tasks,
			(unsigned long long)(ctx.st.t_unfrozen - ctx.st.t_frozen) / 1000,
			(unsigned long long)(ctx.st.t_end - ctx.st.t_start) / 1000);
	if (ctx.files)
		file_table_free(ctx.files);
	shmem_table_free(ctx.shmem);
	ns_table_free(ctx.ns);
	net_ns_scope_free(ctx.netns);
	free_tasks(&ctx);
	tree_prepare_free(&ctx);
	track_catchup_free(&ctx);
	track_parent_free(&ctx);
	page_hold_free(ctx.hold);
	if (ctx.dirfd >= 0)
		close(ctx.dirfd);
	if (ok && lazy_lsk >= 0) {
		pr_info("dump of pid %d done: serving its pages to snap lazy-pages", opts->pid);
		return page_server_run(opts, lazy_lsk, lazy_name);
	}
	if (lazy_lsk >= 0)
		close(lazy_lsk);
	return ok ? 0 : -1;
}
