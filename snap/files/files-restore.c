// SPDX-License-Identifier: GPL-2.0
/*
 * The fd table, restore side, in stages:
 *
 *  1. load (restore_load_files): files.img, each kind's side images, every
 *     entry checked by its kind, which also says where it is opened; or
 *     taken from one of snap's fds (--inherit-fd, files-inherit.c);
 *  2. in snap, before any process (files_open_all): every FD_IN_SNAP file
 *     opened and parked (files_park()) at the number the first task that
 *     holds it gives it where that is free, so that the processes inherit
 *     them, mostly in place, and fds of different processes that shared an
 *     open file description share it again; then each kind's all_opened()
 *     (queued messages that carry files: files in flight have ids but no
 *     fd of any task, and are opened here all the same);
 *  2b. in the tree's root, its namespaces restored, before its children
 *     (files_open_in_root): every FD_IN_ROOT file (paths of the tree's own
 *     mount namespace), inherited by the processes like snap's; then each
 *     kind's root_opened() (queues whose messages need the tree's
 *     namespaces, left by all_opened());
 *  3. in each restored process that owns its fd table (restore_task_fds):
 *     its FD_IN_TASK files opened, then every fd put at its number by a
 *     parallel move (files-install.c), in no more fd numbers than the
 *     task's highest fd and a few;
 *  4. still there, before the restorer (files_task_installed): each kind's
 *     per-fd step that needs the fds at their numbers.
 *
 * Stages 2 and 3 open in passes: a kind may answer FD_AGAIN until a file it
 * needs (a peer) is open; a pass that opens nothing is a cycle.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "files/files.h"
#include "files/files-locks.h"
#include "files/files-fown.h"
#include "files/files-table.h"
#include "image.h"
#include "log.h"
#include "ns/pid-nest.h"
#include "ns/net-ns.h"

static void *kind_st(const struct restore_ctx *ctx, size_t i)
{
	return ctx->files_st->kind_st[ctx->files_st->kind[i]];
}

static const struct fd_ops *kind_ops(const struct restore_ctx *ctx, size_t i)
{
	return fd_kinds[ctx->files_st->kind[i]];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Sort @v and drop repeats: the new count. */
static size_t sort_unique(size_t *v, size_t nr)
{
	size_t i, n = 0;

	qsort(v, nr, sizeof(*v), cmp_size);
	for (i = 0; i < nr; i++)
		if (!n || v[i] != v[n - 1])
			v[n++] = v[i];
	return n;
}

static int check_ids(const struct restore_ctx *ctx)
{
	uint32_t *ids;
	size_t i;
	int ret = 0;

	ids = malloc((ctx->nr_files + 1) * sizeof(*ids));
	if (!ids) {
		pr_err("files.img: out of memory");
		return -1;
	}
	for (i = 0; i < ctx->nr_files; i++)
		ids[i] = ctx->files[i]->id;
	qsort(ids, ctx->nr_files, sizeof(*ids), cmp_u32);
	for (i = 1; i < ctx->nr_files && !ret; i++) {
		if (ids[i] == ids[i - 1]) {
			pr_err("files.img: file id %u appears twice", ids[i]);
			ret = -1;
		}
	}
	free(ids);
	return ret;
}

/* Each entry to its kind: checked, its side images loaded, where it opens. */
static int check_files(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;

	if (check_ids(ctx))
		return -1;
	for (size_t i = 0; i < ctx->nr_files; i++) {
		const FileEntry *fe = ctx->files[i];
		int k = fd_kind_by_type(fe->type);

		if (k < 0) {
			pr_err("files.img: file id %u: unknown fd type %d", fe->id, fe->type);
			return -1;
		}
		st->kind[i] = k;
	}
	if (files_inherit_plan(ctx))
		return -1;
	for (size_t i = 0; i < ctx->nr_files; i++) {
		const FileEntry *fe = ctx->files[i];
		const struct fd_ops *ops = fd_kinds[st->kind[i]];

		if (files_fown_check(fe))
			return -1;
		/* Taken from the caller's fd: its kind neither checks nor opens it. */
		if (st->inherit[i] >= 0)
			continue;
		if (ops->prepare && ops->prepare(ctx, st->kind_st[st->kind[i]], fe))
			return -1;
		st->where[i] = ops->where ? ops->where(ctx, fe) : FD_IN_SNAP;
	}
	return 0;
}

