/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw x86_64 syscalls for the freestanding blobs (parasite, restorer), which
 * cannot use libc. Errors come back as -errno, as the kernel returns them.
 */
#ifndef SNAP_PIE_SYSCALL_H
#define SNAP_PIE_SYSCALL_H

#include <asm/unistd.h>

static inline long __sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define __L(x) ((long)(x))
#define sys0(nr) __sys6(nr, 0, 0, 0, 0, 0, 0)
#define sys1(nr, a) __sys6(nr, __L(a), 0, 0, 0, 0, 0)
#define sys2(nr, a, b) __sys6(nr, __L(a), __L(b), 0, 0, 0, 0)
#define sys3(nr, a, b, c) __sys6(nr, __L(a), __L(b), __L(c), 0, 0, 0)
#define sys4(nr, a, b, c, d) __sys6(nr, __L(a), __L(b), __L(c), __L(d), 0, 0)
#define sys5(nr, a, b, c, d, e) __sys6(nr, __L(a), __L(b), __L(c), __L(d), __L(e), 0)
#define sys6(nr, a, b, c, d, e, f) __sys6(nr, __L(a), __L(b), __L(c), __L(d), __L(e), __L(f))

#define sys_read(fd, buf, n) sys3(__NR_read, fd, buf, n)
#define sys_write(fd, buf, n) sys3(__NR_write, fd, buf, n)
#define sys_pread(fd, buf, n, off) sys4(__NR_pread64, fd, buf, n, off)
#define sys_close(fd) sys1(__NR_close, fd)
#define sys_mmap(a, l, p, f, fd, o) sys6(__NR_mmap, a, l, p, f, fd, o)
#define sys_shmat(id, addr, flg) sys3(__NR_shmat, id, addr, flg)
#define sys_munmap(a, l) sys2(__NR_munmap, a, l)
#define sys_mprotect(a, l, p) sys3(__NR_mprotect, a, l, p)
#define sys_mremap(o, ol, nl, f, n) sys5(__NR_mremap, o, ol, nl, f, n)
#define sys_madvise(a, l, adv) sys3(__NR_madvise, a, l, adv)
#define sys_mlock2(a, l, f) sys3(__NR_mlock2, a, l, f)
#define sys_ioctl(fd, cmd, arg) sys3(__NR_ioctl, fd, cmd, arg)
#define sys_prctl(o, a, b, c, d) sys5(__NR_prctl, o, a, b, c, d)
#define sys_exit_group(c) sys1(__NR_exit_group, c)
#define sys_getpid() sys0(__NR_getpid)
#define sys_gettid() sys0(__NR_gettid)
#define sys_rt_sigaction(s, act, old, sz) sys4(__NR_rt_sigaction, s, act, old, sz)
#define sys_rt_sigprocmask(h, set, old, sz) sys4(__NR_rt_sigprocmask, h, set, old, sz)
#define sys_sigaltstack(ss, old) sys2(__NR_sigaltstack, ss, old)
#define sys_getitimer(w, v) sys2(__NR_getitimer, w, v)
#define sys_setitimer(w, v, o) sys3(__NR_setitimer, w, v, o)
#define sys_prlimit(pid, r, n, o) sys4(__NR_prlimit64, pid, r, n, o)
#define sys_socket(d, t, p) sys3(__NR_socket, d, t, p)
#define sys_connect(fd, a, l) sys3(__NR_connect, fd, a, l)
#define sys_sendmsg(fd, m, f) sys3(__NR_sendmsg, fd, m, f)
#define sys_recvmsg(fd, m, f) sys3(__NR_recvmsg, fd, m, f)
#define sys_userfaultfd(f) sys1(__NR_userfaultfd, f)
#define sys_arch_prctl(c, a) sys2(__NR_arch_prctl, c, a)
#define sys_setresuid(r, e, s) sys3(__NR_setresuid, r, e, s)
#define sys_setresgid(r, e, s) sys3(__NR_setresgid, r, e, s)
#define sys_setfsuid(u) sys1(__NR_setfsuid, u)
#define sys_setfsgid(g) sys1(__NR_setfsgid, g)
#define sys_setgroups(n, l) sys2(__NR_setgroups, n, l)
#define sys_capset(h, d) sys2(__NR_capset, h, d)
#define sys_capget(h, d) sys2(__NR_capget, h, d)
#define sys_rt_sigqueueinfo(p, s, i) sys3(__NR_rt_sigqueueinfo, p, s, i)
#define sys_rt_tgsigqueueinfo(p, t, s, i) sys4(__NR_rt_tgsigqueueinfo, p, t, s, i)
#define sys_umask(m) sys1(__NR_umask, m)
#define sys_clock_gettime(c, t) sys2(__NR_clock_gettime, c, t)
#define sys_futex(u, op, v) sys6(__NR_futex, u, op, v, 0, 0, 0)
#define sys_rseq(p, len, fl, sig) sys4(__NR_rseq, p, len, fl, sig)
#define sys_set_robust_list(h, len) sys2(__NR_set_robust_list, h, len)
#define sys_set_tid_address(p) sys1(__NR_set_tid_address, p)

#endif
