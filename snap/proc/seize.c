// SPDX-License-Identifier: GPL-2.0
/*
 * Freezing. A task is seized (PTRACE_SEIZE, no signal sent, nothing visible
 * to the task) and stopped with PTRACE_INTERRUPT, every thread of it. A task
 * in a job-control stop is seized the same way and is back in it once
 * detached: the kernel keeps the group stop in effect until a SIGCONT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infect.h"
#include "log.h"
#include "ns/ns.h"
#include "ns/ns-kind.h"
#include "proc/proc.h"
#include "proc/seccomp.h"
#include "proc/seize.h"
#include "proc/syscall-restart.h"
#include "proc/thread-dump.h"

/* Whether a thread has exited (a dead thread cannot be seized: EPERM). */
static bool thread_gone(pid_t tid)
{
	struct proc_stat st;

	return proc_read_stat(tid, &st) || st.state == 'Z' || st.state == 'X';
}

bool seized_by_us(pid_t tid)
{
	char path[64], line[128];
	bool ours = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "TracerPid:", 10)) {
			ours = atoi(line + 10) == getpid();
			break;
		}
	fclose(f);
	return ours;
}

/*
 * The root's namespaces may differ from snap's in the kinds snap restores
 * (ns/ns-kind.h); where its children would go (pid and time, after an
 * unshare() without a fork yet) must be where it lives: restore gives a
 * process one set of namespaces.
 */
static int check_root_ns(pid_t pid, const struct ns_set *ours, const struct ns_set *theirs)
{
	for (int s = 0; s < NS_SLOT_NR; s++) {
		NsKind kind = ns_slot_kind(s);

		/* A nested pid namespace is checked with the tree (ns/pid-nest.h). */
		if (s == NS_SLOT_PID_CHILDREN)
			continue;
		if (s >= NS_SLOT_LIVES_NR) {
			int lives = kind - NS_KIND__NS_PID;

			if (!ns_ref_equal(&theirs->ns[s], &theirs->ns[lives])) {
				pr_err("pid %d made a new %s namespace for its children (unshare) "
				       "and has none in it yet; snap cannot dump that",
				       pid, ns_kind_name(kind));
				return -1;
			}
			continue;
		}
		if (ns_ref_equal(&ours->ns[s], &theirs->ns[s]))
			continue;
		if (kind == NS_KIND__NS_USER) {
			pr_err("pid %d is in another user namespace than snap; user namespaces are "
			       "not supported yet",
			       pid);
			return -1;
		}
		if (!ns_kind_ops(kind)) {
			pr_err("pid %d is in another %s namespace than snap; snap cannot dump %s "
			       "namespaces yet",
			       pid, ns_slot_name(s), ns_slot_name(s));
			return -1;
		}
	}
	return 0;
}

int seize_check_ns(pid_t pid, pid_t root)
{
	struct ns_set ours, theirs;

	if (ns_read(root ? root : 0, &ours)) {
		if (root)
			pr_perror("pid %d: cannot read its %s namespace", root,
				  ns_slot_name(ours.failed));
		else
			pr_perror("cannot read snap's own %s namespace", ns_slot_name(ours.failed));
		return -1;
	}
	/* One that exited meanwhile is not refused: the caller finds it a zombie, or gone. */
	if (ns_read(pid, &theirs)) {
		if (thread_gone(pid))
			return 0;
		pr_perror("pid %d: cannot read its %s namespace", pid, ns_slot_name(theirs.failed));
		return -1;
	}
	for (int s = 0; s < NS_SLOT_NR; s++) {
		/* A namespace kind this kernel does not have. */
		if (!ours.ns[s].ino && !root)
			continue;
		/* An empty pid namespace made by unshare() shows no inode until its init exists. */
		if (!theirs.ns[s].ino && s < NS_SLOT_LIVES_NR && ours.ns[s].ino) {
			if (thread_gone(pid))
				return 0;
			pr_err("pid %d: cannot read its %s namespace: no /proc/%d/ns/%s", pid,
			       ns_slot_name(s), pid, ns_slot_name(s));
			return -1;
		}
	}
	if (!root)
		return check_root_ns(pid, &ours, &theirs);
	/* Restore makes every task in its root's namespaces, pid ones nested in it aside. */
	for (int s = 0; s < NS_SLOT_NR; s++) {
		if (ns_ref_equal(&ours.ns[s], &theirs.ns[s]) || s == NS_SLOT_PID ||
		    s == NS_SLOT_PID_CHILDREN)
			continue;
		if (s >= NS_SLOT_LIVES_NR)
			pr_err("pid %d made a new %s namespace for its children (unshare); snap "
			       "restores one set of namespaces per tree, the root's (pid %d)",
			       pid, ns_kind_name(ns_slot_kind(s)), root);
		else
			pr_err("pid %d is in another %s namespace than its tree's root, pid %d; "
			       "snap restores one set of namespaces per tree",
			       pid, ns_slot_name(s), root);
		return -1;
	}
	return 0;
}

