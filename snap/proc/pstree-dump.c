// SPDX-License-Identifier: GPL-2.0
/*
 * The dumped tree, found from the root down while it freezes. A task's
 * children are listed only once the task is stopped, so it cannot add any
 * behind our back; a child that exits meanwhile is a zombie (its frozen
 * parent cannot reap it) or gone (auto-reaped), and is taken as such.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "infect.h"
#include "log.h"
#include "mem/dump-mode.h"
#include "proc/proc.h"
#include "proc/pstree.h"
#include "proc/seize.h"
#include "ns/pid-nest.h"
#include "vpid.h"

static struct dump_task *find_task(struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

/* A child of tasks[@parent]: appended, unless it is gone already. */
static int add_child(struct dump_ctx *ctx, pid_t pid, size_t parent)
{
	struct dump_task *t;
	struct proc_stat st;

	if (proc_read_stat(pid, &st))
		return 0;
	if (st.state == 't' && !seized_by_us(pid)) {
		pr_err("pid %d (%s), a child of %d, is traced by another process; cannot dump it",
		       pid, st.comm, ctx->tasks[parent].pid);
		return -1;
	}
	if (st.state != 'Z' && seize_check_ns(pid, ctx->tasks[0].pid))
		return -1;
	if (ctx->nr_tasks == ctx->cap_tasks) {
		size_t cap = ctx->cap_tasks ? 2 * ctx->cap_tasks : 16;

		t = realloc(ctx->tasks, cap * sizeof(*t));
		if (!t) {
			pr_err("out of memory for the process tree");
			return -1;
		}
		ctx->tasks = t;
		ctx->cap_tasks = cap;
	}
	t = &ctx->tasks[ctx->nr_tasks++];
	*t = (struct dump_task){
		.pid = pid,
		.ppid = ctx->tasks[parent].pid,
		.pgid = st.pgid,
		.sid = st.sid,
		.zombie = st.state == 'Z',
		.stopped = st.state == 'T',
		.exit_status = st.exit_code,
		.pidfd = -1,
	};
	for (size_t i = 0; i < ctx->nr_hints && !t->zombie; i++)
		if (ctx->hints[i].pid == pid) {
			t->vmas_hint = ctx->hints[i].vmas_hint;
			t->ld = ctx->hints[i].ld;
			ctx->hints[i].vmas_hint = (struct vma_list){ 0 };
			ctx->hints[i].ld = NULL;
		}
	return 0;
}

/* A thread's children file into @buf; a thread that exited meanwhile has none. */
static int read_children(const char *path, char *buf, size_t size)
{
	if (read_small_file(path, buf, size) >= 0)
		return 0;
	buf[0] = '\0';
	if (errno == ENOENT || errno == ESRCH)
		return 0;
	pr_perror("cannot read %s", path);
	return -1;
}

/* Children of every thread of @pid, in *@out (malloc'd). */
static int list_children(pid_t pid, pid_t **out, size_t *nr)
{
	char path[300], buf[4096];
	size_t cap = 0;
	struct dirent *de;
	int ret = 0;
	DIR *d;

	*out = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	/* Gone (before the freeze, a child may exit): no children. */
	if (!d && errno == ENOENT)
		return 0;
	if (!d) {
		pr_perror("cannot list %s", path);
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		char *p, *end;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", pid, de->d_name);
		if (read_children(path, buf, sizeof(buf))) {
			ret = -1;
			break;
		}
		if (strlen(buf) == sizeof(buf) - 1) {
			pr_err("pid %d has too many children", pid);
			ret = -1;
			break;
		}
		for (p = buf;; p = end) {
			long c = strtol(p, &end, 10);
			pid_t *n;

			if (end == p)
				break;
			if (*nr == cap) {
				cap = cap ? 2 * cap : 16;
				n = realloc(*out, cap * sizeof(*n));
				if (!n) {
					pr_err("out of memory for the process tree");
					ret = -1;
					break;
				}
				*out = n;
			}
			(*out)[(*nr)++] = c;
		}
	}
	closedir(d);
	return ret;
}

