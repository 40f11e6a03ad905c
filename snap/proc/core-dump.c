// SPDX-License-Identifier: GPL-2.0
/*
 * Dump of a process's non-memory, non-file state into core-PID.img.
 * Per-thread state was collected by thread-dump.c; pending signals come
 * from PTRACE_PEEKSIGINFO, per thread and shared; sigactions, itimers and
 * limits from the parasite; the rest from /proc.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#include "proc/core-dump.h"
#include "image.h"
#include "infect.h"
#include "log.h"
#include "mem/ghost.h"
#include "proc/proc.h"
#include "proc/thread-dump.h"
#include "proc/procstate.h"
#include "proc/pstree.h"
#include "proc/sched.h"
#include "proc/seccomp.h"
#include "vpid.h"

#define SIGINFO_SIZE 128
#define MAX_PENDING 4096

/* What one ThreadCoreEntry points to. */
struct thread_buf {
	ThreadCoreEntry th;
	UserRegsEntry regs;
	SigaltstackEntry alt;
	RseqEntry rseq;
	ProtobufCBinaryData *pending;
	uint8_t *siginfo;
	struct seccomp_buf seccomp;
	struct sched_buf sched;
	CredsEntry creds;	/* when not the leader's */
	uint32_t groups[64];
};

/* Everything one CoreEntry points to, so it is freed in one go. */
struct core_buf {
	CoreEntry core;
	struct thread_buf *thb;
	ThreadCoreEntry **thp;
	size_t nr_threads;
	SigactionEntry sa[K_NSIG], *sap[K_NSIG];
	ItimerEntry it[3], *itp[3];
	RlimitEntry rl[K_RLIM_NLIMITS], *rlp[K_RLIM_NLIMITS];
	CredsEntry creds;
	uint32_t groups[64];
	MmInfoEntry mm;
	uint8_t auxv[1024];
	char cwd[PATH_MAX], root[PATH_MAX], exe[PATH_MAX];
	ProtobufCBinaryData *shared_pending;
	uint8_t *siginfo;		/* MAX_PENDING, for reading one queue */
	struct procstate_dump ps;
};

static void fill_regs(UserRegsEntry *r, const struct user_regs_struct *u)
{
	user_regs_entry__init(r);
	r->r15 = u->r15;
	r->r14 = u->r14;
	r->r13 = u->r13;
	r->r12 = u->r12;
	r->bp = u->rbp;
	r->bx = u->rbx;
	r->r11 = u->r11;
	r->r10 = u->r10;
	r->r9 = u->r9;
	r->r8 = u->r8;
	r->ax = u->rax;
	r->cx = u->rcx;
	r->dx = u->rdx;
	r->si = u->rsi;
	r->di = u->rdi;
	r->orig_ax = u->orig_rax;
	r->ip = u->rip;
	r->cs = u->cs;
	r->flags = u->eflags;
	r->sp = u->rsp;
	r->ss = u->ss;
	r->fs_base = u->fs_base;
	r->gs_base = u->gs_base;
	r->ds = u->ds;
	r->es = u->es;
	r->fs = u->fs;
	r->gs = u->gs;
}

/*
 * Pending signals of one queue (a thread's, or the shared one) via
 * PTRACE_PEEKSIGINFO, read into @buf (MAX_PENDING of them), kept in a copy
 * of their own in *@store that @out points into.
 */
