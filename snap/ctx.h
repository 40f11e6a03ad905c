/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The explicit state passed down every call: command-line options, kernel
 * features (probed once), statistics, and the per-command context of dump and
 * restore. Nothing here is global; whoever needs it gets a pointer.
 */
#ifndef SNAP_CTX_H
#define SNAP_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "netlock.pb-c.h"
#include "ns.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef PAGE_SIZE
#define PAGE_SIZE 4096UL
#endif
/* What the kernel appends to the path of a file or directory no longer linked. */
#define DELETED_SUFFIX " (deleted)"
#define IMG_VERSION 1

/* snap netlock --list, --unlock (-D DIR or --all), --lock -D DIR. */
enum netlock_op { NETLOCK_OP_NONE, NETLOCK_OP_LIST, NETLOCK_OP_UNLOCK, NETLOCK_OP_LOCK };

struct action_notifier;

/*
 * --inherit-fd fd[N]:KEY (CRIU's): at restore, a file whose key is KEY
 * ("pipe:[INO]", "socket:[INO]" or a path) is not reopened: it is snap's
 * fd N, as the caller handed it over (runc: the container's stdio pipes).
 */
struct inherit_fd {
	int fd;
	const char *key;
};

/*
 * --manage-cgroups=MODE, CRIU's modes (snap/cgroup/README.md). 0 is soft,
 * CRIU's default, what an option left out means.
 */
enum cg_mode {
	CG_MODE_SOFT = 0,	/* make what is missing; set the properties of what snap made */
	CG_MODE_IGNORE,		/* cgroups are neither saved nor restored */
	CG_MODE_NONE,		/* the cgroups must exist; no property is set */
	CG_MODE_PROPS,		/* the cgroups must exist; their properties are set */
	CG_MODE_FULL,		/* make what is missing; set every property, the root's too */
	CG_MODE_STRICT,		/* the cgroups below the root must not exist: made as full */
};

/* --cgroup-root [CTRL:]PATH: where the root task's cgroup goes at restore. */
struct cg_root_opt {
	const char *ctrl;	/* a controller, "name=N", "unified"; NULL: every other */
	const char *path;	/* absolute, in that hierarchy */
};

struct ext_ns {
	uint64_t inode;
	const char *key;
};