static int add_children(struct dump_ctx *ctx, size_t parent)
{
	pid_t *kids;
	size_t nr;
	int ret;

	ret = list_children(ctx->tasks[parent].pid, &kids, &nr);
	for (size_t i = 0; !ret && i < nr; i++)
		ret = add_child(ctx, kids[i], parent);
	free(kids);
	return ret;
}

/*
 * Before the freeze, the slow part for every process below the root: its
 * mappings read from smaps, its live pipes made. The tree may change until
 * it is frozen; add_child() takes what matches by pid, and what is new is
 * read frozen.
 */
int tree_prepare(struct dump_ctx *ctx)
{
	size_t i = 0, j, nr;
	pid_t *kids;

	for (pid_t pid = ctx->tasks[0].pid;; pid = ctx->hints[i++].pid) {
		if (list_children(pid, &kids, &nr))
			return -1;
		for (j = 0; j < nr; j++) {
			struct dump_task *h = realloc(ctx->hints, (ctx->nr_hints + 1) * sizeof(*h));
			struct proc_stat st;

			if (!h) {
				pr_err("out of memory for the process tree");
				free(kids);
				return -1;
			}
			ctx->hints = h;
			if (proc_read_stat(kids[j], &st) || st.state == 'Z' || st.state == 'X')
				continue;
			h = &ctx->hints[ctx->nr_hints++];
			*h = (struct dump_task){ .pid = kids[j], .pidfd = -1 };
			if (parse_smaps(h->pid, &h->vmas_hint) || dump_mode_prepare_task(ctx, h)) {
				/* Only a child still there is refused; one that exited is not. */
				if (!proc_read_stat(kids[j], &st) && st.state != 'Z' &&
				    st.state != 'X') {
					free(kids);
					return -1;
				}
				vma_list_free(&h->vmas_hint);
				dump_mode_free_task(ctx, h);
				ctx->nr_hints--;
			}
		}
		free(kids);
		if (i == ctx->nr_hints)
			return 0;
	}
}

void tree_prepare_free(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_hints; i++) {
		vma_list_free(&ctx->hints[i].vmas_hint);
		dump_mode_free_task(ctx, &ctx->hints[i]);
	}
	free(ctx->hints);
}

/* Some thread of the tree has id @id. */
static bool tid_taken(const struct dump_ctx *ctx, pid_t id)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (size_t k = 0; k < ctx->tasks[i].nr_threads; k++)
			if (ctx->tasks[i].threads[k] == id)
				return true;
	return false;
}

/*
 * @t is a top of the session (@session) or group @id its parent is not in,
 * whose leader is gone or is a zombie. The restore makes it, with
 * CLONE_PARENT, from a process in that session or group: the leader if it
 * is a sibling of @t (alive or a zombie), else a short-lived helper with the
 * leader's pid, made by @t's parent (restore-task.c). So every such top must
 * have the same parent, and the helper's pid must be free in the tree.
 */
static int check_top(struct dump_ctx *ctx, const struct dump_task *t, pid_t id, bool session)
{
	const char *what = session ? "session" : "process group";
	const struct dump_task *leader = find_task(ctx, id);

	if (leader && leader->ppid != t->ppid) {
		pr_err("pid %d: its %s %d is not its parent's, and its leader is not its sibling; "
		       "cannot dump it",
		       t->pid, what, id);
		return -1;
	}
	if (!leader && tid_taken(ctx, id)) {
		pr_err("pid %d: its %s %d has no leader, and a thread of the tree has that id; "
		       "cannot dump it",
		       t->pid, what, id);
		return -1;
	}
	if (t->shares_files || t->shares_fs) {
		pr_err("pid %d: its %s %d is not its parent's, and it shares its fd table or cwd "
		       "with its parent; cannot dump it",
		       t->pid, what, id);
		return -1;
	}
	for (size_t j = 1; j < ctx->nr_tasks; j++) {
		const struct dump_task *o = &ctx->tasks[j], *op = find_task(ctx, o->ppid);
		bool top = session ? o->sid == id && op->sid != id :
				     o->pgid == id && op->pgid != id && o->pid != id;

		if (top && o->ppid != t->ppid) {
			pr_err("pid %d: its %s %d has members under another parent, pid %d, and no "
			       "leader to make them; cannot dump it",
			       t->pid, what, id, o->pid);
			return -1;
		}
	}
	return 0;
}

