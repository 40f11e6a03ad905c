// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel feature probes (kerndat_probe); `snap check` prints them (cr/check.c).
 *
 * Each probe does for real, on a throwaway object, what dump or restore will
 * do later: seize and interrupt a child, create a userfaultfd, scan our own
 * pagemap, clone3 with a chosen pid. Version numbers and config options
 * would not tell us about missing capabilities or sysctls; trying does.
 * A failed probe is not an error here — it only means the feature is absent,
 * and the caller decides whether it can do without.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/sched.h>

#include "kcompat.h"
#include "kerndat.h"
#include "log.h"

/* Plenty for any XSAVE layout; the kernel trims iov_len to the real size. */
#define XSTATE_BUF_SIZE (64U << 10)

static void wait_gone(pid_t pid)
{
	int status;

	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return;
	}
}

/* A child's life: wait to be traced, and killed. */
static void __attribute__((noreturn)) child_wait(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
}

/*
 * Seize the paused child @pid the way dump seizes its targets, then ask it
 * what dump will ask: its syscall state and the size of its xstate. Then
 * kill and reap it.
 */
static void probe_ptrace(struct kfeat *kf, pid_t pid)
{
	struct __ptrace_syscall_info si;
	void *xs = NULL;
	struct iovec iov;
	int status;

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL)) {
		pr_debug("kerndat: PTRACE_SEIZE: %s", strerror(errno));
		goto out;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL)) {
		pr_debug("kerndat: PTRACE_INTERRUPT: %s", strerror(errno));
		goto out;
	}
	while (waitpid(pid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			pr_debug("kerndat: waitpid: %s", strerror(errno));
			goto out;
		}
	}
	if (!WIFSTOPPED(status)) {
		pr_debug("kerndat: seized child did not stop (status %#x)", status);
		goto out;
	}
	kf->ptrace_seize = true;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si), &si) > 0)
		kf->ptrace_syscall_info = true;
	else
		pr_debug("kerndat: PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));

	xs = malloc(XSTATE_BUF_SIZE);
	if (!xs)
		goto out;
	iov.iov_base = xs;
	iov.iov_len = XSTATE_BUF_SIZE;
	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) == 0)
		kf->xsave_size = iov.iov_len;
	else
		pr_debug("kerndat: PTRACE_GETREGSET NT_X86_XSTATE: %s", strerror(errno));
out:
	free(xs);
	kill(pid, SIGKILL);
	wait_gone(pid);
}

static int uffd_api_features(int fd, uint64_t *features)
{
	struct uffdio_api api = {.api = UFFD_API, .features = 0};

	/* With no features requested, the kernel answers with all it offers. */
	if (ioctl(fd, UFFDIO_API, &api)) {
		pr_debug("kerndat: UFFDIO_API: %s", strerror(errno));
		return -1;
	}
	*features = api.features;
	return 0;
}

static void probe_uffd(struct kfeat *kf)
{
	int fd, dev, devfd = -1;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		kf->uffd = true;
	else
		pr_debug("kerndat: userfaultfd: %s", strerror(errno));

	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		devfd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		if (devfd >= 0)
			kf->uffd_dev = true;
		else
			pr_debug("kerndat: USERFAULTFD_IOC_NEW: %s", strerror(errno));
		close(dev);
	} else {
		pr_debug("kerndat: /dev/userfaultfd: %s", strerror(errno));
	}

	/* Either kind of uffd offers the same features. */
	if (fd >= 0 || devfd >= 0)
		uffd_api_features(fd >= 0 ? fd : devfd, &kf->uffd_features);
	if (fd >= 0)
		close(fd);
	if (devfd >= 0)
		close(devfd);
}

static void probe_pagemap_scan(struct kfeat *kf)
{
	const size_t len = 4 * PAGE_SIZE;
	struct page_region vec[4];
	struct pm_scan_arg arg;
	char *p;
	int fd;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		pr_debug("kerndat: mmap: %s", strerror(errno));
		return;
	}
	*(volatile char *)p = 1;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_debug("kerndat: /proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)p;
	arg.end = (uintptr_t)p + len;
	arg.vec = (uintptr_t)vec;
	arg.vec_len = sizeof(vec) / sizeof(vec[0]);
	arg.category_anyof_mask = PAGE_IS_PRESENT;
	arg.return_mask = PAGE_IS_PRESENT;
	if (ioctl(fd, PAGEMAP_SCAN, &arg) >= 0)
		kf->pagemap_scan = true;
	else
		pr_debug("kerndat: PAGEMAP_SCAN: %s", strerror(errno));
	close(fd);
out:
	munmap(p, len);
}

