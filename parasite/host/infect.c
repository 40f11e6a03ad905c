// SPDX-License-Identifier: GPL-2.0
/*
 * Parasite injection (see infect.h). The sequence, on a task stopped by
 * PTRACE_INTERRUPT:
 *   1. save registers, XSAVE state and the signal mask; block all signals;
 *   2. poke "syscall; int3" at an executable address and run mmap() there:
 *      a MAP_SHARED anonymous area, which we open through map_files and map
 *      on our side too — no fd is ever created in the target;
 *   3. copy the blob, its arguments and a sigframe of the saved state in;
 *   4. point %rip at the blob: it connects to our abstract seqpacket socket
 *      (made in the task's network namespace) and serves commands;
 *   5. cure: the blob rt_sigreturns through the frame (we trace syscalls to
 *      stop right after it), then we munmap the area and unpoke the code.
 */
#include <elf.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/ptrace.h>

#include "infect.h"
#include "log.h"


#define PARASITE_TIMEOUT_MS 10000

extern const char parasite_blob[], parasite_blob_end[];

int ptrace_wait(pid_t pid, int *status)
{
	for (;;) {
		if (wait4(pid, status, __WALL, NULL) == pid)
			break;
		if (errno != EINTR) {
			pr_perror("pid %d: wait", pid);
			return -1;
		}
	}
	if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
		/* The caller knows what the task was doing: it reports the death. */
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/*
 * Whether the task is gone; said once. Every later failure (ESRCH from
 * ptrace, a closed socket) is a consequence of it, not news.
 */
static bool task_gone(struct parasite_ctl *ctl)
{
	char path[32], buf[512], *p;
	int fd, err = errno;
	ssize_t n;

	if (ctl->dead)
		return true;
	/*
	 * ptrace says ESRCH once a SIGKILL has hit our stopped tracee, while
	 * /proc still shows it alive for a moment: it is gone all the same.
	 */
	if (err == ESRCH)
		goto gone;
	/* The state letter of /proc/PID/stat follows the ")" that ends the comm. */
	snprintf(path, sizeof(path), "/proc/%d/stat", ctl->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X') {
			errno = err;
			return false;
		}
	}
gone:
	ctl->dead = true;
	pr_err("pid %d died during the dump", ctl->pid);
	return true;
}

/* pr_perror, unless the failure only says that the task died. */
#define ctl_perror(ctl, fmt, ...)                                  \
	do {                                                       \
		if (!task_gone(ctl))                               \
			pr_perror(fmt, ##__VA_ARGS__);             \
	} while (0)

int infect_save_state(struct parasite_ctl *ctl, pid_t pid)
{
	struct iovec iov;

	ctl->pid = pid;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &ctl->regs)) {
		pr_perror("pid %d: cannot read registers", pid);
		return -1;
	}
	if (ctl->regs.cs != 0x33) {
		pr_err("pid %d: only 64-bit processes are supported (cs=%#llx)", pid,
		       ctl->regs.cs);
		return -1;
	}
	iov.iov_base = ctl->xsave;
	iov.iov_len = ctl->xsave_len;
	if (ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov)) {
		pr_perror("pid %d: cannot read FPU state", pid);
		return -1;
	}
	ctl->xsave_len = iov.iov_len;
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(uint64_t), &ctl->sigmask)) {
		pr_perror("pid %d: cannot read signal mask", pid);
		return -1;
	}
	return 0;
}