struct snap_opts {
	const char *images_dir;		/* -D */
	const char *log_file;		/* -o */
	const char *pidfile;		/* --pidfile (restore) */
	int verbosity;			/* -v N */
	pid_t pid;			/* -t */
	bool shell_job;			/* --shell-job */
	bool leave_running;		/* --leave-running */
	bool leave_stopped;		/* --leave-stopped: dump, restore: the tree ends stopped */
	bool display_stats;		/* --display-stats */
	bool detach;			/* -d */
	unsigned int pid_wait_ms;	/* --pid-wait-ms: how long restore waits for a busy PID */
	bool no_live;			/* --no-live: stop-the-world even with -R */
	bool live_splice;		/* --live-hold=splice: pipes and write protection, no holder */
	uint64_t cow_limit;		/* --cow-limit: bytes held for copied pages */
	bool file_locks;		/* --file-locks: dump file locks (else refuse them) */
	uint64_t ghost_limit;		/* --ghost-limit: data saved of a deleted file, at most */
	bool link_remap;		/* --link-remap: link unlinked files with other links back */
	/*
	 * --ext-unix-sk[=INO,...]: unix sockets may be connected to sockets
	 * outside the tree (only to these inodes, if listed); restore
	 * connects them again by name.
	 */
	bool ext_unix_sk;
	uint32_t *ext_unix_inos;
	size_t nr_ext_unix_inos;
	NetlockMethod network_lock;	/* --network-lock: nft (default) or skip */
	const char **action_scripts;	/* --action-script, in the order given */
	size_t nr_action_scripts;
	enum netlock_op netlock_op;	/* snap netlock: what it does */
	bool netlock_all;
	struct netlock_conn *lock_conns;	/* --lock-conn: netlock --lock, and dump */
	size_t nr_lock_conns;
	/*
	 * --tcp-established: dump saves established TCP connections (through
	 * TCP_REPAIR). --tcp-close: dump saves them without their state, and
	 * restore gives every saved one back closed. Without either, a dump
	 * of an established connection is refused.
	 */
	bool tcp_established;
	bool tcp_close;
	/*
	 * --tcp-skip-in-flight: connections not accepted yet are left out of
	 * their listener, and a connect() in progress is saved as a socket
	 * never connected, as with -R, instead of refusing the dump.
	 */
	bool tcp_skip_in_flight;
	/*
	 * --prev-images-dir DIR (dump, pre-dump): the parent set, relative to
	 * -D; only the pages written since it are saved. --track-mem: CRIU's
	 * flag, accepted (a pre-dump always tracks; a dump ends the tracking).
	 */
	const char *prev_images_dir;
	bool track_mem;
	/*
	 * --page-server (dump): the pages go over TCP to `snap page-server`
	 * at --address, --port; the other images are written in -D. snap
	 * page-server listens at --address (default: any), --port (0: any
	 * free port, logged); --daemon: in the background once it listens;
	 * --status-fd: "\0" written there once it listens.
	 */
	bool page_server;
	const char *address;
	int port;			/* -1: not given */
	bool daemon;
	int status_fd;			/* -1: none */
	/*
	 * Set when a runtime drives snap over RPC (snap swrk): every hook is
	 * also told to it, and it may fail the command (cr/action-script.h).
	 */
	const struct action_notifier *notifier;
	/*
	 * restore: the root process is made a child of snap's parent (RPC
	 * rst_sibling), which then waits for it, as runc does; implies -d.
	 */
	bool rst_sibling;
	bool lazy_pages;		/* --lazy-pages: restore leaves anonymous memory to lazy-pages */
	struct inherit_fd *inherit_fds;	/* --inherit-fd, in the order given */
	size_t nr_inherit_fds;
	/*
	 * --evasive-devices (restore): a device file whose saved path is gone
	 * is reopened through any node of the same device (under /dev).
	 */
	bool evasive_devices;
	/*
	 * --orphan-pts-master (restore): a pty slave whose master was outside
	 * the tree gets a new pty; its master goes to the RPC caller.
	 */
	bool orphan_pts_master;
	const char *work_dir;		/* --work-dir: where a relative -o goes */
	/*
	 * --empty-ns net: dump saves nothing of the tree's net namespace and
	 * restore makes it new and empty (loopback up): the caller sets it up
	 * in its setup-namespaces hook. A mask of CLONE_NEW* flags.
	 */
	unsigned long empty_ns;
	/* --join-ns NS:PATH: restore joins this namespace instead of making one, by NsKind. */
	const char *join_ns[NS_KIND__NS_TIME + 1];
	/*
	 * --external net[INODE]:KEY, pid[INODE]:KEY (dump), by NsKind: the
	 * tree's namespace of that kind is the caller's (its inode must be
	 * INODE): nothing of it is saved and ns.img names it KEY; restore joins
	 * the namespace that --inherit-fd fd[N]:KEY hands over. key NULL: not
	 * given.
	 */
	struct ext_ns ext_ns[NS_KIND__NS_TIME + 1];
	/* --manage-cgroups, --cgroup-root, --freeze-cgroup: snap/cgroup/README.md */
	enum cg_mode manage_cgroups;
	struct cg_root_opt *cgroup_roots;
	size_t nr_cgroup_roots;
	const char *freeze_cgroup;	/* dump: the cgroup to freeze while the tree is seized */
	/*
	 * --new-pidns (restore): the tree comes back in a new pid namespace,
	 * keeping its pids there, under a pid 1 of snap's (cr/restore-pidns.c).
	 */
	bool new_pidns;
	/*
	 * Mount namespaces (ns/mnt.h). --root DIR: restore rebuilds the
	 * tree's mounts on DIR (default: a bind of snap's /). --external
	 * mnt[KEY]:VAL and --ext-mount-map KEY:VAL, in the order given: at
	 * dump, the mount at mountpoint KEY is external, saved as key VAL;
	 * at restore, key KEY is bound from host path VAL.
	 */
	const char *root;
	struct ext_mount *ext_mounts;
	size_t nr_ext_mounts;
};