static int peek_pending(pid_t pid, pid_t tid, bool shared, uint8_t *buf, uint8_t **store,
			ProtobufCBinaryData **out, size_t *nr)
{
	struct __ptrace_peeksiginfo_args a = {
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
	};
	long n;

	*nr = 0;
	for (;;) {
		a.off = *nr;
		a.nr = MAX_PENDING - *nr;
		if (!a.nr) {
			pr_err("pid %d: more than %d pending signals", pid, MAX_PENDING);
			return -1;
		}
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, buf + *nr * SIGINFO_SIZE);
		if (n < 0) {
			pr_perror("pid %d: cannot read pending signals of thread %d", pid, tid);
			return -1;
		}
		if (n == 0)
			break;
		*nr += n;
	}
	if (!*nr)
		return 0;
	*store = malloc(*nr * SIGINFO_SIZE);
	*out = calloc(*nr, sizeof(**out));
	if (!*store || !*out)
		return -1;
	memcpy(*store, buf, *nr * SIGINFO_SIZE);
	for (size_t i = 0; i < *nr; i++) {
		(*out)[i].data = *store + i * SIGINFO_SIZE;
		(*out)[i].len = SIGINFO_SIZE;
	}
	return 0;
}

/*
 * Credentials from a thread's /proc/TID/status @st, read frozen by
 * thread_collect() (groups into @groups), and @secbits.
 */
static void fill_creds(CredsEntry *c, uint32_t *groups, const struct proc_status *st,
		       uint32_t secbits)
{
	creds_entry__init(c);
	c->uid = st->uid[0];
	c->euid = st->uid[1];
	c->suid = st->uid[2];
	c->fsuid = st->uid[3];
	c->gid = st->gid[0];
	c->egid = st->gid[1];
	c->sgid = st->gid[2];
	c->fsgid = st->gid[3];
	memcpy(groups, st->groups, st->ngroups * sizeof(st->groups[0]));
	c->groups = groups;
	c->n_groups = st->ngroups;
	c->cap_inh = st->cap_inh;
	c->cap_prm = st->cap_prm;
	c->cap_eff = st->cap_eff;
	c->cap_bnd = st->cap_bnd;
	c->cap_amb = st->cap_amb;
	c->secbits = secbits;
}

static int fill_mm(struct core_buf *b, pid_t pid, const struct proc_stat *st)
{
	MmInfoEntry *m = &b->mm;
	char path[64];
	ssize_t n;
	FILE *f;

	mm_info_entry__init(m);
	m->start_code = st->start_code;
	m->end_code = st->end_code;
	m->start_data = st->start_data;
	m->end_data = st->end_data;
	m->start_brk = st->start_brk;
	m->start_stack = st->start_stack;
	m->arg_start = st->arg_start;
	m->arg_end = st->arg_end;
	m->env_start = st->env_start;
	m->env_end = st->env_end;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	n = fread(b->auxv, 1, sizeof(b->auxv), f);
	fclose(f);
	if (n <= 0 || n % 16) {
		pr_err("cannot read %s", path);
		return -1;
	}
	m->auxv.data = b->auxv;
	m->auxv.len = n;
	if (proc_readlink(pid, "exe", b->exe, sizeof(b->exe)))
		return -1;
	m->exe = b->exe;
	return 0;
}

static void fill_signals(struct core_buf *b, const struct parasite_misc *misc)
{
	int i;

	for (i = 0; i < K_NSIG; i++) {
		sigaction_entry__init(&b->sa[i]);
		b->sa[i].handler = misc->sa[i].handler;
		b->sa[i].flags = misc->sa[i].flags;
		b->sa[i].restorer = misc->sa[i].restorer;
		b->sa[i].mask = misc->sa[i].mask;
		b->sap[i] = &b->sa[i];
	}
	for (i = 0; i < 3; i++) {
		itimer_entry__init(&b->it[i]);
		b->it[i].interval_sec = misc->itimers[i].interval.sec;
		b->it[i].interval_usec = misc->itimers[i].interval.usec;
		b->it[i].value_sec = misc->itimers[i].value.sec;
		b->it[i].value_usec = misc->itimers[i].value.usec;
		b->itp[i] = &b->it[i];
	}
	for (i = 0; i < K_RLIM_NLIMITS; i++) {
		rlimit_entry__init(&b->rl[i]);
		b->rl[i].cur = misc->rlimits[i].cur;
		b->rl[i].max = misc->rlimits[i].max;
		b->rlp[i] = &b->rl[i];
	}
}