int seize_check(struct dump_task *t)
{
	struct proc_stat st;

	if (t->pid <= 0 || proc_read_stat(t->pid, &st)) {
		pr_err("no such process: pid %d", t->pid);
		return -1;
	}
	if (st.flags & PF_KTHREAD) {
		pr_err("pid %d (%s) is a kernel thread; only user processes can be dumped",
		       t->pid, st.comm);
		return -1;
	}
	if (st.state == 'Z' || st.state == 'X') {
		pr_err("pid %d (%s) is a zombie; nothing to dump", t->pid, st.comm);
		return -1;
	}
	if (t->pid == getpid() || t->pid == getppid()) {
		pr_err("pid %d is snap itself or its parent; cannot dump it", t->pid);
		return -1;
	}
	if (st.state == 't') {
		pr_err("pid %d (%s) is traced by another process; cannot dump it", t->pid, st.comm);
		return -1;
	}
	if (seize_check_ns(t->pid, 0))
		return -1;
	t->stopped = st.state == 'T';
	t->ppid = st.ppid;
	t->pgid = st.pgid;
	t->sid = st.sid;
	return 0;
}

/*
 * PTRACE_SEIZE + PTRACE_INTERRUPT one thread. 1 if it is gone already, -1 on
 * error. *@stop_sig: the signal of the trap it stopped in, SIGTRAP unless its
 * process is in a group stop, whose signal it then is.
 */
static int seize_thread(pid_t pid, pid_t tid, int *stop_sig)
{
	long resumes = 0;
	int status;

	if (ptrace(PTRACE_SEIZE, tid, NULL, PTRACE_O_TRACESYSGOOD)) {
		/* Saved: reading /proc below sets errno when the thread is gone. */
		int err = errno;

		/* Interrupted already: its stop is to be collected. */
		if (err == EPERM && seized_by_us(tid))
			goto wait;
		/* A thread that exited since the listing is simply not dumped. */
		if ((err == ESRCH || (err == EPERM && thread_gone(tid))) && tid != pid)
			return 1;
		/* An exiting process: the caller knows whether that is news. */
		if (tid == pid && thread_gone(tid)) {
			errno = ESRCH;
			return -1;
		}
		errno = err;
		pr_perror("pid %d: cannot seize thread %d", pid, tid);
		return -1;
	}
	resumes = restart_resumes(tid);
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
		pr_perror("pid %d: cannot stop thread %d", pid, tid);
		goto detach;
	}
wait:
	if (ptrace_wait(tid, &status)) {
		if (errno == ESRCH && tid != pid)
			return 1;
		if (errno == ESRCH)
			pr_err("pid %d died while being frozen", pid);
		goto detach;
	}
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP) {
		/* A signal got there first; it stays pending, we stop on the interrupt. */
		if (ptrace(PTRACE_CONT, tid, NULL, WSTOPSIG(status)) || ptrace_wait(tid, &status) ||
		    (status >> 16) != PTRACE_EVENT_STOP) {
			pr_err("pid %d: cannot stop thread %d (status %#x)", pid, tid, status);
			goto detach;
		}
	}
	if (seccomp_suspend(tid, PTRACE_O_TRACESYSGOOD))
		goto detach;
	if (resumes)
		restart_name(tid, resumes);
	*stop_sig = WSTOPSIG(status);
	return 0;
detach:
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
	return -1;
}

static bool have_thread(const struct dump_task *t, pid_t tid)
{
	for (size_t i = 0; i < t->nr_threads; i++)
		if (t->threads[i] == tid)
			return true;
	return false;
}

/* Seize the threads of /proc/PID/task not seized yet; *@added says how many. */
static int seize_new_threads(struct dump_task *t, size_t *added)
{
	char path[32];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	d = opendir(path);
	if (!d) {
		pr_perror("pid %d: cannot list its threads", t->pid);
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		pid_t tid = atoi(de->d_name), *n;
		int sig;

		if (tid <= 0 || have_thread(t, tid))
			continue;
		n = realloc(t->threads, (t->nr_threads + 1) * sizeof(*n));
		if (!n) {
			ret = -1;
			break;
		}
		t->threads = n;
		ret = seize_thread(t->pid, tid, &sig);
		if (!ret) {
			t->threads[t->nr_threads++] = tid;
			(*added)++;
		} else if (ret > 0) {
			ret = 0;
		}
	}
	closedir(d);
	return ret;
}

/*
 * Every thread, the leader first: a thread not stopped yet may still make
 * new ones, so the list is read again until a pass finds nobody new. Whether
 * the task is in a job-control stop is what its trap says, not /proc read
 * before: a stop or a SIGCONT may have come in between.
 */