static int check_task_fds(struct restore_ctx *ctx, const struct restore_task *t)
{
	uint32_t *fds;
	size_t i;
	int ret = -1;

	fds = malloc((t->nr_fds + 1) * sizeof(*fds));
	if (!fds) {
		pr_err("fdinfo-%d.img: out of memory", t->pid);
		return -1;
	}
	for (i = 0; i < t->nr_fds; i++) {
		const FdinfoEntry *fi = t->fds[i];

		if (files_index(ctx, fi->id) < 0) {
			pr_err("fdinfo-%d.img: fd %u refers to file id %u, which files.img does "
			       "not have",
			       t->pid, fi->fd, fi->id);
			goto out;
		}
		if (fi->flags & ~FD_CLOEXEC) {
			pr_err("fdinfo-%d.img: fd %u: unknown fd flags %#x", t->pid, fi->fd,
			       fi->flags);
			goto out;
		}
		if (fi->fd > INT32_MAX) {
			pr_err("fdinfo-%d.img: fd %u is out of range", t->pid, fi->fd);
			goto out;
		}
		fds[i] = fi->fd;
	}
	qsort(fds, t->nr_fds, sizeof(*fds), cmp_u32);
	for (i = 1; i < t->nr_fds; i++) {
		if (fds[i] == fds[i - 1]) {
			pr_err("fdinfo-%d.img: fd %u appears twice", t->pid, fds[i]);
			goto out;
		}
	}
	ret = 0;
out:
	free(fds);
	return ret;
}

static void state_free(struct files_restore_state *st)
{
	for (size_t k = 0; st->kind_st && k < nr_fd_kinds; k++)
		free(st->kind_st[k]);
	free(st->kind_st);
	free(st->uses);
	free(st->inherit);
	free(st->where);
	free(st->kind);
	free(st->fown_done);
	free(st->first_fd);
	free(st->fds);
	free(st);
}

static struct files_restore_state *state_new(size_t nr_files)
{
	struct files_restore_state *st = calloc(1, sizeof(*st));

	if (!st)
		goto oom;
	st->fds = malloc((nr_files + 1) * sizeof(*st->fds));
	st->first_fd = malloc((nr_files + 1) * sizeof(*st->first_fd));
	st->kind = calloc(nr_files + 1, sizeof(*st->kind));
	st->where = calloc(nr_files + 1, sizeof(*st->where));
	st->fown_done = calloc(nr_files + 1, sizeof(*st->fown_done));
	st->kind_st = calloc(nr_fd_kinds, sizeof(*st->kind_st));
	if (!st->fds || !st->first_fd || !st->kind || !st->where || !st->fown_done ||
	    !st->kind_st)
		goto oom;
	for (size_t i = 0; i < nr_files; i++)
		st->fds[i] = st->first_fd[i] = -1;
	st->max_target = st->top_fd = -1;
	for (size_t k = 0; k < nr_fd_kinds; k++) {
		if (!fd_kinds[k]->restore_state)
			continue;
		st->kind_st[k] = calloc(1, fd_kinds[k]->restore_state);
		if (!st->kind_st[k])
			goto oom;
	}
	return st;
oom:
	pr_err("out of memory for the file table");
	if (st)
		state_free(st);
	return NULL;
}

/*
 * Where snap parks each file: the first number the first task holding it
 * gives it (a task that shares its parent's fd table, CLONE_FILES, gives
 * none: its parent does). What no number takes goes above them all.
 */
static void plan_numbers(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];

		for (size_t j = 0; j < t->nr_fds; j++) {
			const FdinfoEntry *fi = t->fds[j];
			ssize_t idx = files_index(ctx, fi->id);

			if ((int)fi->fd > st->max_target)
				st->max_target = fi->fd;
			if (!t->pe->files_shared && st->first_fd[idx] < 0)
				st->first_fd[idx] = fi->fd;
		}
	}
}