/* The address of a "syscall" instruction in the task's vDSO, or 0. */
static uint64_t vdso_syscall(pid_t pid, const struct syscall_site *site)
{
	size_t len = site->vdso_end - site->vdso_start;
	uint64_t ip = 0;
	char path[64], *buf, *p;
	int fd;

	if (!site->vdso_start || len > (1 << 20))
		return 0;
	buf = malloc(len);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (buf && fd >= 0 && pread(fd, buf, len, site->vdso_start) == (ssize_t)len) {
		p = memmem(buf, len, "\x0f\x05", 2);
		if (p)
			ip = site->vdso_start + (p - buf);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return ip;
}

int infect_prepare_syscall(struct parasite_ctl *ctl, const struct syscall_site *site)
{
	/* syscall; int3 x6 */
	const long code = 0xcccccccccccc050fL;

	ctl->syscall_ip = vdso_syscall(ctl->pid, site);
	if (ctl->syscall_ip)
		return 0;
	errno = 0;
	ctl->orig_code = ptrace(PTRACE_PEEKTEXT, ctl->pid, site->exec_addr, NULL);
	if (errno) {
		ctl_perror(ctl, "pid %d: cannot read code at %#lx", ctl->pid,
			  (unsigned long)site->exec_addr);
		return -1;
	}
	if (ptrace(PTRACE_POKETEXT, ctl->pid, site->exec_addr, code)) {
		ctl_perror(ctl, "pid %d: cannot write code at %#lx", ctl->pid,
			  (unsigned long)site->exec_addr);
		return -1;
	}
	ctl->syscall_ip = site->exec_addr;
	ctl->code_poked = true;
	return 0;
}

int infect_unpoke(struct parasite_ctl *ctl)
{
	if (!ctl->code_poked)
		return 0;
	if (ptrace(PTRACE_POKETEXT, ctl->pid, ctl->syscall_ip, ctl->orig_code)) {
		ctl_perror(ctl, "pid %d: cannot restore code at %#lx", ctl->pid,
			  (unsigned long)ctl->syscall_ip);
		return -1;
	}
	ctl->code_poked = false;
	return 0;
}

/*
 * Run the injected syscall to its end: to the SIGTRAP of the int3 after a
 * poked "syscall", or through its entry and exit stops in the vDSO.
 */
static int run_injected(struct parasite_ctl *ctl)
{
	int status, stops = 0;

	for (;;) {
		if (ptrace(ctl->code_poked ? PTRACE_CONT : PTRACE_SYSCALL, ctl->pid, NULL, NULL)) {
			ctl_perror(ctl, "pid %d: cannot resume", ctl->pid);
			return -1;
		}
		if (ptrace_wait(ctl->pid, &status))
			return -1;
		if (ctl->code_poked && WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP &&
		    !(status >> 16))
			return 0;
		if (!ctl->code_poked && WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80) &&
		    ++stops == 2)
			return 0;
		/* Signals are blocked: this is a group stop or the like, not ours. */
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			pr_debug("pid %d: ignoring stop %#x while running a syscall", ctl->pid,
				 status);
	}
}

/* @c's syscall, from registers @base, signals blocked already. */
static int inject_one(struct parasite_ctl *ctl, const struct user_regs_struct *base,
		      struct infect_call *c)
{
	struct user_regs_struct r = *base;

	r.rax = c->nr;
	r.orig_rax = -1; /* no syscall restart logic on our registers */
	r.rdi = c->a[0];
	r.rsi = c->a[1];
	r.rdx = c->a[2];
	r.r10 = c->a[3];
	r.r8 = c->a[4];
	r.r9 = c->a[5];
	r.rip = ctl->syscall_ip;
	if (ptrace(PTRACE_SETREGS, ctl->pid, NULL, &r)) {
		ctl_perror(ctl, "pid %d: cannot set registers", ctl->pid);
		return -1;
	}
	if (run_injected(ctl))
		return -1;
	if (ptrace(PTRACE_GETREGS, ctl->pid, NULL, &r)) {
		ctl_perror(ctl, "pid %d: cannot read registers", ctl->pid);
		return -1;
	}
	c->ret = r.rax;
	return 0;
}

int infect_syscalls(struct parasite_ctl *ctl, const struct user_regs_struct *leave, uint64_t mask,
		    struct infect_call *calls, size_t n)
{
	uint64_t all = ~0ULL;
	int err = 0;

	if (ptrace(PTRACE_SETSIGMASK, ctl->pid, sizeof(all), &all)) {
		ctl_perror(ctl, "pid %d: cannot block signals", ctl->pid);
		return -1;
	}
	for (size_t i = 0; i < n && !err; i++)
		err = inject_one(ctl, leave, &calls[i]);
	if ((ptrace(PTRACE_SETREGS, ctl->pid, NULL, leave) ||
	     ptrace(PTRACE_SETSIGMASK, ctl->pid, sizeof(mask), &mask)) &&
	    !err) {
		ctl_perror(ctl, "pid %d: cannot restore registers", ctl->pid);
		err = -1;
	}
	return err;
}

