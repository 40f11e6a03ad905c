/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What snap and its freestanding blobs share: the parasite's argument area
 * and command set, and the restorer's argument area. All addresses in here
 * are addresses in the process the blob runs in.
 */
#ifndef SNAP_PROTOCOL_H
#define SNAP_PROTOCOL_H

#include <linux/types.h>

#include "sigframe.h"

#define BLOB_STACK_SIZE (64 * 1024)
#define K_NSIG 64
#define K_RLIM_NLIMITS 16

struct k_sigaction {
	__u64 handler;
	__u64 flags;
	__u64 restorer;
	__u64 mask;
};

struct k_timeval {
	__s64 sec, usec;
};

struct k_itimerval {
	struct k_timeval interval, value;
};

struct k_rlimit {
	__u64 cur, max;
};

struct k_timespec {
	__s64 sec, nsec;
};

struct k_itimerspec {
	struct k_timespec interval, value;
};

/* ---- parasite ---- */

enum parasite_cmd {
	PARASITE_CMD_DUMP_MISC = 1,	/* fill parasite_args.misc */
	PARASITE_CMD_FINI,		/* close the socket and rt_sigreturn */
	/*
	 * Comes with an fd of /dev/userfaultfd: make a uffd in our mm, register
	 * live.iov[0, nr_iov) for write-protect faults and send the uffd back.
	 * snap write-protects the ranges itself once we are gone: our own
	 * syscalls make the kernel write to the task's memory (rseq), and no
	 * one would serve those faults while snap waits for us.
	 */
	PARASITE_CMD_UFFD_ARM,
	/*
	 * Comes with nr_pipes pipe write ends: vmsplice live.iov into them,
	 * pipe i taking iov[pipe_end[i-1], pipe_end[i]), and close them.
	 */
	PARASITE_CMD_VMSPLICE,
	/*
	 * Comes with one fd: dup3() it onto replace.fd[0, nr), close-on-exec
	 * where replace.cloexec[i], then close it. snap swaps a file of the
	 * task for an equivalent it made (a unix socket whose connection,
	 * not yet accepted, it had to make again to read what was queued).
	 */
	PARASITE_CMD_REPLACE_FD,
	/*
	 * Comes with an fd of /dev/userfaultfd: make a uffd in our mm with
	 * track.features (asynchronous write-protect: writes are never stopped,
	 * the kernel only marks the page written), keep it at a free fd number
	 * high in our table (track.fd, close-on-exec) and send it back. It is
	 * the write tracker of incremental dumps: it must outlive snap, which
	 * registers and protects the ranges itself (snap/mem/track.c).
	 */
	PARASITE_CMD_TRACK_ARM,
	/* Close the fds track.drop[0, nr_drop): trackers a dump took over. */
	PARASITE_CMD_TRACK_DROP,
	/*
	 * Fork the holder of a live dump: a process with a copy of our mm, so
	 * the kernel keeps the pages as they are now whatever we write, unmap
	 * or discard later (copy-on-write). It keeps only one end of a socket
	 * pair; for each struct holder_drop read there it madvise()s that
	 * range of its copy (the pages are saved), and it exits when snap
	 * closes the other end. Sends back that end and a pidfd of the holder;
	 * its pid in our namespace goes to live.holder_pid (-errno: no holder,
	 * no fds). It is our child if snap asks (live.holder_direct) or we
	 * are a reaper of orphans, and then holder_direct says so.
	 */
	PARASITE_CMD_HOLD_FORK,
};

/*
 * What the holder of a live dump reads: a range snap has saved, to drop
 * (MADV_DONTNEED), or first, where snap's read swapped pages in, to give
 * back to swap (MADV_PAGEOUT).
 */
struct holder_drop {
	__u64 addr, len;
	__u32 advice;
};

#define PARASITE_MAX_IOV 4096
#define PARASITE_MAX_TIMERS 256
#define PARASITE_MAX_PIPES 16

struct parasite_iov {
	__u64 base, len;
};

/* Arguments of the live-snapshot commands. */
struct parasite_live {
	__u64 uffd_features;		/* UFFDIO_API features to ask for */
	__u32 nr_iov;
	__u32 nr_pipes;
	__s32 holder_pid;		/* result of HOLD_FORK: the holder's pid */
	__u32 holder_direct;		/* HOLD_FORK: a child of ours, to reap (else an orphan); set by both */
	__u32 pipe_end[PARASITE_MAX_PIPES];
	struct parasite_iov iov[PARASITE_MAX_IOV];
};