/*
 * A process can only be made in the session it is born in or in one of its
 * own (setsid), and can only join a group of its session that exists: refuse
 * what a restore could not build. A session or group not its parent's whose
 * leader has exited the restore rebuilds (check_top()).
 */
static int check_ids(struct dump_ctx *ctx)
{
	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i], *parent = find_task(ctx, t->ppid);
		struct dump_task *leader = find_task(ctx, t->pgid);
		bool new_session = t->sid != t->pid && t->sid != parent->sid;

		if (new_session && check_top(ctx, t, t->sid, true))
			return -1;
		if (t->pgid == t->pid || t->pgid == parent->pgid || (new_session && t->pgid == t->sid))
			continue;
		if (leader && leader->sid != t->sid) {
			pr_err("pid %d: its process group %d is led by pid %d of another session; "
			       "cannot dump it",
			       t->pid, t->pgid, leader->pid);
			return -1;
		}
		/* A leader in the tree makes the group: the others join it (join_group()). */
		if (leader)
			continue;
		if (new_session) {
			pr_err("pid %d: its process group %d has no leader, in a session %d that is "
			       "not its parent's; cannot dump it",
			       t->pid, t->pgid, t->sid);
			return -1;
		}
		if (check_top(ctx, t, t->pgid, false))
			return -1;
	}
	return 0;
}

/* 0: @a and @b share their @type (KCMP_FILES, KCMP_FS); 1: they do not; -1 logged. */
static int shares(pid_t a, pid_t b, int type)
{
	long r = syscall(SYS_kcmp, a, b, type, 0, 0);

	if (r < 0)
		pr_perror("kcmp of pids %d and %d", a, b);
	return r < 0 ? -1 : r != 0;
}

/*
 * @t shares its fd table with @o, its sibling made before it, and not with
 * their parent: the restore has the table's first user among the siblings
 * make the others with CLONE_FILES | CLONE_PARENT (restore-task.c), so they
 * are born in its session and group.
 */
static int share_sibling_files(struct dump_task *t, const struct dump_task *o)
{
	pid_t owner = o->files_owner ? o->files_owner : o->pid;

	if (t->files_owner && t->files_owner != owner)
		return 0;
	if (t->sid != o->sid || (t->pgid != o->pgid && t->pgid != t->pid)) {
		pr_err("pid %d shares its fd table with its sibling %d, in another session or "
		       "process group; cannot dump it",
		       t->pid, o->pid);
		return -1;
	}
	t->shares_files = true;
	t->files_owner = owner;
	return 0;
}

/*
 * An fd table or fs context (cwd, root, umask) shared through CLONE_FILES or
 * CLONE_FS is made again by the restore the same way, so only sharing with
 * the parent can come back, and an fd table shared between siblings only.
 */
static int find_shared(struct dump_ctx *ctx)
{
	static const struct {
		int type;
		const char *what;
	} kinds[] = { { KCMP_FILES, "fd table" }, { KCMP_FS, "cwd and root" } };
	char root[8];	/* a longer root is not "/": cut short, it still differs */

	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		for (size_t k = 0; k < ARRAY_SIZE(kinds) && !t->zombie; k++) {
			bool files = kinds[k].type == KCMP_FILES;

			for (size_t j = 0; j < i; j++) {
				struct dump_task *o = &ctx->tasks[j];
				int r;

				if (o->zombie)
					continue;
				r = shares(o->pid, t->pid, kinds[k].type);
				if (r < 0)
					return -1;
				if (r)
					continue;
				if (files && o->ppid == t->ppid) {
					if (!o->shares_files || o->files_owner) {
						if (share_sibling_files(t, o))
							return -1;
						continue;
					}
					/* Its parent's table, which @t has too: see below. */
					continue;
				}
				if (o->pid != t->ppid) {
					pr_err("pid %d shares its %s with pid %d, which is not its "
					       "parent; cannot dump it",
					       t->pid, kinds[k].what, o->pid);
					return -1;
				}
				if (files) {
					t->shares_files = true;
					t->files_owner = 0;
				} else {
					t->shares_fs = true;
				}
			}
		}
		if (t->files_owner && t->shares_fs) {
			pr_err("pid %d shares its fd table with its sibling %d and its cwd with its "
			       "parent; cannot dump it",
			       t->pid, t->files_owner);
			return -1;
		}
		/* A child sharing them is made after its parent's chroot(): see restore.c. */
		if ((t->shares_fs || t->shares_files) &&
		    (proc_readlink(t->pid, "root", root, sizeof(root)) || strcmp(root, "/"))) {
			pr_err("pid %d shares its fd table or cwd with its parent inside a chroot; "
			       "cannot dump it",
			       t->pid);
			return -1;
		}
	}
	return 0;
}