int restore_load_files(struct restore_ctx *ctx)
{
	void **msgs;
	size_t i, nr;
	int ret;

	if (img_load_all(ctx->dirfd, IMG_FILES, 0, false, &msgs, &nr))
		return -1;
	ctx->files = (FileEntry **)msgs;
	ctx->nr_files = nr;
	ctx->files_st = state_new(nr);
	if (!ctx->files_st)
		return -1;
	for (size_t k = 0; k < nr_fd_kinds; k++)
		if (fd_kinds[k]->load && fd_kinds[k]->load(ctx, ctx->files_st->kind_st[k]))
			return -1;
	/* The kinds try their addresses on fresh sockets: in the tree's network namespace. */
	if (net_ns_enter(ctx->netns))
		return -1;
	ret = check_files(ctx);
	if (net_ns_leave(ctx->netns) || ret)
		return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (check_task_fds(ctx, &ctx->tasks[i]))
			return -1;
	plan_numbers(ctx);
	return file_locks_load(ctx, &ctx->files_st->locks);
}

static void opened_all(struct restore_ctx *ctx)
{
	for (size_t k = 0; k < nr_fd_kinds; k++)
		if (fd_kinds[k]->opened)
			fd_kinds[k]->opened(ctx, ctx->files_st->kind_st[k]);
}

void restore_files_free(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;

	if (!st)
		return;
	opened_all(ctx);
	files_close_all(ctx);
	for (size_t k = 0; k < nr_fd_kinds; k++)
		if (st->kind_st[k] && fd_kinds[k]->restore_free)
			fd_kinds[k]->restore_free(st->kind_st[k]);
	file_locks_rst_free(st->locks);
	state_free(st);
	ctx->files_st = NULL;
}

/*
 * Open ctx->files[@todo[]] (distinct positions) in passes, parked
 * (files_park()). Each pass asks every file not yet open; a file whose
 * kind answers FD_AGAIN is asked again in the next pass. -1 logged.
 */
static int open_staged(struct restore_ctx *ctx, size_t *todo, size_t nr)
{
	struct files_restore_state *st = ctx->files_st;
	size_t k, left;
	int fd;

	while (nr) {
		for (k = left = 0; k < nr; k++) {
			size_t i = todo[k];

			/* Given by a peer's open(). */
			if (st->fds[i] >= 0)
				continue;
			if (st->inherit[i] >= 0)
				fd = files_inherit_open(ctx, i);
			else
				fd = kind_ops(ctx, i)->open(ctx, kind_st(ctx, i), ctx->files[i]);
			if (fd == FD_AGAIN)
				todo[left++] = i;
			else if (fd < 0 || files_park(ctx, i, fd))
				return -1;
		}
		if (left == nr) {
			pr_err("files.img: file id %u (%s) cannot be opened: it waits for files "
			       "that wait for it (%zu files left unopened)",
			       ctx->files[todo[0]]->id, kind_ops(ctx, todo[0])->name, left);
			return -1;
		}
		nr = left;
	}
	return 0;
}

/*
 * The order snap opens its files in: highest first number first, what no
 * task holds last, else as in files.img. Whatever a kind opens for a moment
 * (or keeps until opened()) takes the lowest free numbers, which the files
 * opened last want: few files find theirs taken.
 */
struct open_order {
	int first_fd;
	size_t pos;
};

