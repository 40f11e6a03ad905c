// SPDX-License-Identifier: GPL-2.0
/*
 * What the three kinds of SysV object share: their ipc_perm (key, id,
 * owner, creator, mode) both ways, the list of ids in /proc/sysvipc, and
 * making an object with its dumped id and creator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ns/ipc.h"

IpcPermEntry *ipc_perm_new(const struct ipc_perm *p, int id)
{
	IpcPermEntry *pe = malloc(sizeof(*pe));

	if (!pe)
		return NULL;
	ipc_perm_entry__init(pe);
	pe->key = p->__key;
	pe->id = id;
	pe->uid = p->uid;
	pe->gid = p->gid;
	pe->cuid = p->cuid;
	pe->cgid = p->cgid;
	pe->mode = p->mode & 0777;
	return pe;
}

void ipc_perm_free(IpcPermEntry *pe)
{
	free(pe);
}

void ipc_perm_apply(const IpcPermEntry *perm, struct ipc_perm *p)
{
	p->uid = perm->uid;
	p->gid = perm->gid;
	p->mode = perm->mode;
}

int ipc_perm_check(const IpcPermEntry *perm, uint32_t id, const char *kind, size_t idx)
{
	if (perm->id < 0 || perm->mode & ~0777U) {
		pr_err("image ipcns-%u.img: %s %zu: id %d, mode %#o: not an object's", id, kind,
		       idx, perm->id, perm->mode);
		return -1;
	}
	return 0;
}

/* "key id ..." lines, after a header line; @what: "shm", "sem" or "msg". */
int ipc_list_ids(const char *what, int **ids, size_t *nr)
{
	char path[64], line[512];
	int key, id, *p;
	FILE *f;

	*ids = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/sysvipc/%s", what);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("ipc namespace: cannot open %s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %d", &key, &id) != 2)
			continue;
		p = realloc(*ids, (*nr + 1) * sizeof(*p));
		if (!p) {
			pr_err("out of memory listing %s", path);
			fclose(f);
			return -1;
		}
		*ids = p;
		p[(*nr)++] = id;
	}
	fclose(f);
	return 0;
}

/*
 * The kernel forgets @next_id once it gave the id (it reads -1 again).
 * The creator of an object is whoever made it (cuid and cgid are the
 * caller's euid and egid then, IPC_SET cannot change them): the restore
 * makes it as them.
 */
int ipc_create(const IpcPermEntry *perm, const char *next_id, const char *what,
	       int (*create)(const IpcPermEntry *perm, void *arg), void *arg)
{
	uid_t euid = geteuid();
	gid_t egid = getegid();
	int id, err;

	if (ipc_sysctl_set(next_id, perm->id)) {
		pr_perror("%s %d: cannot ask for its id through /proc/sys/%s", what, perm->id,
			  next_id);
		return -1;
	}
	if (setegid(perm->cgid) || seteuid(perm->cuid)) {
		id = -1;
		err = errno;
	} else {
		id = create(perm, arg);
		err = errno;
	}
	/* Back to root first: only root may set the gid back. */
	if (seteuid(euid) || setegid(egid)) {
		pr_perror("%s %d: cannot get our own ids back", what, perm->id);
		return -1;
	}
	if (id < 0) {
		errno = err;
		pr_perror("%s %d (key %#x): cannot make it as its creator (uid %u, gid %u)", what,
			  perm->id, perm->key, perm->cuid, perm->cgid);
		return -1;
	}
	if (id != perm->id) {
		pr_err("%s %d (key %#x): made with id %d: the id is not free", what, perm->id,
		       perm->key, id);
		return -1;
	}
	return id;
}