/*
 * Whether @parent (frozen, its parasite gone) has collected the stop of each
 * stopped child with waitpid(WUNTRACED). Only the parent can ask, and asking
 * must not collect it: waitid(WSTOPPED | WNOWAIT | WNOHANG) with no siginfo
 * and, for rusage, an address the kernel refuses to write (non-canonical).
 * The rusage is written only when there is a stop to report: -EFAULT says
 * there is one, 0 that there is none; nothing of the task is touched.
 */
int tree_check_stops(struct dump_ctx *ctx, struct dump_task *parent)
{
	const long no_rusage = 1L << 62;

	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		struct dump_task *c = &ctx->tasks[i];
		long ret;

		if (c->ppid != parent->pid || !c->stopped)
			continue;
		/* Run in the parent: the child's pid as its pid namespace sees it. */
		if (infect_syscall(parent->ctl, &ret, __NR_waitid, P_PID,
				   pidns_nest_pid_seen(parent, c), 0,
				   WSTOPPED | WNOWAIT | WNOHANG, no_rusage, 0))
			return -1;
		if (ret != 0 && ret != -EFAULT) {
			pr_err("pid %d: cannot ask whether its stopped child %d was waited for: %s",
			       parent->pid, c->pid, strerror(-ret));
			return -1;
		}
		c->stop_waited = !ret;
		pr_debug("pid %d: stopped by signal %d, %s by its parent", c->pid, c->stop_signo,
			 ret ? "not yet waited for" : "waited for");
	}
	return 0;
}

int tree_seize(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		if (seize_task(t)) {
			struct proc_stat st;

			if (errno != ESRCH)
				return -1;
			if (!i) {
				pr_err("pid %d exited while being frozen", t->pid);
				return -1;
			}
			/* Exited since its parent froze: a zombie now, or reaped. */
			if (!proc_read_stat(t->pid, &st) && st.state == 'Z') {
				t->zombie = true;
				t->exit_status = st.exit_code;
			} else {
				memmove(t, t + 1, (ctx->nr_tasks - i - 1) * sizeof(*t));
				ctx->nr_tasks--;
				i--;
			}
			continue;
		}
		t->seized = true;
		if (add_children(ctx, i))
			return -1;
	}
	/* check_ids() needs to know who shares what. */
	return tree_vpids(ctx) || find_shared(ctx) || check_ids(ctx) ? -1 : 0;
}

/*
 * A thread killed while snap traced it could not be detached: its exit is
 * reported to snap, which must collect it before its parent can (and a pid
 * namespace's init waits for every task of it). @tids: those not collected
 * yet, 0 once done. Whether some are left.
 */
static bool reap_traced(pid_t *tids, size_t nr)
{
	bool left = false;

	for (size_t i = 0; i < nr; i++) {
		pid_t r = tids[i] ? waitpid(tids[i], NULL, __WALL | WNOHANG) : -1;

		if (r == 0)
			left = true;
		else if (r > 0 || errno == ECHILD)
			tids[i] = 0;
	}
	return left;
}

/*
 * Killed tasks are gone (zombies at most) once collected and their pidfds
 * read: the caller may look at once (runc destroys the container right after
 * the dump, and refuses one whose init still runs; a restore right after
 * needs the pids free).
 */