int infect_syscall(struct parasite_ctl *ctl, long *ret, long nr, long a1, long a2, long a3,
		   long a4, long a5, long a6)
{
	struct infect_call c = { nr, { a1, a2, a3, a4, a5, a6 }, 0 };
	struct user_regs_struct saved;
	uint64_t mask;

	if (ptrace(PTRACE_GETREGS, ctl->pid, NULL, &saved) ||
	    ptrace(PTRACE_GETSIGMASK, ctl->pid, sizeof(mask), &mask)) {
		ctl_perror(ctl, "pid %d: cannot save registers", ctl->pid);
		return -1;
	}
	if (infect_syscalls(ctl, &saved, mask, &c, 1))
		return -1;
	*ret = c.ret;
	return 0;
}

/*
 * An abstract unix name lives in the network namespace of the socket, which
 * is the namespace of the thread that made it: the parasite's listener is
 * made in the task's (this thread steps in and back) for the blob to find
 * it. -1 with errno, not logged.
 */
static int task_netns_socket(pid_t pid)
{
	struct stat ours, its;
	int ns, back, fd, err;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -1;
	if (fstat(ns, &its) || stat("/proc/thread-self/ns/net", &ours) ||
	    (its.st_ino == ours.st_ino && its.st_dev == ours.st_dev)) {
		close(ns);
		return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	}
	back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (back < 0 || setns(ns, CLONE_NEWNET)) {
		err = errno;
		if (back >= 0)
			close(back);
		close(ns);
		errno = err;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	err = errno;
	close(ns);
	if (setns(back, CLONE_NEWNET)) {
		/* Never expected; whatever this thread does next would be in the task's. */
		pr_perror("pid %d: cannot go back to snap's network namespace", pid);
		abort();
	}
	close(back);
	errno = err;
	return fd;
}

static int listen_socket(struct parasite_ctl *ctl)
{
	static unsigned int seq;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	int n;

	n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "snap-parasite-%d-%d-%u",
		     getpid(), ctl->pid, seq++);
	len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	ctl->lsock = task_netns_socket(ctl->pid);
	if (ctl->lsock < 0 || bind(ctl->lsock, (struct sockaddr *)&addr, len) ||
	    listen(ctl->lsock, 1)) {
		pr_perror("cannot create the parasite socket");
		return -1;
	}
	memcpy(&ctl->args->addr, &addr, sizeof(ctl->args->addr));
	ctl->args->addr_len = len;
	return 0;
}

/*
 * Wait until @fd is readable while the parasite runs; a parasite that
 * crashes stops the task with a signal instead of answering.
 */
static int wait_parasite(struct parasite_ctl *ctl, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int waited, status;

	for (waited = 0; waited < PARASITE_TIMEOUT_MS; waited += 100) {
		if (poll(&pfd, 1, 100) > 0)
			return 0;
		if (wait4(ctl->pid, &status, __WALL | WNOHANG, NULL) == ctl->pid) {
			if (WIFSTOPPED(status))
				pr_err("pid %d: parasite stopped with signal %d", ctl->pid,
				       WSTOPSIG(status));
			else
				task_gone(ctl);
			return -1;
		}
	}
	pr_err("pid %d: parasite does not answer", ctl->pid);
	return -1;
}

static int map_area(struct parasite_ctl *ctl)
{
	size_t blob_len = parasite_blob_end - parasite_blob;
	size_t args_off = (blob_len + 63) & ~63UL;
	char path[64];
	long ret;
	int fd;

	ctl->len = (args_off + sizeof(struct parasite_args) + BLOB_STACK_SIZE + 4095) & ~4095UL;
	if (infect_syscall(ctl, &ret, __NR_mmap, 0, ctl->len, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0))
		return -1;
	if (ret < 0 && ret > -4096) {
		pr_err("pid %d: cannot map the parasite: %s", ctl->pid, strerror(-ret));
		return -1;
	}
	ctl->remote = ret;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", ctl->pid,
		 (unsigned long)ctl->remote, (unsigned long)(ctl->remote + ctl->len));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ctl_perror(ctl, "pid %d: cannot open the parasite area %s", ctl->pid, path);
		return -1;
	}
	ctl->local = mmap(NULL, ctl->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (ctl->local == MAP_FAILED) {
		ctl->local = NULL;
		ctl_perror(ctl, "pid %d: cannot map the parasite area", ctl->pid);
		return -1;
	}
	memcpy(ctl->local, parasite_blob, blob_len);
	ctl->args = (struct parasite_args *)((char *)ctl->local + args_off);
	return 0;
}