#define PARASITE_MAX_REPLACE 64

/* Arguments of PARASITE_CMD_REPLACE_FD. */
struct parasite_replace {
	__u32 nr;
	__s32 fd[PARASITE_MAX_REPLACE];
	__u8 cloexec[PARASITE_MAX_REPLACE];
};

#define PARASITE_MAX_DROP 16

/* Arguments of the tracker commands. */
struct parasite_track {
	__u64 features;			/* UFFDIO_API features */
	__s32 fd;			/* result of TRACK_ARM: the tracker's fd number */
	__u32 nr_drop;
	__s32 drop[PARASITE_MAX_DROP];
};

/* One message each way on the seqpacket socket. */
struct parasite_msg {
	__u32 cmd;
	__s32 ret;			/* reply: 0 or -errno */
};

#define TIMER_QUEUED 1			/* its signal is queued */
#define TIMER_DEQUEUE 2			/* ... and first of its signo: dequeue to read si_overrun */

/* A POSIX timer: snap fills it from /proc/PID/timers, the parasite reads the rest. */
struct parasite_timer {
	__s32 id, clock;
	__u32 notify, signo, notify_tid;
	__u32 flags;			/* TIMER_* */
	__u64 sigval;
	/* results */
	__u32 overrun;			/* si_overrun if queued, else timer_getoverrun() */
	struct k_itimerspec val;	/* timer_gettime(), after the dequeue if any */
};

struct parasite_timers {
	__u32 nr;
	struct parasite_timer t[PARASITE_MAX_TIMERS];
};

/* Process state only the process itself can read. */
struct parasite_misc {
	struct k_sigaction sa[K_NSIG];	/* index = signo - 1 */
	struct k_itimerval itimers[3];
	struct k_rlimit rlimits[K_RLIM_NLIMITS];
	struct k_stack altstack;
	__u32 umask;
	__u32 secbits;
	__u32 dumpable;
	__u64 brk;			/* brk(0): the exact program break */
	__u64 tid_address;		/* PR_GET_TID_ADDRESS: clear_child_tid */
	/* prctl() state */
	__u32 no_new_privs, child_subreaper, thp_disable, pdeath_signal;
	__u64 timerslack_ns;
	/* mm state: mlockall(MCL_FUTURE [| MCL_ONFAULT]) in force, PR_SET_MEMORY_MERGE */
	__u32 mlock_future, ksm_merge_any;
	struct parasite_timers timers;	/* snap fills in what /proc/PID/timers says */
};

/* Where syscalls snap injects into the other threads leave their results. */
struct parasite_thread_out {
	struct k_stack altstack;	/* sigaltstack(NULL, &altstack) */
	__u64 tid_address;		/* prctl(PR_GET_TID_ADDRESS, &tid_address) */
};

struct parasite_args {
	/* set by the host */
	struct {
		__u16 family;		/* AF_UNIX */
		char path[108];		/* abstract: path[0] == 0 */
	} addr;				/* snap's listening socket */
	__u32 addr_len;			/* socklen of addr */
	__u64 sigframe;			/* &frame.uc, the %rsp for rt_sigreturn */
	/* results */
	__s32 sock;			/* our socket's fd number: not one of the task's files */
	struct parasite_misc misc;
	struct parasite_thread_out thread;
	struct parasite_live live;
	struct parasite_replace replace;
	struct parasite_track track;
	struct sigframe_area frame;
};

/* ---- restorer ---- */

enum rst_vma_kind {
	RST_VMA_ANON = 1,		/* values match VmaKind in mm.proto */
	RST_VMA_FILE_PRIVATE,
	RST_VMA_FILE_SHARED,
	RST_VMA_VDSO,
	RST_VMA_VVAR,
	RST_VMA_SHMEM,			/* mapped from fd */
	RST_VMA_PACKET_RING,		/* a packet socket's ring, from fd, turned: ring_* */
	RST_VMA_SYSV,			/* restorer only: shmat(fd = the shmid) */
};

