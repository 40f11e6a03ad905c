// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer's threads. The leader clones each dumped thread with its
 * dumped tid (clone3 set_tid), on its own stack in the bootstrap area, with
 * every signal blocked and before the creds change. Each thread then sets
 * its own per-thread state and creds — the kernel keeps those per thread,
 * and nothing here broadcasts them as glibc's setuid() does — counts itself
 * ready and waits for snap's "go", one byte on the go pipe. snap stops every
 * thread and lets them through rt_sigreturn one at a time, the leader last,
 * so a byte only ever goes to the thread snap is letting run. A thread's own
 * seccomp filters go on after "go" (see thread_main()), its strict mode last.
 */
#include <linux/futex.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#include "pie-lib.h"
#include "pie-syscall.h"
#include "restorer-proc.h"
#include "restorer.h"

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002

#define THREAD_FLAGS                                                                               \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

HIDDEN long rst_clone_thread(struct clone_args *ca, unsigned long size);
HIDDEN unsigned long thread_main(struct rst_thread *th);

/*
 * clone3 on a new stack whose top word holds the thread's struct rst_thread.
 * The parent gets the syscall's result. The child runs thread_main() and
 * rt_sigreturns through the frame it returns, or exits the group on 0, as
 * entry.S does for the leader.
 */
__asm__(".text\n"
	"rst_clone_thread:\n"
	"	mov	$435, %eax\n" /* __NR_clone3 */
	"	syscall\n"
	"	test	%rax, %rax\n"
	"	jnz	1f\n"
	"	mov	(%rsp), %rdi\n"
	"	call	thread_main\n"
	"	test	%rax, %rax\n"
	"	jz	2f\n"
	"	mov	%rax, %rsp\n"
	"	mov	$15, %eax\n" /* __NR_rt_sigreturn */
	"	syscall\n"
	"2:	mov	$1, %edi\n"
	"	mov	$231, %eax\n" /* __NR_exit_group */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n");

long restore_thread(struct restorer_args *a, struct rst_thread *th)
{
	unsigned char *si = (void *)th->pending;
	unsigned int i;
	long ret;

	ret = sys_arch_prctl(ARCH_SET_FS, th->fs_base);
	if (ret)
		return fail(a, "ARCH_SET_FS", th->fs_base, ret), -1;
	ret = sys_arch_prctl(ARCH_SET_GS, th->gs_base);
	if (ret)
		return fail(a, "ARCH_SET_GS", th->gs_base, ret), -1;
	if (th->rseq) {
		ret = sys_rseq(th->rseq, th->rseq_len, 0, th->rseq_sig);
		if (ret)
			return fail(a, "registering rseq", th->rseq, ret), -1;
	}
	if (th->robust_list_len) {
		ret = sys_set_robust_list(th->robust_list, th->robust_list_len);
		if (ret)
			return fail(a, "set_robust_list", th->robust_list, ret), -1;
	}
	sys_set_tid_address(th->clear_tid);
	sys_prctl(PR_SET_NAME, th->comm, 0, 0, 0);
	/* Only the thread itself may queue a kernel- or tgkill-sent signal to itself. */
	for (i = 0; i < th->nr_pending; i++) {
		unsigned char *info = si + i * 128;
		int sig = *(int *)info;

		if (timer_resends(a, info))
			continue;
		ret = sys_rt_tgsigqueueinfo(a->pid, th->tid, sig, info);
		if (ret)
			return fail(a, "queueing a pending signal of thread", th->tid, ret), -1;
	}
	return 0;
}

long restore_wait_go(struct restorer_args *a)
{
	long ret;
	char go;

	while ((ret = sys_read(a->go_fd, &go, 1)) == -4 /* EINTR */)
		;
	if (ret != 1)
		return fail(a, "waiting for snap", 0, ret ? ret : -5), -1;
	return 0;
}

/*
 * A thread with seccomp filters of its own installs them once snap traces
 * it, after "go" (before, they would act on what it still does), and before
 * its creds (they may take away the right to): its creds come after "go"
 * too.
 */
unsigned long thread_main(struct rst_thread *th)
{
	struct restorer_args *a = (void *)th->args;
	int own = th->seccomp.mode == SECCOMP_MODE_FILTER && th->seccomp.nr_filters;

	if (restore_thread(a, th) || (!own && restore_creds(a, &th->creds)))
		return 0;
	__atomic_add_fetch(&a->threads_ready, 1, __ATOMIC_SEQ_CST);
	sys_futex(&a->threads_ready, FUTEX_WAKE, 1);
	if (restore_wait_go(a))
		return 0;
	if (own && (restore_seccomp_thread(a, &th->seccomp) || restore_creds(a, &th->creds)))
		return 0;
	if (restore_seccomp_strict(a, &th->seccomp))
		return 0;
	return (unsigned long)&th->frame.frame.uc;
}

/*
 * EEXIST: the tid is still taken. A thread of the dumped process killed just
 * before is gone from /proc (snap waited for that) a little before its tid
 * is free, and a SCHED_IDLE one can be held up in between for long on a busy
 * machine: wait up to 2 s for it.
 */
#define TID_WAIT_MS 2000

long restore_threads_start(struct restorer_args *a)
{
	struct rst_thread *threads = (void *)a->threads;
	struct k_timespec pause = {0, 1000000};
	unsigned int i, waited = 0;
	long ret;

	for (i = 1; i < a->nr_threads; i++) {
		struct rst_thread *th = &threads[i];
		__u64 top = th->stack + RST_THREAD_STACK - 16;
		struct clone_args ca = {
			.flags = THREAD_FLAGS,
			.stack = th->stack,
			.stack_size = top - th->stack,
			.set_tid = (unsigned long)th->set_tids,
			.set_tid_size = th->nr_set_tids,
		};

		th->args = (unsigned long)a;
		*(__u64 *)top = (unsigned long)th;
		ret = rst_clone_thread(&ca, sizeof(ca));
		while (ret == -17 /* EEXIST */ && waited++ < TID_WAIT_MS) {
			sys2(__NR_nanosleep, &pause, 0);
			ret = rst_clone_thread(&ca, sizeof(ca));
		}
		if (ret != th->tid)
			return fail(a, "clone3 of thread", th->tid, ret < 0 ? ret : -17), -1;
	}
	return 0;
}

long restore_threads_wait(struct restorer_args *a)
{
	unsigned int n;

	while ((n = __atomic_load_n(&a->threads_ready, __ATOMIC_SEQ_CST)) < a->nr_threads - 1)
		sys_futex(&a->threads_ready, FUTEX_WAIT, n);
	return 0;
}
