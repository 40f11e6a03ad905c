// SPDX-License-Identifier: GPL-2.0
/*
 * SysV message queues of an ipc namespace, both ways (see ipc.h): owner,
 * mode, byte limit and every message with its type, in queue order. They
 * are read with msgrcv(MSG_COPY), which copies the Nth message and leaves
 * the queue as it was (a kernel built with CONFIG_CHECKPOINT_RESTORE), and
 * sent again in the same order. The pids and times of the last send and
 * receive are not restored: nobody can set them.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

#include "log.h"
#include "ns/ipc.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

struct msgbuf_hdr {
	long mtype;
	char mtext[];
};

void ipc_msq_entry_free(IpcMsqEntry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_msgs; i++) {
		free(e->msgs[i]->data.data);
		free(e->msgs[i]);
	}
	free(e->msgs);
	ipc_perm_free(e->perm);
	free(e);
}

static int add_msg(IpcMsqEntry *e, long mtype, const char *text, size_t len)
{
	IpcMsgEntry **pp = realloc(e->msgs, (e->n_msgs + 1) * sizeof(*pp));
	IpcMsgEntry *m = malloc(sizeof(*m));

	if (pp)
		e->msgs = pp;
	if (!pp || !m) {
		free(m);
		pr_err("out of memory");
		return -1;
	}
	ipc_msg_entry__init(m);
	m->mtype = mtype;
	m->data.len = len;
	m->data.data = malloc(len ?: 1);
	if (!m->data.data) {
		free(m);
		pr_err("out of memory");
		return -1;
	}
	memcpy(m->data.data, text, len);
	e->msgs[e->n_msgs++] = m;
	return 0;
}

/* Every message of queue @e (@ds its IPC_STAT), copied where it is. */
static int read_msgs(IpcMsqEntry *e, const struct msqid_ds *ds)
{
	size_t size = ds->__msg_cbytes;
	struct msgbuf_hdr *buf = malloc(sizeof(*buf) + size + 1);
	int ret = 0;

	if (!buf) {
		pr_err("out of memory");
		return -1;
	}
	for (msgqnum_t i = 0; i < ds->msg_qnum && !ret; i++) {
		ssize_t n = msgrcv(e->perm->id, buf, size, i, MSG_COPY | IPC_NOWAIT);

		if (n < 0) {
			if (errno == ENOSYS)
				pr_err("ipc namespace: message queue %d: this kernel cannot copy a "
				       "message out of a queue (MSG_COPY needs "
				       "CONFIG_CHECKPOINT_RESTORE)",
				       e->perm->id);
			else
				pr_perror("ipc namespace: message queue %d: msgrcv(MSG_COPY) of "
					  "message %lu",
					  e->perm->id, (unsigned long)i);
			ret = -1;
			break;
		}
		ret = add_msg(e, buf->mtype, buf->mtext, n);
	}
	free(buf);
	return ret;
}

static int dump_one(struct ipc_dump *d, int id)
{
	struct msqid_ds ds;
	IpcMsqEntry *e, **pp;

	if (msgctl(id, IPC_STAT, &ds)) {
		if (errno == EINVAL || errno == EIDRM)
			return 0;
		pr_perror("ipc namespace: message queue %d: IPC_STAT", id);
		return -1;
	}
	e = calloc(1, sizeof(*e));
	pp = realloc(d->e.msq, (d->e.n_msq + 1) * sizeof(*pp));
	if (pp)
		d->e.msq = pp;
	if (!e || !pp) {
		free(e);
		pr_err("out of memory");
		return -1;
	}
	ipc_msq_entry__init(e);
	d->e.msq[d->e.n_msq++] = e;
	e->perm = ipc_perm_new(&ds.msg_perm, id);
	if (!e->perm) {
		pr_err("out of memory");
		return -1;
	}
	e->qbytes = ds.msg_qbytes;
	return read_msgs(e, &ds);
}

/* The most bytes any queue holds: MSG_COPY copies no more than kernel.msgmax. */
static long long largest_queue(const int *ids, size_t nr)
{
	long long max = 0;
	struct msqid_ds ds;

	for (size_t i = 0; i < nr; i++)
		if (!msgctl(ids[i], IPC_STAT, &ds) && (long long)ds.__msg_cbytes > max)
			max = ds.__msg_cbytes;
	return max;
}

/*
 * A message longer than kernel.msgmax (lowered after it was sent) can only
 * be copied with msgmax raised: for the time of the dump only.
 */
int ipc_msg_dump(struct ipc_dump *d)
{
	long long msgmax = -1, need;
	size_t nr, i;
	int *ids, ret = 0;

	if (ipc_list_ids("msg", &ids, &nr))
		return -1;
	need = largest_queue(ids, nr);
	if (nr && ipc_sysctl_get("kernel/msgmax", &msgmax)) {
		pr_perror("ipc namespace: cannot read kernel.msgmax");
		ret = -1;
	}
	if (!ret && need > msgmax && need <= INT_MAX) {
		if (ipc_sysctl_set("kernel/msgmax", need)) {
			pr_perror("ipc namespace: cannot raise kernel.msgmax to %lld to read the "
				  "queues",
				  need);
			ret = -1;
		}
	} else {
		msgmax = -1;
	}
	for (i = 0; i < nr && !ret; i++)
		ret = dump_one(d, ids[i]);
	if (msgmax >= 0 && ipc_sysctl_set("kernel/msgmax", msgmax)) {
		pr_perror("ipc namespace: cannot set kernel.msgmax back to %lld", msgmax);
		ret = -1;
	}
	free(ids);
	return ret;
}