static int cmp_order(const void *a, const void *b)
{
	const struct open_order *x = a, *y = b;

	if (x->first_fd != y->first_fd)
		return x->first_fd < y->first_fd ? 1 : -1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

static size_t *snap_files_in_order(const struct restore_ctx *ctx, size_t *nr)
{
	const struct files_restore_state *st = ctx->files_st;
	struct open_order *o = malloc((ctx->nr_files + 1) * sizeof(*o));
	size_t *todo = malloc((ctx->nr_files + 1) * sizeof(*todo));

	*nr = 0;
	if (!o || !todo) {
		pr_err("out of memory for the file table");
		free(todo);
		todo = NULL;
		goto out;
	}
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (st->where[i] == FD_IN_SNAP)
			o[(*nr)++] = (struct open_order){ st->first_fd[i], i };
	qsort(o, *nr, sizeof(*o), cmp_order);
	for (size_t k = 0; k < *nr; k++)
		todo[k] = o[k].pos;
out:
	free(o);
	return todo;
}

/*
 * Once the kinds dropped what they kept (opened()), the numbers they held
 * are free: files parked out of the way because of them go to theirs.
 */
static void park_again(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;
	unsigned char *taken = calloc(st->max_target + 2, 1);

	if (!taken)
		return;
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (st->fds[i] >= 0 && st->fds[i] <= st->max_target)
			taken[st->fds[i]] = 1;
	for (size_t i = 0; i < ctx->nr_files; i++) {
		int want = st->first_fd[i], fd;

		if (st->fds[i] < 0 || want < 0 || st->fds[i] == want || taken[want])
			continue;
		fd = fcntl(st->fds[i], F_DUPFD_CLOEXEC, want);
		if (fd == want) {
			close(st->fds[i]);
			st->fds[i] = fd;
			taken[want] = 1;
		} else if (fd >= 0) {
			close(fd);
		}
	}
	free(taken);
}

static int open_all(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;
	size_t *todo, nr, nr_away = 0;
	int ret;

	todo = snap_files_in_order(ctx, &nr);
	if (!todo)
		return -1;
	st->park_base = st->max_target + 1;
	st->park_at_target = true;
	ret = open_staged(ctx, todo, nr);
	free(todo);
	for (size_t k = 0; k < nr_fd_kinds && !ret; k++)
		if (fd_kinds[k]->all_opened)
			ret = fd_kinds[k]->all_opened(ctx, st->kind_st[k]);
	opened_all(ctx);
	if (ret) {
		files_close_all(ctx);
		return -1;
	}
	park_again(ctx);
	for (size_t i = 0; i < ctx->nr_files; i++) {
		if (st->fds[i] > st->top_fd)
			st->top_fd = st->fds[i];
		if (st->fds[i] >= 0 && st->fds[i] != st->first_fd[i])
			nr_away++;
	}
	pr_debug("files: %zu opened in snap, %zu away from their first number, highest fd %d",
		 nr, nr_away, st->top_fd);
	st->opened = true;
	return 0;
}

/*
 * A socket belongs to the network namespace of the thread that makes it:
 * snap makes the tree's inside the tree's (ns/net-ns.h), and works on them
 * there (raw sockets that inject packets, the kinds' all_opened()).
 */
int files_open_all(struct restore_ctx *ctx)
{
	int ret;

	if (net_ns_enter(ctx->netns))
		return -1;
	ret = open_all(ctx);
	if (net_ns_leave(ctx->netns) && !ret) {
		files_close_all(ctx);
		ret = -1;
	}
	return ret;
}

int files_fd_ceiling(const struct restore_ctx *ctx)
{
	const struct files_restore_state *st = ctx->files_st;

	return (st->top_fd > st->max_target ? st->top_fd : st->max_target) + 1;
}

void files_close_all(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;

	if (!st)
		return;
	for (size_t i = 0; i < ctx->nr_files; i++) {
		if (st->fds[i] >= 0)
			close(st->fds[i]);
		st->fds[i] = -1;
	}
	for (size_t k = 0; k < nr_fd_kinds; k++)
		if (fd_kinds[k]->handed_over)
			fd_kinds[k]->handed_over(ctx, st->kind_st[k]);
}

/* In the task: its own FD_IN_TASK files, parked above service_base. */
static int open_task_files(struct restore_ctx *ctx, const struct restore_task *t)
{
	struct files_restore_state *st = ctx->files_st;
	size_t *todo, nr = 0;
	int ret;

	todo = malloc((t->nr_fds + 1) * sizeof(*todo));
	if (!todo) {
		pr_err("pid %d: out of memory for the fd table", t->pid);
		return -1;
	}
	for (size_t i = 0; i < t->nr_fds; i++) {
		size_t idx = files_index(ctx, t->fds[i]->id);

		if (st->where[idx] == FD_IN_TASK)
			todo[nr++] = idx;
	}
	/* Once each, however many fds share it. */
	nr = sort_unique(todo, nr);
	ret = open_staged(ctx, todo, nr);
	free(todo);
	if (nr)
		opened_all(ctx);
	return ret;
}

int files_open_in_root(struct restore_ctx *ctx, int service_base)
{
	struct files_restore_state *st = ctx->files_st;
	size_t *todo, nr = 0;
	int ret;

	todo = malloc((ctx->nr_files + 1) * sizeof(*todo));
	if (!todo) {
		pr_err("out of memory for the file table");
		return -1;
	}
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (st->where[i] == FD_IN_ROOT)
			todo[nr++] = i;
	/* Above the restore pipes prepare_fds() puts at service_base and one above. */
	st->park_base = service_base + 2;
	st->park_at_target = false;
	ret = open_staged(ctx, todo, nr);
	free(todo);
	for (size_t k = 0; k < nr_fd_kinds && !ret; k++)
		if (fd_kinds[k]->root_opened)
			ret = fd_kinds[k]->root_opened(ctx, st->kind_st[k]);
	if (nr)
		opened_all(ctx);
	if (!ret && nr)
		pr_debug("files: %zu opened in the tree's root", nr);
	return ret;
}

int restore_task_fds(struct restore_ctx *ctx, struct restore_task *t, int service_base)
{
	struct files_restore_state *st = ctx->files_st;

	if (!st || !st->opened) {
		pr_err("pid %d: restoring fds before the files were opened", t->pid);
		return -1;
	}
	/* Below service_base, every number may be one of the task's. */
	st->park_base = service_base + 2;
	st->park_at_target = false;
	st->task = t;
	if (open_task_files(ctx, t))
		return -1;
	return files_install(ctx, t, service_base);
}

int files_task_installed(struct restore_ctx *ctx, const struct restore_task *t)
{
	for (size_t i = 0; i < t->nr_fds; i++) {
		const FdinfoEntry *fi = t->fds[i];
		ssize_t idx = files_index(ctx, fi->id);
		const struct fd_ops *ops = kind_ops(ctx, idx);

		if (ops->installed && ctx->files_st->inherit[idx] < 0 &&
		    ops->installed(ctx, kind_st(ctx, idx), t, fi->fd, ctx->files[idx]))
			return -1;
	}
	return file_locks_installed(ctx, ctx->files_st->locks, t);
}

int files_mapped_locks(const struct restore_ctx *ctx, const struct restore_task *t,
		       const VmaEntry *v, int fd)
{
	return file_locks_mapped(ctx, ctx->files_st->locks, t, v, fd);
}

int files_tree_restored(struct restore_ctx *ctx)
{
	struct files_restore_state *st = ctx->files_st;
	int ret = 0;

	if (net_ns_enter(ctx->netns))
		return -1;
	for (size_t k = 0; st && k < nr_fd_kinds && !ret; k++)
		if (fd_kinds[k]->tree_restored)
			ret = fd_kinds[k]->tree_restored(ctx, st->kind_st[k]);
	return net_ns_leave(ctx->netns) || ret ? -1 : 0;
}

int files_task_finish(struct restore_ctx *ctx, const struct restore_task *t,
		      struct task_syscall *ts)
{
	struct files_restore_state *st = ctx->files_st;

	if (file_locks_finish(ctx, st->locks, t, ts))
		return -1;
	/* A file's SIGIO owner is set once, through the first task holding it. */
	for (size_t i = 0; i < t->nr_fds; i++) {
		const FdinfoEntry *fi = t->fds[i];
		ssize_t idx = files_index(ctx, fi->id);
		const FownEntry *fo = ctx->files[idx]->fown;

		if (!fo || st->fown_done[idx])
			continue;
		st->fown_done[idx] = 1;
		/* In a nested pid namespace, as the task sees it (ns/pid-nest.h). */
		if (files_fown_restore(t, fi->fd, fo, pidns_rst_pid_seen(ctx, t, fo->pid), ts))
			return -1;
	}
	return 0;
}