enum rst_vma_lock {
	RST_VMA_UNLOCKED = 0,		/* values match VmaLock in vma-attrs.proto */
	RST_VMA_LOCKED,
	RST_VMA_LOCKED_ONFAULT,
};

struct rst_vma {
	__u64 start, end, pgoff;
	__u32 prot, flags;		/* final PROT_*, MAP_* */
	__u32 kind;
	__s32 fd;			/* backing file, or -1 */
	__u64 madv;			/* bit n: madvise(n) once filled */
	__u32 lock;			/* enum rst_vma_lock, applied last */
	__u32 shm_rw;			/* RST_VMA_SYSV: attach read-write (mprotect may write) */
	/*
	 * RST_VMA_SYSV at offset 0: bytes the attachment maps, and of them the
	 * bytes this mapping and the parts after it cover (the rest is unmapped
	 * after the shmat). A later part (pgoff > 0) is mapped by its first's.
	 */
	__u64 shm_len, shm_run;
	/*
	 * Premapped (snap/mem/cow.h): where snap mapped and filled it before
	 * the fork, to be moved to start; its pages are in place. 0: not.
	 */
	__u64 premap;
	/*
	 * RST_VMA_PACKET_RING: the bytes the ring maps, and how far it turned:
	 * old offset o (pgoff) is at (o - ring_shift) mod ring_size now.
	 */
	__u64 ring_size, ring_shift;
};

struct rst_pagemap {
	__u64 vaddr;
	__u64 nr_pages;
};

struct rst_range {
	__u64 start, end;
};

/* prctl(PR_SET_MM_MAP) argument, uapi struct prctl_mm_map. */
struct rst_mm_map {
	__u64 start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	__u64 arg_start, arg_end, env_start, env_end;
	__u64 auxv;
	__u32 auxv_size;
	__u32 exe_fd;
};

struct rst_creds {
	__u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	__u32 ngroups;
	__u32 groups[64];
	__u64 cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	__u32 secbits;
	__u32 last_cap;
};

struct rst_stats {
	__u64 pages_moved;
	__u64 pages_in_place;
	__u64 mem_ns;
};

/*
 * How the pages went in (restorer-fill.c). Times are summed over the
 * threads that filled, so they may add up to more than mem_ns.
 */
struct rst_fill_stats {
	__u32 workers;			/* threads that filled: the leader and its helpers */
	__u32 pad;
	__u64 pages_copied;		/* UFFDIO_COPY: 4 KiB pages */
	__u64 pages_huge;		/* moved in as whole huge pages */
	__u64 setup_ns;			/* uffd, registration, staging, helpers */
	__u64 read_ns;			/* reading the pages file into the staging area */
	__u64 place_ns;			/* copying or moving from there into place */
};

#define RST_MAX_FILL_HELPERS 7

/* prctl() state, applied after the creds (a uid change clears pdeath_signal). */
struct rst_prctl {
	__u32 valid;			/* 0: an image without it, keep the defaults */
	__u32 no_new_privs, child_subreaper, thp_disable, pdeath_signal;
	__u64 timerslack_ns;
};

struct rst_timer {
	__s32 id, clock;
	__u32 notify, signo, notify_tid;
	__u32 pending;			/* re-fire it, so that its signal is queued */
	__u64 sigval;
	__u32 overrun;			/* the si_overrun its queued signal carries */
	struct k_itimerspec val;
};

struct rst_seccomp_filter {
	__u64 insns;			/* struct sock_filter[len] */
	__u32 len;
	__u32 flags;			/* SECCOMP_FILTER_FLAG_* */
};

/* One thread's seccomp state; each thread installs its own (seccomp is per thread). */
struct rst_seccomp {
	__u32 mode;			/* SECCOMP_MODE_* */
	__u32 nr_filters;
	__u64 filters;			/* struct rst_seccomp_filter[nr_filters], oldest first */
	__u32 nr_tsync;			/* the leader's: its first ones go to every thread (TSYNC) */
};

#define RST_MAX_SPECIAL 4
#define RST_ERR_LEN 256
#define RST_THREAD_STACK (32 * 1024)

/* Pid namespace levels a restored thread's clone3 sets (set_tid), its own and the tree's. */
#define RST_MAX_SET_TIDS 32