int ipc_msg_check(struct ipc_restore *r)
{
	for (size_t i = 0; i < r->e->n_msq; i++) {
		const IpcMsqEntry *e = r->e->msq[i];

		if (ipc_perm_check(e->perm, r->id, "message queue", i))
			return -1;
		for (size_t j = 0; j < e->n_msgs; j++)
			if (e->msgs[j]->mtype <= 0 || e->msgs[j]->data.len > INT_MAX) {
				pr_err("image ipcns-%u.img: message queue %d: message %zu has type "
				       "%lld and %zu bytes",
				       r->id, e->perm->id, j, (long long)e->msgs[j]->mtype,
				       e->msgs[j]->data.len);
				return -1;
			}
		for (size_t j = 0; j < i; j++)
			if (r->e->msq[j]->perm->id == e->perm->id ||
			    (e->perm->key && r->e->msq[j]->perm->key == e->perm->key)) {
				pr_err("image ipcns-%u.img: message queue %d: its id or key twice",
				       r->id, e->perm->id);
				return -1;
			}
	}
	return 0;
}

uint32_t ipc_msg_largest(const struct ipc_restore *r)
{
	size_t max = 0;

	for (size_t i = 0; i < r->e->n_msq; i++)
		for (size_t j = 0; j < r->e->msq[i]->n_msgs; j++)
			if (r->e->msq[i]->msgs[j]->data.len > max)
				max = r->e->msq[i]->msgs[j]->data.len;
	return max;
}

/* What queue @e needs as its byte limit while its messages go in. */
static uint64_t queue_room(const IpcMsqEntry *e)
{
	uint64_t bytes = 0, room;

	for (size_t i = 0; i < e->n_msgs; i++)
		bytes += e->msgs[i]->data.len;
	room = bytes > e->qbytes ? bytes : e->qbytes;
	/* A queue also holds no more messages than its byte limit. */
	return room < e->n_msgs ? e->n_msgs : room;
}

uint32_t ipc_msg_room(const struct ipc_restore *r)
{
	uint64_t max = 0;

	for (size_t i = 0; i < r->e->n_msq; i++)
		if (queue_room(r->e->msq[i]) > max)
			max = queue_room(r->e->msq[i]);
	return max > INT_MAX ? INT_MAX : max;
}

static int make_queue(const IpcPermEntry *perm, void *arg)
{
	(void)arg;
	return msgget(perm->key, IPC_CREAT | IPC_EXCL | perm->mode);
}

static int set_queue(const IpcMsqEntry *e, uint64_t qbytes)
{
	struct msqid_ds ds;

	if (msgctl(e->perm->id, IPC_STAT, &ds)) {
		pr_perror("message queue %d: IPC_STAT", e->perm->id);
		return -1;
	}
	ipc_perm_apply(e->perm, &ds.msg_perm);
	ds.msg_qbytes = qbytes;
	if (msgctl(e->perm->id, IPC_SET, &ds)) {
		pr_perror("message queue %d: IPC_SET (%llu bytes)", e->perm->id,
			  (unsigned long long)qbytes);
		return -1;
	}
	return 0;
}

static int send_all(const IpcMsqEntry *e)
{
	struct msgbuf_hdr *buf = NULL;
	int ret = 0;

	for (size_t i = 0; i < e->n_msgs && !ret; i++) {
		const IpcMsgEntry *m = e->msgs[i];
		struct msgbuf_hdr *nb = realloc(buf, sizeof(*buf) + m->data.len + 1);

		if (!nb) {
			pr_err("out of memory");
			ret = -1;
			break;
		}
		buf = nb;
		buf->mtype = m->mtype;
		memcpy(buf->mtext, m->data.data, m->data.len);
		ret = msgsnd(e->perm->id, buf, m->data.len, IPC_NOWAIT);
		if (ret)
			pr_perror("message queue %d: cannot put message %zu (%zu bytes) back",
				  e->perm->id, i, m->data.len);
	}
	free(buf);
	return ret;
}

/*
 * The queue's limit may be below what it holds (lowered after): it is set
 * after the messages are in, with room for all of them until then (msgmnb
 * was raised to let that room be set).
 */
static int restore_one(const IpcMsqEntry *e)
{
	uint64_t room = queue_room(e);

	if (ipc_create(e->perm, "kernel/msg_next_id", "message queue", make_queue, NULL) < 0 ||
	    set_queue(e, room) || send_all(e))
		return -1;
	return room == e->qbytes ? 0 : set_queue(e, e->qbytes);
}

int ipc_msg_restore(struct ipc_restore *r)
{
	for (size_t i = 0; i < r->e->n_msq; i++)
		if (restore_one(r->e->msq[i]))
			return -1;
	return 0;
}