struct ext_mount {
	const char *key, *val;
};

/* Kernel features, probed once by kerndat_probe(). */
struct kfeat {
	char kernel[65];		/* uname -r */
	bool ptrace_seize;
	bool ptrace_syscall_info;	/* PTRACE_GET_SYSCALL_INFO */
	bool uffd;			/* userfaultfd(2) usable */
	bool uffd_dev;			/* /dev/userfaultfd + USERFAULTFD_IOC_NEW */
	uint64_t uffd_features;		/* UFFDIO_API features offered */
	bool pagemap_scan;		/* PAGEMAP_SCAN ioctl */
	bool pagemap_guard;		/* pagemap reports guard regions (PAGE_IS_GUARD, bit 58) */
	bool guard_install;		/* madvise(MADV_GUARD_INSTALL) */
	bool clone3_set_tid;
	bool pidfd_getfd;
	bool cap_sys_resource;		/* may raise rlimits past the hard limit */
	unsigned int xsave_size;	/* NT_X86_XSTATE buffer size */
};

struct dump_stats {
	uint64_t t_start;		/* CLOCK_MONOTONIC ns, command start */
	uint64_t t_frozen;		/* every thread stopped */
	uint64_t t_unfrozen;		/* target running again (or killed) */
	uint64_t t_mem_start, t_mem_end;
	uint64_t pageout_ns;		/* mem_pageout_swapped(), after the target resumed */
	uint64_t t_end;
	uint64_t pages_scanned;		/* pages in dumpable VMAs */
	uint64_t pages_written;		/* pages in pages-*.img */
	uint64_t pages_spliced;		/* of pages_written, put there from pipes: one copy */
	uint64_t pages_in_parent;	/* pages left to the parent set (--prev-images-dir) */
	uint64_t pages_swapped;		/* written pages that were in swap */
	uint64_t pages_paged_out;	/* of those, pushed back out after a -R dump */
	uint64_t shmem_objects;		/* shared memory objects in shmem.img */
	uint64_t shmem_pages;		/* their pages in shmem-pages-*.img */
	uint64_t shmem_swapped;		/* of which were in swap */
	uint64_t shmem_streamed;	/* of which were streamed after the freeze */
	uint64_t cow_faults;		/* pages saved first: before a write (splice), or kept by the holder alone */
	uint64_t cow_peak;		/* most bytes held in the copy buffer, or by the holder alone */
	uint64_t cow_wait_ns;		/* writers held while the buffer drained, tasks while the holder's went */
	uint64_t stream_yield_ns;	/* the streams slept, giving way to their tasks (live-yield.c) */
	uint64_t live_holders;		/* processes whose pages a forked holder kept */
	uint64_t hold_fork_ns;		/* of parasite_ns: the holders' forks (or what was read meanwhile) */
	/* Where the frozen time goes (--display-stats "frozen:" lines), ns. */
	uint64_t parasite_ns;		/* infect, misc state, trackers, cure */
	uint64_t scan_ns;		/* page_collect() and the tracker's split */
	uint64_t read_ns;		/* pages copied out of the tasks, frozen */
	uint64_t write_ns;		/* frozen pages into their sinks */
	uint64_t t_release;		/* the tree let go (killed or resumed) from here */
	uint64_t pages_held;		/* of pages_written, held in memory until the kill */
	uint64_t held_write_ns;		/* writing them, the tree gone */
	uint64_t kill_wait_ns;		/* after the frozen time: the killed tree torn down */
	/* Catch-up rounds before the freeze (mem/track.h), the tree running. */
	uint64_t catchup_rounds;
	uint64_t catchup_copied;	/* pages copied in them, recopies included */
	uint64_t catchup_ns;
	uint64_t pages_caught_up;	/* of pages_written, copies from the rounds */
};

struct restore_stats {
	uint64_t t_start, t_forked, t_end;
	uint64_t pages_moved;		/* UFFDIO_MOVE'd from the staging area */
	uint64_t pages_in_place;	/* read straight into the final mapping */
	uint64_t mem_ns;		/* time the restorer spent filling memory */
};