static uint64_t remote_addr(struct parasite_ctl *ctl, const void *local)
{
	return ctl->remote + ((const char *)local - (const char *)ctl->local);
}

static int start_blob(struct parasite_ctl *ctl)
{
	struct user_regs_struct r = ctl->regs;
	struct sigframe_area *fa = &ctl->args->frame;
	uint64_t frame_addr = remote_addr(ctl, fa);

	/* The blob fills uc_stack itself: the altstack is only readable inside. */
	regs_restart_syscall(&r, true);
	if (sigframe_build(fa, frame_addr, &r, ctl->xsave, ctl->xsave_len, ctl->sigmask, NULL))
		return -1;
	ctl->args->sigframe = frame_addr + offsetof(struct rt_sigframe, uc);

	r = ctl->regs;
	r.rip = ctl->remote;
	r.rdi = remote_addr(ctl, ctl->args);
	r.rsp = (ctl->remote + ctl->len) & ~15UL;
	r.orig_rax = -1;
	r.rax = 0;
	if (ptrace(PTRACE_SETREGS, ctl->pid, NULL, &r) ||
	    ptrace(PTRACE_CONT, ctl->pid, NULL, NULL)) {
		ctl_perror(ctl, "pid %d: cannot start the parasite", ctl->pid);
		return -1;
	}
	ctl->running = true;
	if (wait_parasite(ctl, ctl->lsock))
		return -1;
	ctl->sock = accept4(ctl->lsock, NULL, NULL, SOCK_CLOEXEC);
	if (ctl->sock < 0) {
		ctl_perror(ctl, "pid %d: parasite did not connect", ctl->pid);
		return -1;
	}
	return 0;
}

void parasite_free(struct parasite_ctl *ctl)
{
	if (ctl->local)
		munmap(ctl->local, ctl->len);
	if (ctl->sock >= 0)
		close(ctl->sock);
	if (ctl->lsock >= 0)
		close(ctl->lsock);
	free(ctl->xsave);
	free(ctl);
}

/* Undo whatever infect did, when the blob never ran or cannot be cured. */
static void infect_rollback(struct parasite_ctl *ctl)
{
	long ret;

	if (task_gone(ctl))
		return;
	if (ctl->running) {
		/* Stop the blob wherever it is; the saved registers put it back. */
		int status;

		if (!ptrace(PTRACE_INTERRUPT, ctl->pid, NULL, NULL))
			ptrace_wait(ctl->pid, &status);
		ctl->running = false;
	}
	if (ptrace(PTRACE_SETREGS, ctl->pid, NULL, &ctl->regs))
		ctl_perror(ctl, "pid %d: cannot restore registers", ctl->pid);
	if (ctl->remote)
		infect_syscall(ctl, &ret, __NR_munmap, ctl->remote, ctl->len, 0, 0, 0, 0);
	infect_unpoke(ctl);
	ptrace(PTRACE_SETSIGMASK, ctl->pid, sizeof(uint64_t), &ctl->sigmask);
	if (ptrace(PTRACE_SETREGS, ctl->pid, NULL, &ctl->regs))
		ctl_perror(ctl, "pid %d: cannot restore registers", ctl->pid);
	ctl->remote = 0;
}

struct parasite_ctl *parasite_infect(pid_t pid, const struct syscall_site *site,
				     unsigned int xsave_size)
{
	struct parasite_ctl *ctl;
	uint64_t all = ~0ULL;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->sock = ctl->lsock = -1;
	ctl->xsave_len = xsave_size ? xsave_size : 4096;
	ctl->xsave = calloc(1, ctl->xsave_len);
	if (!ctl->xsave) {
		free(ctl);
		return NULL;
	}
	if (infect_save_state(ctl, pid)) {
		parasite_free(ctl);
		return NULL;
	}
	/* Blocked signals stay queued for the target instead of hitting the blob. */
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(uint64_t), &all)) {
		pr_perror("pid %d: cannot block signals", pid);
		parasite_free(ctl);
		return NULL;
	}
	if (infect_prepare_syscall(ctl, site) || map_area(ctl) || listen_socket(ctl) ||
	    start_blob(ctl)) {
		infect_rollback(ctl);
		parasite_free(ctl);
		return NULL;
	}
	return ctl;
}

