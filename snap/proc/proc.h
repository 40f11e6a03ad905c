/* SPDX-License-Identifier: GPL-2.0 */
/* Parsers for /proc/PID files. Each returns 0 or -1 with the error logged. */
#ifndef SNAP_PROC_H
#define SNAP_PROC_H

#include "ctx.h"

struct proc_stat {
	char state;
	pid_t ppid, pgid, sid;
	unsigned long flags;		/* PF_* */
	unsigned long start_code, end_code, start_stack;
	unsigned long start_data, end_data, start_brk;
	unsigned long arg_start, arg_end, env_start, env_end;
	int exit_code;			/* a zombie's wait(2) status */
	char comm[32];
};

struct proc_status {
	unsigned int uid[4], gid[4];	/* real, effective, saved, fs */
	unsigned int groups[64];
	unsigned int ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	unsigned int seccomp;		/* SECCOMP_MODE_* */
	unsigned int seccomp_filters;
};

#define PF_KTHREAD 0x00200000UL

/* Quiet variant: -1 with errno set, nothing logged (used to probe a PID). */
int proc_read_stat(pid_t pid, struct proc_stat *st);
int parse_stat(pid_t pid, struct proc_stat *st);
int parse_status(pid_t pid, struct proc_status *st);
/* Whether two threads' statuses show the same credentials (ids, groups, capabilities). */
bool proc_same_creds(const struct proc_status *a, const struct proc_status *b);
/*
 * Thread @tid of @pid, just detached in a group stop, runs into it when it
 * next gets a CPU: wait until it is there (state T), that what comes next
 * finds it stopped. A thread still running after a while is only warned of.
 */
void proc_wait_stopped(pid_t pid, pid_t tid);
/* All VMAs of @pid with kinds decided; unsupported ones are an error naming them. */
int parse_smaps(pid_t pid, struct vma_list *vl);
/*
 * The same, fast: smaps walks every page (for its RSS figures), maps does
 * not. Reads maps and takes what only smaps has (VmFlags) from @hint, an
 * earlier parse_smaps() of the same task; falls back to smaps when any
 * mapping differs from the hint.
 */
int parse_vmas(pid_t pid, const struct vma_list *hint, struct vma_list *vl);
void vma_list_free(struct vma_list *vl);
/*
 * A mapping of a socket (vma-socket.c): 0 if it is a packet socket's ring
 * the process holds an fd of; else -1, logged naming it.
 */
int vma_socket_check(pid_t pid, const struct vma *v);
/* Read a whole small file into @buf, 0-terminated: its length, or -1 with errno, not logged. */
ssize_t read_small_file(const char *path, char *buf, size_t size);
/* Read a whole small /proc file; returns length or -1 (logged). */
ssize_t proc_read_file(pid_t pid, const char *name, char *buf, size_t size);
/* readlink of /proc/PID/name into @buf; -1 logged. */
int proc_readlink(pid_t pid, const char *name, char *buf, size_t size);

#endif