struct vma_range {
	uint64_t start, end;
};

/* One VMA as read from /proc/PID/smaps, before it becomes a VmaEntry. */
struct vma {
	uint64_t start, end, pgoff;
	uint32_t prot, flags;		/* PROT_*, MAP_* */
	VmaKind kind;
	uint64_t madv;			/* bit n: madvise(n) applies (VmFlags) */
	uint32_t lock;			/* VmaLock, 0 if not mlocked */
	uint64_t page_size;		/* smaps KernelPageSize: > 4 KiB for hugetlb */
	dev_t dev;
	ino_t ino;
	char *path;			/* backing file or [name], malloc'd */
	bool deleted;			/* backing file was unlinked */
	bool ghost_noted;		/* deleted: its ghost is known (mm_note_ghosts()) */
	uint32_t ghost_id;		/* ... and this is its id */
	bool may_write;			/* VmFlags "mw": MAP_SHARED and the file open for writing */
	bool stale_parasite;		/* left by a killed snap: unmapped, not dumped */
	uint64_t anon_kb;		/* smaps Anonymous: (0 when read from maps) */
	uint32_t shmem_id;		/* VMA_SHMEM: its object in shmem.img */
	struct vma_range *guards;	/* MADV_GUARD_INSTALL ranges, found with the pages */
	size_t nr_guards;
	struct vma_range *inherited;	/* pages shared with the parent's: mem/cow.h */
	size_t nr_inherited;
};

struct vma_list {
	struct vma *v;
	size_t nr;
};

struct parasite_ctl;
struct thread_state;

struct range_list {
	struct vma_range *r;
	size_t nr, cap;
};

struct live_dump;
struct stw_task;
struct track_task;
struct track_parent;
struct track_catchup;

/* A process of the dumped tree: tasks[0] is the root, parents come first. */
struct dump_task {
	pid_t pid, ppid, pgid, sid;	/* host pids: what snap traces, kills and reads /proc by */
	/*
	 * The same in the tree's root's pid namespace, as the images hold
	 * them (proc/vpid.h); vtids as threads[], NULL in snap's namespace.
	 */
	pid_t vpid, vpgid, vsid;
	pid_t *vtids;
	/*
	 * In a pid namespace nested @nest levels below its root's (ns/pid-nest.h):
	 * its pids there, outermost first, and each thread's (nstids[k * nest + j]).
	 */
	int nest;
	pid_t *nspid, *nstids;
	bool zombie;			/* only ids and exit_status are dumped */
	bool stopped;			/* in a job-control stop: stays so, comes back so */
	int stop_signo;			/* stopped: the signal of its group stop (seize) */
	bool stop_waited;		/* stopped: its parent has collected the stop (core-dump.c) */
	bool seized;
	bool shares_files;		/* its fd table is its parent's (CLONE_FILES) */
	pid_t files_owner;		/* shares_files: 0, or the sibling whose table it is */
	bool shares_fs;			/* its cwd, root, umask are its parent's (CLONE_FS) */
	bool subreaper;			/* PR_SET_CHILD_SUBREAPER: orphans below it come to it */
	int exit_status;
	pid_t *threads;			/* threads[0] is the leader */
	size_t nr_threads;
	struct thread_state *thr;	/* per thread, as threads[]; thread-dump.c */
	int pidfd;
	struct vma_list vmas;
	struct vma_list vmas_hint;	/* read before the freeze, see parse_vmas() */
	struct vma_range stale[16];	/* parasite areas of killed snaps */
	size_t nr_stale;
	/* Private pages that were in swap at the freeze (see mem-pageout.c). */
	struct range_list swapped;
	/* Its fd numbers, listed as the parasite came in, for dump_task_files() (files-dump.c). */
	int *fds;
	size_t nr_fds;
	bool files_dumped;
	struct parasite_ctl *ctl;	/* NULL when not infected */
	struct live_dump *ld;		/* live dump: its held pages and uffd */
	struct stw_task *stw;		/* stop-the-world: its pages spliced (mem/dump-stw.c) */
	struct track_task *trk;		/* incremental: its write tracker (mem/track.h) */
	NsIds *ns_ids;			/* ns/ns-ids.c, owned by dump_ctx.ns; NULL for a zombie */
};