static int fill_thread(struct core_buf *b, const struct dump_task *t, size_t i,
		       struct thread_buf *tb)
{
	const struct thread_state *ts = &t->thr[i];
	pid_t pid = t->pid;
	ThreadCoreEntry *th = &tb->th;

	thread_core_entry__init(th);
	th->tid = dump_vtid(t, i);
	fill_regs(&tb->regs, &ts->regs);
	th->regs = &tb->regs;
	th->xsave.data = ts->xsave;
	th->xsave.len = ts->xsave_len;
	th->sigmask = ts->sigmask;
	if (peek_pending(pid, ts->tid, false, b->siginfo, &tb->siginfo, &th->pending,
			 &th->n_pending))
		return -1;
	tb->pending = th->pending;
	sigaltstack_entry__init(&tb->alt);
	tb->alt.sp = ts->altstack.ss_sp;
	tb->alt.flags = ts->altstack.ss_flags;
	tb->alt.size = ts->altstack.ss_size;
	th->altstack = &tb->alt;
	th->comm = (char *)ts->comm;
	if (ts->rseq.rseq_abi_pointer) {
		rseq_entry__init(&tb->rseq);
		tb->rseq.ptr = ts->rseq.rseq_abi_pointer;
		tb->rseq.len = ts->rseq.rseq_abi_size;
		tb->rseq.sig = ts->rseq.signature;
		th->rseq = &tb->rseq;
	}
	th->has_robust_list = th->has_robust_list_len = true;
	th->robust_list = ts->robust_list;
	th->robust_list_len = ts->robust_list_len;
	th->has_clear_tid_addr = true;
	th->clear_tid_addr = ts->clear_tid;
	if (!proc_same_creds(&t->thr[0].status, &ts->status)) {
		fill_creds(&tb->creds, tb->groups, &ts->status, b->creds.secbits);
		th->creds = &tb->creds;
		pr_debug("pid %d: thread %d has its own credentials: uid %u, effective "
			 "capabilities %#llx",
			 pid, ts->tid, tb->creds.uid, (unsigned long long)tb->creds.cap_eff);
	}
	/* Each its own: the kernel keeps seccomp, scheduling and creds per thread. */
	if (sched_dump(&tb->sched, pid, ts->tid, th))
		return -1;
	return seccomp_dump(&tb->seccomp, ts->tid, &ts->status, th);
}

static int fill_threads(struct core_buf *b, const struct dump_task *t)
{
	b->thb = calloc(t->nr_threads, sizeof(*b->thb));
	b->thp = calloc(t->nr_threads, sizeof(*b->thp));
	if (!b->thb || !b->thp)
		return -1;
	b->nr_threads = t->nr_threads;
	for (size_t i = 0; i < t->nr_threads; i++) {
		if (fill_thread(b, t, i, &b->thb[i]))
			return -1;
		/* Its tids below the root's pid namespace (ns/pid-nest.h). */
		b->thb[i].th.n_ns_tid = t->nest;
		b->thb[i].th.ns_tid = t->nest ? (uint32_t *)t->nstids + i * t->nest : NULL;
		b->thp[i] = &b->thb[i].th;
	}
	b->core.threads = b->thp;
	b->core.n_threads = t->nr_threads;
	return 0;
}

/*
 * The task's cwd or root (@name) into @buf (PATH_MAX). A directory removed
 * while the task is in it reads "PATH (deleted)": its path is kept without
 * that, and the directory is saved as a ghost (mem/ghost.h) whose id goes
 * into *@ghost; restore makes it again, enters it and removes it. A removed
 * root (@ghost NULL) is refused.
 */