int parasite_cmd_fds(struct parasite_ctl *ctl, unsigned int cmd, const int *fds, int nfds,
		     int *fd_back)
{
	return parasite_cmd_during(ctl, cmd, fds, nfds, fd_back, NULL, NULL);
}

/*
 * Send @cmd with @fds, run @meanwhile, take @nback fds back in @back (-1
 * when none came: an error if @need).
 */
static int cmd_exchange(struct parasite_ctl *ctl, unsigned int cmd, const int *fds, int nfds,
			int *back, int nback, bool need, int (*meanwhile)(void *), void *arg)
{
	int busy = 0;

	struct parasite_msg msg = { .cmd = cmd };
	char cbuf[CMSG_SPACE(sizeof(int) * PARASITE_MAX_PIPES)];
	struct iovec iov = { &msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	for (int i = 0; i < nback; i++)
		back[i] = -1;
	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(ctl->sock, &mh, MSG_NOSIGNAL) != sizeof(msg)) {
		ctl_perror(ctl, "pid %d: cannot send command %u to the parasite", ctl->pid, cmd);
		return -1;
	}
	/* The parasite works on the other CPU: our share of the work goes meanwhile. */
	if (meanwhile)
		busy = meanwhile(arg);
	if (wait_parasite(ctl, ctl->sock))
		return -1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(ctl->sock, &mh, MSG_CMSG_CLOEXEC) != sizeof(msg)) {
		if (!task_gone(ctl))
			pr_err("pid %d: no answer from the parasite to command %u", ctl->pid, cmd);
		return -1;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (nback && cm && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int) * nback))
		memcpy(back, CMSG_DATA(cm), sizeof(int) * nback);
	if (msg.ret) {
		pr_err("pid %d: parasite command %u failed: %s", ctl->pid, cmd,
		       strerror(-msg.ret));
		for (int i = 0; i < nback; i++) {
			if (back[i] >= 0)
				close(back[i]);
			back[i] = -1;
		}
		return -1;
	}
	if (need && nback && back[0] < 0) {
		pr_err("pid %d: parasite command %u sent no fd back", ctl->pid, cmd);
		return -1;
	}
	return busy;
}

int parasite_cmd_during(struct parasite_ctl *ctl, unsigned int cmd, const int *fds, int nfds,
			int *fd_back, int (*meanwhile)(void *), void *arg)
{
	return cmd_exchange(ctl, cmd, fds, nfds, fd_back, fd_back ? 1 : 0, true, meanwhile, arg);
}

int parasite_cmd_back(struct parasite_ctl *ctl, unsigned int cmd, int *back, int nback,
		      int (*meanwhile)(void *), void *arg)
{
	return cmd_exchange(ctl, cmd, NULL, 0, back, nback, false, meanwhile, arg);
}

int parasite_cmd(struct parasite_ctl *ctl, unsigned int cmd)
{
	return parasite_cmd_fds(ctl, cmd, NULL, 0, NULL);
}

static int is_syscall_stop(pid_t pid, int status, struct ptrace_syscall_info *info)
{
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
		return 0;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(*info), info) <= 0) {
		if (errno != ESRCH)
			pr_perror("pid %d: cannot read syscall info", pid);
		return -1;
	}
	return 1;
}

int ptrace_run_to_sigreturn(pid_t pid, int (*kick)(void *), int (*at_entry)(void *),
			    void *arg)
{
	struct ptrace_syscall_info info;
	bool entered = false;
	int status, ret;

	/* Both seizes set PTRACE_O_TRACESYSGOOD; only restore adds EXITKILL. */
	if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL)) {
		if (errno != ESRCH)
			pr_perror("pid %d: cannot trace syscalls", pid);
		return -1;
	}
	if (kick && kick(arg))
		return -1;
	for (;;) {
		if (ptrace_wait(pid, &status))
			return -1;
		ret = is_syscall_stop(pid, status, &info);
		if (ret < 0)
			return -1;
		if (ret && entered && info.op == PTRACE_SYSCALL_INFO_EXIT)
			return 0;
		if (ret && info.op == PTRACE_SYSCALL_INFO_ENTRY &&
		    info.entry.nr == __NR_rt_sigreturn) {
			entered = true;
			if (at_entry && at_entry(arg))
				return -1;
		}
		if (!ret)
			pr_debug("pid %d: ignoring stop %#x on the way to rt_sigreturn", pid,
				 status);
		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL)) {
			if (errno != ESRCH)
				pr_perror("pid %d: cannot trace syscalls", pid);
			return -1;
		}
	}
}

