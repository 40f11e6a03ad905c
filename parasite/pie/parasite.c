// SPDX-License-Identifier: GPL-2.0
/*
 * The dump-time parasite. snap maps this blob into the target and starts it
 * on the target's main thread (entry.S). It connects back to snap over an
 * abstract unix seqpacket socket and serves commands; the state it collects
 * is only readable from inside the process (sigactions, itimers, altstack,
 * umask, securebits). On FINI it returns the sigframe the host prepared and
 * entry.S rt_sigreturns through it, putting the target back as it was.
 */
#include <linux/prctl.h>
#include <linux/socket.h>
#include <linux/un.h>
#include <linux/net.h>

#include "kcompat.h"
#include "pie-lib.h"
#include "pie-syscall.h"
#include "pie-timer.h"
#include "protocol.h"

#define AF_UNIX_ 1
#define SOCK_SEQPACKET_ 5
#define SOCK_CLOEXEC_ 02000000
#define O_CLOEXEC_ 02000000
#define O_NONBLOCK_ 04000

struct k_msghdr {
	void *msg_name;
	int msg_namelen;
	struct k_iovec {
		void *base;
		__u64 len;
	} *msg_iov;
	__u64 msg_iovlen;
	void *msg_control;
	__u64 msg_controllen;
	unsigned int msg_flags;
};

static long dump_prctl(struct parasite_misc *m)
{
	long ret;

	m->no_new_privs = sys_prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	m->thp_disable = sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	m->timerslack_ns = sys_prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	ret = sys_prctl(PR_GET_CHILD_SUBREAPER, &m->child_subreaper, 0, 0, 0);
	if (!ret)
		ret = sys_prctl(PR_GET_PDEATHSIG, &m->pdeath_signal, 0, 0, 0);
	return ret;
}

/*
 * The si_overrun of a queued timer signal is only worked out when the signal
 * is dequeued, so dequeue it: the kernel then forwards the timer to its next
 * expiry. Put it back as it was: expiring at the expiry that queued the
 * signal, K intervals before the last one passed, so that the kernel queues
 * the signal again and its dequeue reports K and more, as it would have.
 */
static long take_timer_signal(struct parasite_timer *t)
{
	__u64 set = 1ULL << (t->signo - 1);
	struct k_timespec zero = { 0, 0 };
	int info[32];
	long ret;

	ret = sys4(__NR_rt_sigtimedwait, &set, info, &zero, 8);
	if (ret != (long)t->signo)
		return ret < 0 ? ret : -22;
	if (info[SI_CODE] != SI_TIMER_ || info[SI_TIMERID] != t->id) {
		/* snap saw it first in the queue: it is no longer. Put it back. */
		sys3(__NR_rt_sigqueueinfo, sys_getpid(), t->signo, info);
		return -11; /* EAGAIN */
	}
	t->overrun = info[SI_OVERRUN];
	ret = sys2(__NR_timer_gettime, t->id, &t->val);
	return ret ?: timer_refire(t->id, t->clock, &t->val, t->overrun);
}

static long dump_timers(struct parasite_misc *m)
{
	unsigned int i;
	long ret;

	for (i = 0; i < m->timers.nr; i++) {
		struct parasite_timer *t = &m->timers.t[i];

		ret = sys2(__NR_timer_gettime, t->id, &t->val);
		if (ret)
			return ret;
		ret = sys1(__NR_timer_getoverrun, t->id);
		if (ret < 0)
			return ret;
		t->overrun = t->flags & TIMER_QUEUED ? 0 : ret;
		if (t->flags & TIMER_DEQUEUE) {
			ret = take_timer_signal(t);
			if (ret)
				return ret;
		}
	}
	return 0;
}

#define PAGE_ 4096
#define MADV_DONTNEED_ 4
#define PR_GET_MEMORY_MERGE_ 68
#define MCL_FUTURE_ 2
#define MCL_ONFAULT_ 4