/* Does PAGEMAP_SCAN (or, without it, pagemap bit 58) show the guard at @g? */
static bool sees_guard(const struct kfeat *kf, int fd, char *g)
{
	struct page_region vec[2];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)g - PAGE_SIZE,
		.end = (uintptr_t)g + PAGE_SIZE,
		.vec = (uintptr_t)vec,
		.vec_len = 2,
		.category_anyof_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	uint64_t ent = 0;

	if (kf->pagemap_scan)
		return ioctl(fd, PAGEMAP_SCAN, &arg) == 1 && vec[0].start == (uintptr_t)g &&
		       vec[0].end == (uintptr_t)g + PAGE_SIZE;
	return pread(fd, &ent, sizeof(ent), (uintptr_t)g / PAGE_SIZE * sizeof(ent)) ==
		       sizeof(ent) &&
	       (ent & PME_GUARD);
}

/*
 * Guard regions: can we install one (restore), and does pagemap report it
 * (dump: otherwise a guard reads as a swapped page that cannot be read).
 */
static void probe_guards(struct kfeat *kf)
{
	char *p;
	int fd;

	p = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		pr_debug("kerndat: mmap: %s", strerror(errno));
		return;
	}
	if (madvise(p + PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL)) {
		pr_debug("kerndat: MADV_GUARD_INSTALL: %s", strerror(errno));
		goto out;
	}
	kf->guard_install = true;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_debug("kerndat: /proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	kf->pagemap_guard = sees_guard(kf, fd, p + PAGE_SIZE);
	close(fd);
out:
	munmap(p, 2 * PAGE_SIZE);
}

static pid_t read_pid_max(void)
{
	long v = 0;
	FILE *f;

	f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 ? v : 32768;
}

static bool pid_in_use(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/*
 * Restore creates every process with its dumped pid, so do exactly that with
 * a pid nobody uses. Only the pid's availability can race, and that gives
 * EEXIST: try another. The child is the one probe_ptrace() traces: a
 * process made costs this VM about 1.2 ms, and every snap command probes.
 * Returns the child (from fork() if clone3 could not make it), or -1.
 */
static pid_t probe_clone3_set_tid(struct kfeat *kf)
{
	pid_t pid_max = read_pid_max(), want, child = -1;
	struct clone_args args;
	int i;

	want = getpid();
	for (i = 0; i < 32 && child < 0; i++) {
		want += 1000;
		if (want >= pid_max)
			want = 300 + want % (pid_max - 300);
		if (pid_in_use(want))
			continue;
		memset(&args, 0, sizeof(args));
		args.exit_signal = SIGCHLD;
		args.set_tid = (uintptr_t)&want;
		args.set_tid_size = 1;
		child = syscall(SYS_clone3, &args, sizeof(args));
		if (child == 0)
			child_wait();
		if (child < 0 && errno != EEXIST) {
			pr_debug("kerndat: clone3 set_tid=%d: %s", want, strerror(errno));
			break;
		}
	}
	if (child > 0) {
		kf->clone3_set_tid = child == want;
		return child;
	}
	if (i == 32)
		pr_debug("kerndat: clone3 set_tid: no free pid found to try");
	child = fork();
	if (child == 0)
		child_wait();
	if (child < 0)
		pr_debug("kerndat: fork: %s", strerror(errno));
	return child;
}

static void probe_pidfd_getfd(struct kfeat *kf)
{
	int pidfd, fd;

	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0) {
		pr_debug("kerndat: pidfd_open: %s", strerror(errno));
		return;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	if (fd >= 0) {
		kf->pidfd_getfd = true;
		close(fd);
	} else {
		pr_debug("kerndat: pidfd_getfd: %s", strerror(errno));
	}
	close(pidfd);
}

static void probe_caps(struct kfeat *kf)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data)) {
		pr_debug("kerndat: capget: %s", strerror(errno));
		return;
	}
	kf->cap_sys_resource =
		data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE);
}

int kerndat_probe(struct kfeat *kf)
{
	struct utsname u;
	pid_t child;

	memset(kf, 0, sizeof(*kf));
	if (uname(&u) == 0)
		snprintf(kf->kernel, sizeof(kf->kernel), "%s", u.release);
	child = probe_clone3_set_tid(kf);
	if (child > 0)
		probe_ptrace(kf, child);
	probe_uffd(kf);
	probe_pagemap_scan(kf);
	probe_guards(kf);
	probe_pidfd_getfd(kf);
	probe_caps(kf);
	pr_debug("kerndat: kernel %s seize %d syscall_info %d uffd %d dev %d features %#llx "
		 "pagemap_scan %d guard_install %d pagemap_guard %d clone3_set_tid %d "
		 "pidfd_getfd %d cap_sys_resource %d xsave %u",
		 kf->kernel, kf->ptrace_seize, kf->ptrace_syscall_info, kf->uffd, kf->uffd_dev,
		 (unsigned long long)kf->uffd_features, kf->pagemap_scan, kf->guard_install,
		 kf->pagemap_guard, kf->clone3_set_tid, kf->pidfd_getfd, kf->cap_sys_resource,
		 kf->xsave_size);
	return 0;
}