/* One thread of the restored process; threads[0] is the leader. */
struct rst_thread {
	__s32 tid;			/* in its own pid namespace */
	__u32 nr_pending;
	__u64 pending;			/* __u8[nr_pending][128], thread-directed */
	__u64 fs_base, gs_base;
	__u64 rseq;			/* rseq(2) area, or 0 */
	__u32 rseq_len, rseq_sig;
	__u64 robust_list, robust_list_len;	/* set_robust_list(), if len */
	__u64 clear_tid;		/* set_tid_address() */
	char comm[16];
	__u64 stack;			/* not the leader: RST_THREAD_STACK bytes of stack */
	__u64 args;			/* struct restorer_args *, for the thread */
	struct sigframe_area frame;
	/* Not the leader: its filters after the leader's nr_tsync, or its strict mode. */
	struct rst_seccomp seccomp;
	/* clone3's set_tid: tid first, then each pid namespace up to the tree's root's. */
	__s32 set_tids[RST_MAX_SET_TIDS];
	__u32 nr_set_tids;
	struct rst_creds creds;		/* its own, or the process's */
};

struct restorer_args {
	/* layout */
	__u64 bootstrap_start, bootstrap_end;
	struct rst_range cur_special[RST_MAX_SPECIAL];	/* our vvar.., vdso now */
	__u32 nr_cur_special;
	struct rst_range dst_special[RST_MAX_SPECIAL];	/* cur_special[i] goes here */

	__u64 vmas;			/* struct rst_vma[nr_vmas] */
	__u32 nr_vmas;
	__u64 pagemap;			/* struct rst_pagemap[nr_pagemap] */
	__u32 nr_pagemap;
	__u64 guards;			/* struct rst_range[nr_guards], address order */
	__u32 nr_guards;
	__s32 pages_fd;
	__u64 staging_size;

	struct rst_mm_map mm;
	__u8 auxv[512];
	struct rst_creds creds;
	struct k_sigaction sa[K_NSIG];
	struct k_itimerval itimers[3];
	struct k_rlimit rlimits[K_RLIM_NLIMITS];
	__u32 umask;
	__u32 dumpable;
	__u32 mlock_future;		/* mlockall() flags to set again, or 0 */
	__u32 ksm_merge_any;		/* PR_SET_MEMORY_MERGE */

	__u64 siginfo;			/* __u8[nr_shared_pending][128] */
	__u32 nr_shared_pending;
	__s32 pid;
	__u64 threads;			/* struct rst_thread[nr_threads] */
	__u32 nr_threads;
	__u32 threads_ready;		/* futex: threads other than the leader set up */

	__s32 ready_fd;			/* restorer -> snap: "about to sigreturn" */
	__s32 go_fd;			/* snap -> restorer: "go" */
	__s32 service_fd_base;		/* close everything from here up... */
	__s32 keep_service_fds;		/* ...unless another process shares the fd table: snap does */

	/* results, read by snap through the shared mapping */
	struct rst_stats stats;
	__s32 failed;
	char err[RST_ERR_LEN];

	struct rst_prctl prctl;
	__u64 timers;			/* struct rst_timer[nr_timers] */
	__u32 nr_timers;
	struct rst_seccomp seccomp;	/* the main thread's */

	/* The premapped areas (rst_vma.premap) where they are now, in address order. */
	__u64 premaps;			/* struct rst_range[nr_premaps] */
	__u32 nr_premaps;

	/*
	 * Threads that help the leader fill memory, made with these tids: snap
	 * picks free ones that no process or thread of the tree has, so that
	 * none is taken while they run. They are gone before the process's own
	 * threads are made. 0: the leader fills alone.
	 */
	__u32 nr_fill_helpers;
	__s32 fill_tids[RST_MAX_FILL_HELPERS];
	struct rst_fill_stats fill;	/* result */

	/*
	 * Lazy restore (lazy-vma.h): the lazy mappings are not filled but
	 * registered with a uffd left open at lazy_uffd, for the lazy-pages
	 * server.
	 */
	__u32 lazy;			/* set by snap: restore --lazy-pages */
	__s32 lazy_uffd;		/* result: the uffd's fd number, or -1 */

	/*
	 * Set by snap once it seized the process. TracerPid cannot tell: it
	 * is 0 in a pid namespace that does not see snap.
	 */
	__u32 traced;
};

#endif