struct file_table;
struct files_restore_state;
struct shmem_table;
struct shmem_restore;
struct ns_table;
struct ns_restore;
struct dump_mode;
struct netlock;
struct page_xfer;
struct net_ns_scope;
struct cg_freeze;
struct cg_restore;

/*
 * A TCP connection the network lock must hide while its process is down
 * (between a dump that kills it and the restore): packets of this 4-tuple
 * are dropped instead of answered with a reset. Filled by the TCP socket
 * kind, taken by the network lock (snap/net/). Addresses in network order,
 * ports in host order; IPv4 in the first 4 bytes.
 */
struct netlock_conn {
	int family;			/* AF_INET, AF_INET6 */
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
};

struct dump_ctx {
	const struct snap_opts *opts;
	const struct kfeat *kf;
	const struct dump_mode *mode;	/* how memory is saved: mem/dump-mode.h */
	int dirfd;			/* images directory */
	struct dump_stats st;
	struct dump_task *tasks;	/* tasks[0] is the root, parents first */
	size_t nr_tasks, cap_tasks;
	struct dump_task *hints;	/* tree_prepare(): read before the freeze */
	size_t nr_hints;
	struct file_table *files;	/* files.img, built across the tree */
	struct shmem_table *shmem;	/* shmem.img, built across the tree */
	struct live_dump **live_objs;	/* live: shared memory objects streamed */
	size_t nr_live_objs;
	struct ns_table *ns;		/* ns.img, built across the tree */
	struct netlock_conn *lock_conns;	/* connections the network lock hides */
	size_t nr_lock_conns, cap_lock_conns;
	size_t nr_locked;		/* of those, in the lock taken (cr/dump.c) */
	struct netlock *netlock;	/* the lock this dump took (net/netlock.h), or NULL */
	bool network_locked;		/* the network-lock hook ran: network-unlock undoes it */
	bool tree_wide_dumped;		/* the tree's namespaces and cgroups (dump_meanwhile()) */
	struct track_parent *parent;	/* --prev-images-dir: the parent set (mem/track.h) */
	bool pre_dump;			/* snap pre-dump: memory only */
	struct page_xfer *xfer;		/* --page-server: the connection (mem/page-xfer.h) */
	int pidns_level;		/* the root's pid namespace: NSpid fields (1: snap's /proc's) */
	struct cg_freeze *cg_freeze;	/* --freeze-cgroup: what cgroup/cg-freeze.c seized */
	struct page_hold *hold;		/* pages written after the kill (mem/page-hold.h), or NULL */
	struct track_catchup *catchup;	/* pages copied before the freeze (mem/track.h), or NULL */
	bool parent_runs;		/* process sinks may declare runs the parent set holds */
	/*
	 * The tree's network namespace when it is not snap's own, else NULL:
	 * snap's thread works on the tree's sockets inside it (ns/net-ns.h).
	 */
	struct net_ns_scope *netns;
	struct link_remaps *link_remaps;	/* --link-remap: links made (files/link-remap.h) */
};

struct restore_task {
	pid_t pid;			/* the image's: in the tree's pid namespace */
	/*
	 * The host pid, and each thread's (as core->threads), that snap
	 * ptraces, kills and reads /proc by; the image's pids until the
	 * tree is in a new pid namespace, then found as the tasks appear
	 * (cr/restore-pidns.c). 0: not known yet.
	 */
	pid_t real;
	pid_t *real_tids;		/* NULL: the image's tids */
	PstreeEntry *pe;
	CoreEntry *core;
	MmEntry *mm;
	PagemapEntry **pagemap;
	size_t nr_pagemap;
	uint64_t nr_pages;		/* sum of pagemap nr_pages */
	int pages_fd;			/* > 0: all its pages, the parents' too (page-chain.h) */
	/* --lazy-pages, no pages-PID.img here: lazy-pages sends them (lazy_fill()) */
	bool pages_from_lazy;
	FdinfoEntry **fds;
	size_t nr_fds;
};