void tree_wait_killed(const struct dump_ctx *ctx)
{
	uint64_t deadline = now_ns() + 5000000000ULL;
	struct pollfd pfd = { .events = POLLIN };
	size_t nr = 0;
	pid_t *tids;

	for (size_t i = 0; i < ctx->nr_tasks; i++)
		nr += ctx->tasks[i].zombie ? 0 : ctx->tasks[i].nr_threads;
	tids = malloc((nr + 1) * sizeof(*tids));
	if (!tids)
		return;
	nr = 0;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (size_t j = 0; !ctx->tasks[i].zombie && j < ctx->tasks[i].nr_threads; j++)
			tids[nr++] = ctx->tasks[i].threads[j];
	while (reap_traced(tids, nr) && now_ns() < deadline)
		usleep(1000);
	free(tids);
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];
		uint64_t now = now_ns();

		pfd.fd = t->pidfd;
		if (t->pidfd < 0 || t->zombie)
			continue;
		if (now >= deadline || poll(&pfd, 1, (deadline - now) / 1000000 + 1) <= 0) {
			pr_warn("pid %d: killed, but still not gone", t->pid);
			return;
		}
	}
}

void tree_unseize(struct dump_ctx *ctx, bool kill_all)
{
	size_t i;

	/* Killed first, all of them: no task runs on while others die. */
	for (i = 0; kill_all && i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].seized)
			kill(ctx->tasks[i].pid, SIGKILL);
	/* Killed, a stopped task is not waited for in its stop again. */
	for (i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].seized) {
			unseize_task(&ctx->tasks[i], kill_all);
			ctx->tasks[i].seized = false;
		}
}

void tree_unseize_stopped(struct dump_ctx *ctx)
{
	size_t i;

	/*
	 * Queued while traced, each task takes it once detached: its threads
	 * stop where the dump found them, a syscall they were in restarts
	 * on SIGCONT. A task already stopped stays in its own stop.
	 */
	for (i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].seized && !ctx->tasks[i].stopped)
			kill(ctx->tasks[i].pid, SIGSTOP);
	tree_unseize(ctx, false);
	for (i = 0; i < ctx->nr_tasks; i++)
		for (size_t j = 0; !ctx->tasks[i].zombie && j < ctx->tasks[i].nr_threads; j++)
			proc_wait_stopped(ctx->tasks[i].pid, ctx->tasks[i].threads[j]);
}

int tree_write(struct dump_ctx *ctx)
{
	struct image *img = img_open_write(ctx->dirfd, IMG_PSTREE, 0);
	int ret = 0;

	if (!img)
		return -1;
	/* The pids as the tree's pid namespace sees them (proc/vpid.h). */
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++) {
		struct dump_task *t = &ctx->tasks[i];
		PstreeEntry pe = PSTREE_ENTRY__INIT;

		pe.pid = t->vpid;
		pe.ppid = dump_vpid(ctx, t->ppid);
		pe.pgid = t->vpgid;
		pe.sid = t->vsid;
		pe.threads = (uint32_t *)(t->vtids ? t->vtids : t->threads);
		pe.n_threads = t->nr_threads;
		pe.has_state = true;
		pe.state = t->zombie ? TASK_STATE__TASK_ZOMBIE :
			   t->stopped ? TASK_STATE__TASK_STOPPED : TASK_STATE__TASK_ALIVE;
		pe.has_files_shared = pe.files_shared = t->shares_files;
		pe.has_files_owner = t->files_owner != 0;
		pe.files_owner = dump_vpid(ctx, t->files_owner);
		pe.has_fs_shared = pe.fs_shared = t->shares_fs;
		pe.has_stop_signo = pe.has_stop_waited = t->stopped;
		pe.stop_signo = t->stop_signo;
		pe.stop_waited = t->stop_waited;
		pe.has_exit_status = t->zombie;
		pe.exit_status = t->exit_status;
		pe.ns = t->ns_ids;
		pe.n_ns_pid = t->nest;
		pe.ns_pid = (uint32_t *)t->nspid;
		ret = img_write(img, &pe.base);
	}
	if (img_close(img))
		ret = -1;
	return ret;
}