int ptrace_enter_syscall(pid_t pid)
{
	struct user_regs_struct r;
	int status;
	long word;

	errno = 0;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &r))
		return -1;
	/*
	 * Stopped in the signal path of a syscall with a restart block: rewound
	 * here as regs_restart_syscall() does (poll() into poll() again), not
	 * left to the kernel, whose restart_syscall() a later dump could not
	 * tell from any other.
	 */
	if ((long)r.orig_rax >= 0 && (long)r.rax == -K_ERESTART_RESTARTBLOCK) {
		regs_restart_syscall(&r, true);
		if (ptrace(PTRACE_SETREGS, pid, NULL, &r))
			return -1;
	}
	word = ptrace(PTRACE_PEEKTEXT, pid, r.rip, NULL);
	if (errno)
		return -1;
	if ((word & 0xffff) != 0x050f)
		return 0;
	if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) || ptrace_wait(pid, &status))
		return -1;
	/* A signal came first: it goes on to the task with the detach. */
	if (WIFSTOPPED(status) && WSTOPSIG(status) != (SIGTRAP | 0x80) && !(status >> 16))
		return WSTOPSIG(status);
	return 0;
}

static int send_fini(void *arg)
{
	struct parasite_ctl *ctl = arg;
	struct parasite_msg msg = { .cmd = PARASITE_CMD_FINI };

	if (send(ctl->sock, &msg, sizeof(msg), MSG_NOSIGNAL) != sizeof(msg)) {
		ctl_perror(ctl, "pid %d: cannot stop the parasite", ctl->pid);
		return -1;
	}
	return 0;
}

/*
 * At the blob's rt_sigreturn: the call is skipped, and the task's registers,
 * FPU state and signal mask are put back through ptrace instead. The
 * sigreturn would have reset the kernel's restart block of the syscall the
 * freeze interrupted (poll(), nanosleep(), a timed futex wait, or the
 * restart_syscall() of one), which the task then re-enters: it would return
 * EINTR where a program with no signal handler never sees one. The frame
 * start_blob() built stays for a rollback.
 */
static int put_back(void *arg)
{
	struct parasite_ctl *ctl = arg;
	struct user_regs_struct r = ctl->regs;
	struct iovec iov = { ctl->xsave, ctl->xsave_len };

	regs_restart_syscall(&r, true);
	if (ptrace(PTRACE_SETREGS, ctl->pid, NULL, &r) ||
	    ptrace(PTRACE_SETREGSET, ctl->pid, NT_X86_XSTATE, &iov) ||
	    ptrace(PTRACE_SETSIGMASK, ctl->pid, sizeof(ctl->sigmask), &ctl->sigmask)) {
		ctl_perror(ctl, "pid %d: cannot put its registers back", ctl->pid);
		return -1;
	}
	return 0;
}

int parasite_cure(struct parasite_ctl *ctl)
{
	long ret;
	int status;

	/* Stop the blob (it waits in recvmsg) so we trace from a known point. */
	if (ptrace(PTRACE_INTERRUPT, ctl->pid, NULL, NULL)) {
		ctl_perror(ctl, "pid %d: cannot stop the parasite", ctl->pid);
		goto fail;
	}
	if (ptrace_wait(ctl->pid, &status))
		goto fail;
	if (ptrace_run_to_sigreturn(ctl->pid, send_fini, put_back, ctl))
		goto fail;
	ctl->running = false;
	if (infect_syscall(ctl, &ret, __NR_munmap, ctl->remote, ctl->len, 0, 0, 0, 0) || ret) {
		pr_err("pid %d: cannot unmap the parasite", ctl->pid);
		goto fail;
	}
	ctl->remote = 0;
	if (infect_unpoke(ctl))
		goto fail;
	return 0;
fail:
	infect_rollback(ctl);
	return -1;
}