/*
 * The mm's lock on new mappings, which nothing reads back: a fresh page
 * locks if mlockall(MCL_FUTURE) is in force (MADV_DONTNEED refuses a locked
 * mapping), and is there at once unless MCL_ONFAULT came with it. One that
 * cannot be mapped at all (EAGAIN) is over RLIMIT_MEMLOCK: locked too.
 */
static __u32 mlock_future(void)
{
	long p = sys_mmap(0, PAGE_, 3 /* PROT_READ | PROT_WRITE */,
			  0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */, -1, 0);
	unsigned char in = 0;
	__u32 ret = 0;

	if (p == -11 /* EAGAIN */)
		return MCL_FUTURE_;
	if ((unsigned long)p >= -4095UL)
		return 0;
	if (sys_madvise(p, PAGE_, MADV_DONTNEED_) == -22 /* EINVAL */) {
		sys3(__NR_mincore, p, PAGE_, (long)&in);
		ret = in & 1 ? MCL_FUTURE_ : MCL_FUTURE_ | MCL_ONFAULT_;
	}
	sys_munmap(p, PAGE_);
	return ret;
}

static int dump_misc(struct parasite_misc *m)
{
	long ret;
	int i;

	for (i = 1; i <= K_NSIG; i++) {
		if (i == 9 || i == 19) /* SIGKILL, SIGSTOP: fixed */
			continue;
		ret = sys_rt_sigaction(i, 0, &m->sa[i - 1], 8);
		if (ret)
			return ret;
	}
	for (i = 0; i < 3; i++) {
		ret = sys_getitimer(i, &m->itimers[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < K_RLIM_NLIMITS; i++) {
		ret = sys_prlimit(0, i, 0, &m->rlimits[i]);
		if (ret)
			return ret;
	}
	ret = sys_sigaltstack(0, &m->altstack);
	if (ret)
		return ret;
	/* umask(2) can only be read by setting it: put it straight back. */
	m->umask = sys_umask(0);
	sys_umask(m->umask);
	m->secbits = sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	m->dumpable = sys_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	m->brk = sys1(__NR_brk, 0);
	/* Needs CONFIG_CHECKPOINT_RESTORE; without it the address reads as none. */
	if (sys_prctl(PR_GET_TID_ADDRESS, &m->tid_address, 0, 0, 0))
		m->tid_address = 0;
	m->mlock_future = mlock_future();
	/* A kernel without it (before 6.4) says EINVAL: off. */
	m->ksm_merge_any = sys_prctl(PR_GET_MEMORY_MERGE_, 0, 0, 0, 0) == 1;
	return dump_prctl(m) ?: dump_timers(m);
}

#define SOL_SOCKET_ 1
#define SCM_RIGHTS_ 1
#define MSG_NOSIGNAL_ 0x4000
#define MSG_CTRUNC_ 0x8

struct k_cmsg {
	__u64 len;
	int level, type;
	int fds[PARASITE_MAX_PIPES];
};

/*
 * One message each way; fds ride along as SCM_RIGHTS. On receive, *nfds is
 * set to how many came (0 when none).
 */
static long xfer(int sock, struct parasite_msg *msg, int send, int *fds, int *nfds)
{
	struct k_iovec iov = { msg, sizeof(*msg) };
	struct k_msghdr mh = { 0 };
	struct k_cmsg cm;
	long ret;
	int i;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = &cm;
	mh.msg_controllen = sizeof(cm);
	if (send) {
		if (!nfds || !*nfds) {
			mh.msg_control = 0;
			mh.msg_controllen = 0;
		} else {
			cm.len = 16 + *nfds * sizeof(int);
			cm.level = SOL_SOCKET_;
			cm.type = SCM_RIGHTS_;
			for (i = 0; i < *nfds; i++)
				cm.fds[i] = fds[i];
			mh.msg_controllen = (cm.len + 7) & ~7UL;
		}
		return sys_sendmsg(sock, &mh, MSG_NOSIGNAL_);
	}
	ret = sys_recvmsg(sock, &mh, 0);
	*nfds = 0;
	if (ret > 0 && mh.msg_controllen >= 16 && cm.level == SOL_SOCKET_ &&
	    cm.type == SCM_RIGHTS_) {
		*nfds = (cm.len - 16) / sizeof(int);
		for (i = 0; i < *nfds; i++)
			fds[i] = cm.fds[i];
	}
	if (ret > 0 && (mh.msg_flags & MSG_CTRUNC_))
		return -24; /* EMFILE: the fds did not all arrive */
	return ret;
}

static long uffd_arm(struct parasite_live *l, int devfd, int *uffd_out)
{
	struct uffdio_api api = { .api = UFFD_API, .features = l->uffd_features };
	struct uffdio_register reg;
	long uffd, ret;
	unsigned int i;

	uffd = sys_ioctl(devfd, USERFAULTFD_IOC_NEW, O_CLOEXEC_ | O_NONBLOCK_);
	if (uffd < 0)
		return uffd;
	ret = sys_ioctl(uffd, UFFDIO_API, &api);
	/*
	 * EVENT_FORK needs CAP_SYS_PTRACE in this process: without it, go on
	 * without, and tell snap (l->uffd_features is what was granted).
	 */
	if (ret == -1 /* EPERM */ && (l->uffd_features & UFFD_FEATURE_EVENT_FORK)) {
		l->uffd_features &= ~(__u64)UFFD_FEATURE_EVENT_FORK;
		api = (struct uffdio_api){ .api = UFFD_API, .features = l->uffd_features };
		ret = sys_ioctl(uffd, UFFDIO_API, &api);
	}
	for (i = 0; !ret && i < l->nr_iov; i++) {
		reg.range.start = l->iov[i].base;
		reg.range.len = l->iov[i].len;
		reg.mode = UFFDIO_REGISTER_MODE_WP;
		ret = sys_ioctl(uffd, UFFDIO_REGISTER, &reg);
	}
	if (ret) {
		/* Closing the uffd drops every registration and protection made. */
		sys_close(uffd);
		return ret;
	}
	*uffd_out = uffd;
	return 0;
}

/* Put the pages in pipes: they then outlive a munmap or MADV_DONTNEED. */
static long do_vmsplice(struct parasite_live *l, int *fds, int nfds)
{
	unsigned int i, from = 0;
	long ret = 0;
	int p;

	if ((unsigned int)nfds != l->nr_pipes)
		return -22;
	for (p = 0; p < nfds && !ret; p++) {
		for (i = from; i < l->pipe_end[p] && !ret; i++) {
			struct k_iovec v = { (void *)l->iov[i].base, l->iov[i].len };

			while (v.len) {
				ret = sys4(__NR_vmsplice, fds[p], &v, 1, 0);
				if (ret <= 0)
					break;
				v.base = (char *)v.base + ret;
				v.len -= ret;
				ret = 0;
			}
		}
		from = l->pipe_end[p];
	}
	for (p = 0; p < nfds; p++)
		sys_close(fds[p]);
	return ret;
}

/* Put the fd snap sent at each fd number it named; the old files there are closed so. */
static long replace_fd(const struct parasite_replace *r, const int *fds, int nfds)
{
	unsigned int i;
	long ret;

	if (nfds != 1 || r->nr > PARASITE_MAX_REPLACE)
		return -22; /* EINVAL */
	for (i = 0; i < r->nr; i++) {
		ret = sys3(__NR_dup3, fds[0], r->fd[i], r->cloexec[i] ? O_CLOEXEC_ : 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

#define F_DUPFD_CLOEXEC_ 1030
#define RLIMIT_NOFILE_ 7

/*
 * The tracker goes high in the fd table, out of the way of the numbers the
 * program will be given: 64 below the soft limit (F_DUPFD takes the lowest
 * free number from there, so no fd of the program is ever replaced).
 */
static long track_arm(struct parasite_track *t, int devfd, int *uffd_out)
{
	struct uffdio_api api = { .api = UFFD_API, .features = t->features };
	struct k_rlimit rl;
	long uffd, fd, ret, base;

	uffd = sys_ioctl(devfd, USERFAULTFD_IOC_NEW, O_CLOEXEC_ | O_NONBLOCK_);
	if (uffd < 0)
		return uffd;
	ret = sys_ioctl(uffd, UFFDIO_API, &api);
	if (!ret)
		ret = sys_prlimit(0, RLIMIT_NOFILE_, 0, &rl);
	if (ret) {
		sys_close(uffd);
		return ret;
	}
	if (rl.cur > (1 << 20))
		rl.cur = 1 << 20;
	base = rl.cur > 128 ? (long)rl.cur - 64 : (long)rl.cur / 2;
	fd = sys3(__NR_fcntl, uffd, F_DUPFD_CLOEXEC_, base);
	if (fd < 0) {
		sys_close(uffd);
		return fd;
	}
	t->fd = fd;
	*uffd_out = uffd;
	return 0;
}

static long track_drop(const struct parasite_track *t)
{
	unsigned int i;

	if (t->nr_drop > PARASITE_MAX_DROP)
		return -22;
	for (i = 0; i < t->nr_drop; i++)
		sys_close(t->drop[i]);
	return 0;
}

#define SIG_SETMASK_ 2
#define MADV_PAGEOUT_ 21
#define POLLIN_ 1
#define SIGKILL_ 9
#define HOLDER_UP_MS 2000
#define __WALL_ 0x40000000

HIDDEN void holder_main(int sock);

/*
 * The holder: signals blocked (it has the task's handlers, which must not
 * run here), out of the task's session (a terminal's or a group's signal
 * is not for it), its copies of the task's fds closed (a socket the task
 * closes must close), named for ps. Then it discards what snap has saved.
 */
void holder_main(int sock)
{
	__u64 all = ~0ULL;
	struct holder_drop d;
	long err;

	err = sys_rt_sigprocmask(SIG_SETMASK_, &all, 0, sizeof(all));
	sys0(__NR_setsid);
	sys_prctl(PR_SET_NAME, "snap-holder", 0, 0, 0);
	if (sock > 0)
		err |= sys3(__NR_close_range, 0, sock - 1, 0);
	err |= sys3(__NR_close_range, sock + 1, ~0U, 0);
	/*
	 * It has the task's seccomp filter: what it needs must pass (an empty
	 * range is enough to ask), else the parasite gives up on it.
	 */
	err |= sys_madvise(0, 0, MADV_DONTNEED_) | sys_madvise(0, 0, MADV_PAGEOUT_);
	if (err || sys_write(sock, "R", 1) != 1)
		sys_exit_group(1);
	while (sys_read(sock, &d, sizeof(d)) == sizeof(d))
		sys_madvise(d.addr, d.len, d.advice);
	sys_exit_group(0);
}

/*
 * long holder_clone(int *pidfd, int sock, long *pid, int direct): fork the
 * holder with clone(CLONE_PIDFD) and no exit signal, so that the task is
 * not told of it. Unless @direct, it is forked by a short-lived go-between
 * (CLONE_VM | CLONE_VFORK | CLONE_FILES: no copy of anything, and the
 * pidfd lands in our fd table) that exits at once and is reaped here: the
 * holder is an orphan, its exit someone else's to reap (the nearest child
 * subreaper or the pid namespace's init), and the task's waitpid() never
 * sees it. The holder's pid goes to *@pid (or -errno). The holder's stack
 * is ours, in the parasite area, which is shared memory (snap maps it
 * too), not copied: it touches no stack until it has mapped one of its
 * own, then runs holder_main(sock).
 */
HIDDEN long holder_clone(int *pidfd, int sock, long *pid, int direct);
__asm__(".text\n"
	"holder_clone:\n"
	"	push	%r12\n"
	"	push	%r13\n"
	"	push	%r14\n"
	"	mov	%rdi, %r12\n"
	"	mov	%esi, %r13d\n"
	"	mov	%rdx, %r14\n"
	"	test	%ecx, %ecx\n"
	"	jnz	3f\n"
	"	mov	$0x4500, %edi\n" /* CLONE_VM | CLONE_VFORK | CLONE_FILES */
	"	xor	%esi, %esi\n"
	"	xor	%edx, %edx\n"
	"	xor	%r10d, %r10d\n"
	"	xor	%r8d, %r8d\n"
	"	mov	$56, %eax\n" /* __NR_clone */
	"	syscall\n"
	"	test	%rax, %rax\n"
	"	jnz	1f\n"
	/* the go-between, on our stack while we wait */
	"	call	5f\n"
	"	mov	%rax, (%r14)\n"
	"	xor	%edi, %edi\n"
	"	mov	$60, %eax\n" /* __NR_exit */
	"	syscall\n"
	"	hlt\n"
	"1:	js	2f\n"
	"	mov	%rax, %rdi\n" /* reap the go-between */
	"	xor	%esi, %esi\n"
	"	mov	$0x40000000, %edx\n" /* __WALL */
	"	xor	%r10d, %r10d\n"
	"	mov	$61, %eax\n" /* __NR_wait4 */
	"	syscall\n"
	"	mov	(%r14), %rax\n"
	"	jmp	4f\n"
	"2:	mov	%rax, (%r14)\n"
	"	jmp	4f\n"
	"3:	call	5f\n"
	"	mov	%rax, (%r14)\n"
	"4:	pop	%r14\n"
	"	pop	%r13\n"
	"	pop	%r12\n"
	"	ret\n"
	/* fork the holder: its pid, or -errno, in the forker */
	"5:	mov	%r12, %rdx\n" /* parent_tid: where CLONE_PIDFD puts the pidfd */
	"	mov	$0x1000, %edi\n" /* CLONE_PIDFD */
	"	xor	%esi, %esi\n"
	"	xor	%r10d, %r10d\n"
	"	xor	%r8d, %r8d\n"
	"	mov	$56, %eax\n"
	"	syscall\n"
	"	test	%rax, %rax\n"
	"	jz	6f\n"
	"	ret\n"
	/* the holder */
	"6:	mov	$9, %eax\n" /* __NR_mmap */
	"	xor	%edi, %edi\n"
	"	mov	$65536, %esi\n"
	"	mov	$3, %edx\n" /* PROT_READ | PROT_WRITE */
	"	mov	$0x22, %r10d\n" /* MAP_PRIVATE | MAP_ANONYMOUS */
	"	mov	$-1, %r8\n"
	"	xor	%r9d, %r9d\n"
	"	syscall\n"
	"	cmp	$-4095, %rax\n"
	"	jae	7f\n"
	"	lea	65536(%rax), %rsp\n"
	"	mov	%r13d, %edi\n"
	"	call	holder_main\n"
	"7:	mov	$1, %edi\n"
	"	mov	$231, %eax\n" /* __NR_exit_group */
	"	syscall\n"
	"	hlt\n");

/* Whether the holder said it is up, on @sock, within HOLDER_UP_MS. */
static int holder_up(int sock)
{
	struct {
		int fd;
		short events, revents;
	} p = { sock, POLLIN_, 0 };
	char c = 0;

	return sys3(__NR_poll, &p, 1, HOLDER_UP_MS) == 1 && sys_read(sock, &c, 1) == 1 && c == 'R';
}

/* PARASITE_CMD_HOLD_FORK: out[0] our end of the holder's socket, out[1] its pidfd. */
static long hold_fork(struct parasite_live *l, int *out)
{
	int sv[2], pidfd = -1, reaper = 0, direct;
	long ret, pid;

	ret = sys4(__NR_socketpair, AF_UNIX_, SOCK_SEQPACKET_ | SOCK_CLOEXEC_, 0, sv);
	if (ret)
		return ret;
	/*
	 * Where the orphaned holder would come back into the tree (snap asks
	 * for it: an ancestor is a child subreaper or a pid namespace's init;
	 * or we are), it is made our direct child, which snap reaps.
	 */
	direct = l->holder_direct || sys_getpid() == 1;
	if (!direct && sys_prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0) == 0)
		direct = reaper != 0;
	holder_clone(&pidfd, sv[1], &pid, direct);
	sys_close(sv[1]);
	if (pid > 0 && !holder_up(sv[0])) {
		/* Killed or refused by its seccomp filter, or stuck in it. */
		sys4(__NR_pidfd_send_signal, pidfd, SIGKILL_, 0, 0);
		if (direct)
			sys4(__NR_wait4, pid, 0, __WALL_, 0);
		sys_close(pidfd);
		pid = -13; /* EACCES */
	}
	l->holder_pid = pid;
	l->holder_direct = direct;
	/* Not an error: snap holds the pages another way. */
	if (pid < 0) {
		sys_close(sv[0]);
		return 0;
	}
	out[0] = sv[0];
	out[1] = pidfd;
	return 0;
}

/* Returns the rt_sigreturn stack pointer; 0 makes entry.S exit (never on purpose). */
unsigned long blob_main(struct parasite_args *args)
{
	int fds[PARASITE_MAX_PIPES], nfds, back[2], nback;
	struct parasite_msg msg;
	long sock, ret;

	/* The cure must put back the altstack, which only we can read. */
	sys_sigaltstack(0, &args->frame.frame.uc.uc_stack);

	sock = sys_socket(AF_UNIX_, SOCK_SEQPACKET_ | SOCK_CLOEXEC_, 0);
	if (sock < 0)
		return args->sigframe;
	args->sock = sock;
	if (sys_connect(sock, &args->addr, args->addr_len) < 0)
		goto out;

	for (;;) {
		ret = xfer(sock, &msg, 0, fds, &nfds);
		if (ret != sizeof(msg))
			break; /* snap went away: put the target back */
		if (msg.cmd == PARASITE_CMD_FINI)
			break;
		nback = 0;
		switch (msg.cmd) {
		case PARASITE_CMD_DUMP_MISC:
			msg.ret = dump_misc(&args->misc);
			break;
		case PARASITE_CMD_UFFD_ARM:
			msg.ret = nfds == 1 ? uffd_arm(&args->live, fds[0], back) : -22;
			nback = !msg.ret;
			break;
		case PARASITE_CMD_VMSPLICE:
			msg.ret = do_vmsplice(&args->live, fds, nfds);
			nfds = 0;
			break;
		case PARASITE_CMD_REPLACE_FD:
			msg.ret = replace_fd(&args->replace, fds, nfds);
			break;
		case PARASITE_CMD_TRACK_ARM:
			msg.ret = nfds == 1 ? track_arm(&args->track, fds[0], back) : -22;
			nback = !msg.ret;
			break;
		case PARASITE_CMD_TRACK_DROP:
			msg.ret = track_drop(&args->track);
			break;
		case PARASITE_CMD_HOLD_FORK:
			msg.ret = hold_fork(&args->live, back);
			nback = !msg.ret && args->live.holder_pid > 0 ? 2 : 0;
			break;
		default:
			msg.ret = -22; /* EINVAL */
		}
		while (nfds > 0)
			sys_close(fds[--nfds]);
		nfds = nback;
		ret = xfer(sock, &msg, 1, back, &nfds);
		/* snap holds them now; a uffd acts on our mm all the same */
		while (nback > 0)
			sys_close(back[--nback]);
		if (ret != sizeof(msg))
			break;
	}
out:
	sys_close(sock);
	return args->sigframe;
}