int seize_task(struct dump_task *t)
{
	size_t added;
	int sig;

	t->threads = malloc(sizeof(pid_t));
	if (!t->threads)
		return -1;
	if (seize_thread(t->pid, t->pid, &sig)) {
		free(t->threads);
		t->threads = NULL;
		return -1;
	}
	t->stop_signo = sig == SIGTRAP ? 0 : sig;
	t->stopped = sig != SIGTRAP;
	t->threads[0] = t->pid;
	t->nr_threads = 1;
	do {
		if (seize_new_threads(t, &added)) {
			unseize_task(t, false);
			return -1;
		}
	} while (added);
	return 0;
}

/*
 * A thread of a stopped task goes back into its group stop as it was: in
 * the signal path of the syscall it was in, whose restart the kernel does
 * once the task is continued (dumped registers: -ERESTART*, not rewound).
 * Entered again instead, the syscall could complete (read what came in
 * meanwhile) before the thread stops.
 */
static void put_back_syscall(const struct dump_task *t, size_t i)
{
	const struct user_regs_struct *r = &t->thr[i].regs;

	if (!regs_in_restart(r))
		return;
	if (ptrace(PTRACE_SETREGS, t->threads[i], NULL, r) && errno != ESRCH)
		pr_perror("pid %d: cannot put thread %d back in its syscall", t->pid,
			  t->threads[i]);
}

void unseize_task(struct dump_task *t, bool kill_it)
{
	if (kill_it)
		kill(t->pid, SIGKILL);
	for (size_t i = 0; t->stopped && !kill_it && t->thr && i < t->nr_threads; i++)
		put_back_syscall(t, i);
	/* A task that died meanwhile was reported where that was noticed. */
	for (size_t i = 0; i < t->nr_threads; i++)
		if (ptrace(PTRACE_DETACH, t->threads[i], NULL,
			   kill_it || !t->thr ? 0 : t->thr[i].detach_sig) &&
		    !kill_it && errno != ESRCH)
			pr_perror("pid %d: cannot detach thread %d", t->pid, t->threads[i]);
	for (size_t i = 0; t->stopped && !kill_it && i < t->nr_threads; i++)
		proc_wait_stopped(t->pid, t->threads[i]);
}

int dump_syscall_site(const struct dump_task *t, struct syscall_site *site)
{
	memset(site, 0, sizeof(*site));
	for (size_t i = 0; i < t->vmas.nr; i++) {
		const struct vma *v = &t->vmas.v[i];

		if (v->kind == VMA_KIND__VMA_VDSO) {
			site->vdso_start = v->start;
			site->vdso_end = v->end;
		} else if ((v->prot & PROT_EXEC) && !site->exec_addr) {
			site->exec_addr = v->start;
		}
	}
	if (site->vdso_start || site->exec_addr)
		return 0;
	pr_err("pid %d has no executable mapping to run the parasite from", t->pid);
	return -1;
}

int task_reap_child(pid_t pid, const struct syscall_site *site, pid_t child)
{
	struct parasite_ctl c = { .pid = pid };
	int sig, ret, detach_sig = 0;
	long res = 0;

	if (seize_thread(pid, pid, &sig))
		return -1;
	ret = infect_prepare_syscall(&c, site);
	if (!ret)
		ret = infect_syscall(&c, &res, __NR_wait4, child, 0, __WALL | WNOHANG, 0, 0, 0);
	if (infect_unpoke(&c))
		ret = -1;
	/* Back into the syscall the stop interrupted, as after a dump. */
	if (sig == SIGTRAP)
		detach_sig = ptrace_enter_syscall(pid);
	ptrace(PTRACE_DETACH, pid, NULL, detach_sig > 0 ? detach_sig : 0);
	/* ECHILD: the task reaped it itself (waitpid with __WALL). */
	if (!ret && res < 0 && res != -ECHILD) {
		errno = -res;
		pr_perror("pid %d: cannot reap its child %d", pid, child);
		return -1;
	}
	return ret;
}

struct dump_task *task_pause(pid_t pid)
{
	struct dump_task *t = calloc(1, sizeof(*t));

	if (!t) {
		pr_err("pid %d: out of memory to stop it", pid);
		return NULL;
	}
	t->pid = pid;
	if (seize_task(t)) {
		free(t);
		return NULL;
	}
	return t;
}

void task_resume(struct dump_task *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr_threads; i++) {
		int sig = t->stopped ? 0 : ptrace_enter_syscall(t->threads[i]);

		if (ptrace(PTRACE_DETACH, t->threads[i], NULL, sig > 0 ? sig : 0) && errno != ESRCH)
			pr_perror("pid %d: cannot let thread %d go", t->pid, t->threads[i]);
	}
	free(t->threads);
	free(t);
}
