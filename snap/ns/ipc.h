/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipc namespaces: the module of NS_KIND__NS_IPC. A tree whose ipc namespace
 * is not snap's own gets it saved whole into ipcns-ID.img (ID: its ns.img id):
 * the namespace's sysctls and every SysV object in it - shared memory
 * segments with their data (ipcns-shm-pages-ID.img), semaphore sets with their
 * values, message queues with every message - and, at restore, put back with
 * the same ids, keys, owners and modes in the tree's new ipc namespace.
 *
 * snap is not in that namespace: what must be done inside it (/proc/sysvipc
 * and the ipc sysctls show the reader's namespace, ids are the namespace's)
 * runs in a short child that joined it (ns_call()), which writes the images.
 *
 * SysV segments the tasks map are still shmem.img objects (mem/shmem.h), so
 * that the restorer attaches them by id; in a namespace of their own their
 * data is saved and restored here only (shmem.img marks them ipc_ns), and
 * the segment exists, filled, before the first task attaches it.
 *
 * Files: ipc-sysctl.c (the sysctls, both ways),
 * ipc-obj.c (owners and ids, both ways), ipc-shm.c, ipc-sem.c, ipc-msg.c
 * (one kind of object each, both ways), ipc-dump.c and ipc-restore.c (the
 * flows and the ns kind entry points).
 */
#ifndef SNAP_NS_IPC_H
#define SNAP_NS_IPC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/types.h>

#include "ctx.h"
#include "ipc.pb-c.h"

/* The ns kind's entry points (ns-kind.h: ns_ipc_ops). */
int ipc_ns_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id);
int ipc_ns_load(struct restore_ctx *ctx, uint32_t id, void **state);
int ipc_ns_restore(struct restore_ctx *ctx, void *state);
void ipc_ns_free(void *state);

/* The namespace being dumped, by the child in it. */
struct ipc_dump {
	struct dump_ctx *ctx;
	pid_t pid;	   /* the tree's root, in the namespace */
	uint32_t id;	   /* ns.img id */
	IpcNsEntry e;	   /* what goes into ipcns-ID.img */
	int pages_fd;	   /* ipcns-shm-pages-ID.img */
	uint64_t nr_pages; /* written to it */
};

/* The namespace being restored, in the tree's root, in the new namespace. */
struct ipc_restore {
	uint32_t id;
	IpcNsEntry *e;	   /* ipcns-ID.img */
	uint64_t nr_pages; /* of ipcns-shm-pages-ID.img, by the entries */
};

/* ipc-sysctl.c: read the namespace's sysctls into @e (in it). Logged. */
int ipc_sysctl_read(IpcSysctlEntry *e);
/*
 * Write them back (in the new namespace). @last false, before the objects
 * are made: the limits, only ever raised, msgmax to at least @msgmax (the
 * largest message) and msgmnb to at least @msgmnb (the largest queue: a
 * byte limit above msgmnb takes CAP_SYS_RESOURCE otherwise). @last true:
 * every sysctl as dumped. Logged.
 */
int ipc_sysctl_write(const IpcSysctlEntry *e, bool last, uint32_t msgmax, uint32_t msgmnb);
/* Check values read from ipcns-@id.img. Logged naming the image. */
int ipc_sysctl_check(const IpcSysctlEntry *e, uint32_t id);
/* One integer sysctl, "kernel/msgmax": 0, or -1 with errno (not logged). */
int ipc_sysctl_get(const char *name, long long *v);
int ipc_sysctl_set(const char *name, long long v);

/* ipc-obj.c: a new IpcPermEntry from IPC_STAT's @p of object @id; NULL out of memory. */
IpcPermEntry *ipc_perm_new(const struct ipc_perm *p, int id);
void ipc_perm_free(IpcPermEntry *pe);
/* The ids /proc/sysvipc/@what lists (in the caller's namespace). Logged. */
int ipc_list_ids(const char *what, int **ids, size_t *nr);
/*
 * Create an object with @perm's id and creator: ask for the id through
 * kernel/@next_id, and call @create(@arg) as the creator (euid, egid) would.
 * Its id, checked to be @perm's, or -1 logged naming @what.
 */
int ipc_create(const IpcPermEntry *perm, const char *next_id, const char *what,
	       int (*create)(const IpcPermEntry *perm, void *arg), void *arg);
/* Set @p's owner and mode from @perm, for IPC_SET. */
void ipc_perm_apply(const IpcPermEntry *perm, struct ipc_perm *p);
/* Check one object's perm as read from ipcns-@id.img, @kind "segment". Logged. */
int ipc_perm_check(const IpcPermEntry *perm, uint32_t id, const char *kind, size_t idx);

/* ipc-shm.c, ipc-sem.c, ipc-msg.c: every object of the kind (dump, in the namespace). */
int ipc_shm_dump(struct ipc_dump *d);
int ipc_sem_dump(struct ipc_dump *d);
int ipc_msg_dump(struct ipc_dump *d);
void ipc_shm_entry_free(IpcShmEntry *e);
void ipc_sem_entry_free(IpcSemEntry *e);
void ipc_msq_entry_free(IpcMsqEntry *e);
/* Restore: check the image's objects of the kind, then make them. Logged. */
int ipc_shm_check(struct ipc_restore *r);
int ipc_sem_check(struct ipc_restore *r);
int ipc_msg_check(struct ipc_restore *r);
int ipc_shm_restore(struct restore_ctx *ctx, struct ipc_restore *r);
int ipc_sem_restore(struct ipc_restore *r);
int ipc_msg_restore(struct ipc_restore *r);
/* The largest message of the image, and the most bytes a queue needs, for the limits. */
uint32_t ipc_msg_largest(const struct ipc_restore *r);
uint32_t ipc_msg_room(const struct ipc_restore *r);

#endif