static int fill_dir(struct dump_ctx *ctx, pid_t pid, const char *name, char *buf, uint32_t *ghost)
{
	char path[64], what[PATH_MAX + 64];
	struct stat st;
	int fd, ret = -1;

	if (proc_readlink(pid, name, buf, PATH_MAX))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("pid %d: cannot open its %s %s", pid, name, buf);
		goto out;
	}
	ret = 0;
	if (st.st_nlink)
		goto out;
	cut_deleted(buf);
	snprintf(what, sizeof(what), "pid %d %s (%s)", pid, name, buf);
	if (ghost) {
		ret = ghost_note(ctx, fd, what, ghost);
	} else {
		pr_err("%s: the directory was removed; not supported yet", what);
		ret = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static void core_buf_free(struct core_buf *b)
{
	for (size_t i = 0; b->thb && i < b->nr_threads; i++) {
		free(b->thb[i].pending);
		free(b->thb[i].siginfo);
		seccomp_buf_free(&b->thb[i].seccomp);
	}
	free(b->thb);
	free(b->thp);
	free(b->shared_pending);
	free(b->siginfo);
	procstate_free(&b->ps);
	free(b);
}

int dump_core(struct dump_ctx *ctx, struct dump_task *t)
{
	const struct parasite_misc *misc = &t->ctl->args->misc;
	struct proc_stat st;
	struct core_buf *b;
	uint8_t *shared_si = NULL;
	char pers[32];
	int ret = -1;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	b->siginfo = malloc(MAX_PENDING * SIGINFO_SIZE);
	if (!b->siginfo)
		goto out;
	if (parse_stat(t->pid, &st))
		goto out;

	core_entry__init(&b->core);
	b->core.pid = t->vpid;
	fill_creds(&b->creds, b->groups, &t->thr[0].status, misc->secbits);
	b->core.creds = &b->creds;
	pr_debug("pid %d: uid %u gid %u, effective capabilities %#llx", t->pid, b->creds.uid,
		 b->creds.gid, (unsigned long long)b->creds.cap_eff);
	if (fill_threads(b, t) || peek_pending(t->pid, t->pid, true, b->siginfo, &shared_si,
					       &b->shared_pending, &b->core.n_shared_pending))
		goto out;
	b->core.shared_pending = b->shared_pending;
	fill_signals(b, misc);

	b->core.sigactions = b->sap;
	b->core.n_sigactions = K_NSIG;
	b->core.itimers = b->itp;
	b->core.n_itimers = 3;
	b->core.rlimits = b->rlp;
	b->core.n_rlimits = K_RLIM_NLIMITS;
	b->core.umask = misc->umask;
	b->core.has_dumpable = true;
	b->core.dumpable = misc->dumpable;
	if (proc_read_file(t->pid, "personality", pers, sizeof(pers)) < 0)
		goto out;
	b->core.personality = strtoul(pers, NULL, 16);
	if (fill_dir(ctx, t->pid, "cwd", b->cwd, &b->core.cwd_ghost_id) ||
	    fill_dir(ctx, t->pid, "root", b->root, NULL))
		goto out;
	b->core.has_cwd_ghost_id = b->core.cwd_ghost_id;
	b->core.cwd = b->cwd;
	b->core.root = b->root;
	if (fill_mm(b, t->pid, &st))
		goto out;
	b->mm.brk = misc->brk;
	b->mm.has_mlock_future = misc->mlock_future != 0;
	b->mm.mlock_future = misc->mlock_future;
	b->mm.has_ksm_merge_any = b->mm.ksm_merge_any = misc->ksm_merge_any;
	b->core.mm = &b->mm;
	b->core.has_seccomp_per_thread = b->core.seccomp_per_thread = true;
	if (procstate_fill(&b->ps, misc, &b->core) || tree_check_stops(ctx, t))
		goto out;
	/* /proc/PID/timers names the thread a timer signals by its host tid. */
	for (size_t i = 0; i < b->core.n_posix_timers; i++)
		b->core.posix_timers[i]->notify_tid =
			dump_vpid(ctx, b->core.posix_timers[i]->notify_tid);
	ret = img_write_one(ctx->dirfd, IMG_CORE, t->vpid, &b->core.base);
out:
	free(shared_si);
	core_buf_free(b);
	return ret;
}
