// SPDX-License-Identifier: GPL-2.0
/*
 * SysV semaphore sets of an ipc namespace, both ways (see ipc.h): owner,
 * mode and every semaphore's value. What the kernel keeps but lets nobody
 * set - the pid of the last semop, the times - is not restored; neither are
 * the tasks' SEM_UNDO adjustments, which the kernel does not show.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/sem.h>

#include "log.h"
#include "ns/ipc.h"

/* The caller defines it (semctl(2)). */
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* SEMVMX: the largest value a SysV semaphore holds. */
#define SEMVMX_VALUE 32767

void ipc_sem_entry_free(IpcSemEntry *e)
{
	if (!e)
		return;
	ipc_perm_free(e->perm);
	free(e->values);
	free(e);
}

static int dump_one(struct ipc_dump *d, int id)
{
	struct semid_ds ds;
	unsigned short *vals = NULL;
	IpcSemEntry *e, **pp;
	union semun arg = {.buf = &ds};

	if (semctl(id, 0, IPC_STAT, arg)) {
		if (errno == EINVAL || errno == EIDRM)
			return 0;
		pr_perror("ipc namespace: semaphore set %d: IPC_STAT", id);
		return -1;
	}
	e = calloc(1, sizeof(*e));
	pp = realloc(d->e.sem, (d->e.n_sem + 1) * sizeof(*pp));
	if (pp)
		d->e.sem = pp;
	if (!e || !pp) {
		free(e);
		pr_err("out of memory");
		return -1;
	}
	ipc_sem_entry__init(e);
	d->e.sem[d->e.n_sem++] = e;
	e->perm = ipc_perm_new(&ds.sem_perm, id);
	vals = calloc(ds.sem_nsems, sizeof(*vals));
	e->values = calloc(ds.sem_nsems, sizeof(*e->values));
	if (!e->perm || !vals || !e->values) {
		free(vals);
		pr_err("out of memory");
		return -1;
	}
	arg.array = vals;
	if (semctl(id, 0, GETALL, arg)) {
		pr_perror("ipc namespace: semaphore set %d: GETALL", id);
		free(vals);
		return -1;
	}
	for (size_t i = 0; i < ds.sem_nsems; i++)
		e->values[i] = vals[i];
	e->n_values = ds.sem_nsems;
	free(vals);
	return 0;
}

int ipc_sem_dump(struct ipc_dump *d)
{
	size_t nr, i;
	int *ids, ret = 0;

	if (ipc_list_ids("sem", &ids, &nr))
		return -1;
	for (i = 0; i < nr && !ret; i++)
		ret = dump_one(d, ids[i]);
	free(ids);
	return ret;
}

int ipc_sem_check(struct ipc_restore *r)
{
	for (size_t i = 0; i < r->e->n_sem; i++) {
		const IpcSemEntry *e = r->e->sem[i];

		if (ipc_perm_check(e->perm, r->id, "semaphore set", i))
			return -1;
		if (!e->n_values) {
			pr_err("image ipcns-%u.img: semaphore set %d has no semaphores", r->id,
			       e->perm->id);
			return -1;
		}
		for (size_t j = 0; j < e->n_values; j++)
			if (e->values[j] > SEMVMX_VALUE) {
				pr_err("image ipcns-%u.img: semaphore set %d: value %u is above %d",
				       r->id, e->perm->id, e->values[j], SEMVMX_VALUE);
				return -1;
			}
		for (size_t j = 0; j < i; j++)
			if (r->e->sem[j]->perm->id == e->perm->id ||
			    (e->perm->key && r->e->sem[j]->perm->key == e->perm->key)) {
				pr_err("image ipcns-%u.img: semaphore set %d: its id or key twice",
				       r->id, e->perm->id);
				return -1;
			}
	}
	return 0;
}

static int make_set(const IpcPermEntry *perm, void *arg)
{
	const IpcSemEntry *e = arg;

	return semget(perm->key, e->n_values, IPC_CREAT | IPC_EXCL | perm->mode);
}

static int restore_one(const IpcSemEntry *e)
{
	int id = e->perm->id, ret;
	struct semid_ds ds;
	union semun arg = {.buf = &ds};
	unsigned short *vals;

	if (ipc_create(e->perm, "kernel/sem_next_id", "semaphore set", make_set, (void *)e) < 0)
		return -1;
	if (semctl(id, 0, IPC_STAT, arg)) {
		pr_perror("semaphore set %d: IPC_STAT", id);
		return -1;
	}
	ipc_perm_apply(e->perm, &ds.sem_perm);
	if (semctl(id, 0, IPC_SET, arg)) {
		pr_perror("semaphore set %d: IPC_SET", id);
		return -1;
	}
	vals = calloc(e->n_values, sizeof(*vals));
	if (!vals) {
		pr_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < e->n_values; i++)
		vals[i] = e->values[i];
	arg.array = vals;
	ret = semctl(id, 0, SETALL, arg);
	if (ret)
		pr_perror("semaphore set %d: SETALL", id);
	free(vals);
	return ret ? -1 : 0;
}

int ipc_sem_restore(struct ipc_restore *r)
{
	for (size_t i = 0; i < r->e->n_sem; i++)
		if (restore_one(r->e->sem[i]))
			return -1;
	return 0;
}