struct restore_ctx {
	const struct snap_opts *opts;
	const struct kfeat *kf;
	int dirfd;
	struct restore_stats st;
	InventoryEntry *inv;
	struct restore_task *tasks;
	size_t nr_tasks;
	FileEntry **files;		/* files.img, by position */
	size_t nr_files;
	int tty_fd;			/* --shell-job: our terminal, or -1 */
	/*
	 * In the root: the ptys the mount restore made in the tree's devpts to
	 * bind their slaves somewhere (a container's /dev/console), for the
	 * files that were those ptys to take (files/files-chrdev.h, pty_new()).
	 * A taken one's master is -1.
	 */
	struct held_pty {
		uint32_t index;
		int master;
	} *held_ptys;
	size_t nr_held_ptys;
	struct files_restore_state *files_st;	/* files-restore.c: fds, kinds' state */
	struct shmem_restore *shmem;	/* shmem-restore.c */
	struct ns_restore *ns;		/* ns/ns-restore.c: ns.img and snap's own namespaces */
	struct netlock *netlock;	/* netlock.img: the dump's lock, removed at release */
	/*
	 * The tree's network namespace when it is not snap's own, made (or
	 * joined) at load, else NULL: snap makes the tree's sockets inside
	 * it (ns/net-ns.h). Owned by the net namespace's module state.
	 */
	struct net_ns_scope *netns;
	/*
	 * The tree is made in a new pid namespace (its root's was not
	 * snap's, or --new-pidns): host pids differ from the image's.
	 */
	bool new_pidns;
	struct cg_restore *cg;		/* cgroup/cg-restore.c: the tasks' cgroups */
};

/* Thread @i of @t as snap ptraces it (restore_task.real_tids). */
static inline pid_t rst_tid(const struct restore_task *t, size_t i)
{
	return t->real_tids ? t->real_tids[i] : (pid_t)t->core->threads[i]->tid;
}

uint64_t now_ns(void);
/* write() all of @buf, through short writes and EINTR. -1 with errno, not logged. */
int write_full(int fd, const void *buf, size_t len);
/*
 * pread()/pwrite() all @len bytes at @off, through short transfers and
 * EINTR. -1 with errno (ENODATA: the file ends first), not logged.
 */
int pread_full(int fd, void *buf, size_t len, off_t off);
int pwrite_full(int fd, const void *buf, size_t len, off_t off);
/* @len (> 0) bytes at @buf are all zero: a hole need not be written. */
bool all_zero(const void *buf, size_t len);
/*
 * A new open file description of what our @fd refers to, through
 * /proc/self/fd/N, opened with @flags. -1 with errno set, nothing logged.
 */
int reopen_fd(int fd, int flags);
/*
 * The file our mapping at @addr maps (a SysV attachment), opened through
 * /proc/self/map_files with @flags; its end comes from /proc/self/maps, as a
 * segment in huge pages is mapped past its size. -1 with errno, not logged.
 */
int open_own_mapping(const void *addr, int flags);
/* If @path ends in DELETED_SUFFIX, cut that off: true. */
bool cut_deleted(char *path);
/* Append the run (@vaddr, @nr_pages) to the array @v of @n entries. 0, or -1 (no memory), not logged. */
int pagemap_append(PagemapEntry ***v, size_t *n, uint64_t vaddr, uint64_t nr_pages);
/*
 * The number after "@key:" on a line of the small file @path (/proc/meminfo's
 * MemAvailable, a status' VmHWM, a pidfd's fdinfo Pid), or 0 if there is none.
 * Not logged.
 */
long long file_field(const char *path, const char *key);
/* One write() of @val into @path (sysctls, cgroup files). 0, or -1 with errno, not logged. */
int write_str(const char *path, const char *val);
/* A field of /proc/PID/mountinfo with its \ooo escapes undone, malloc'd; NULL: no memory. */
char *mountinfo_unescape(const char *s);
/* --pidfile: @pid written to @path. 0, or -1 logged. */
int write_pidfile(const char *path, pid_t pid);

#endif
