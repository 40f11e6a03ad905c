// SPDX-License-Identifier: GPL-2.0
/*
 * The sysctls of an ipc namespace (kernel.shm*, msg*, sem, *_next_id and
 * fs.mqueue.*), read at dump and written at restore by a process
 * inside it: /proc/sys shows the reader's namespace. One table says where
 * each lives in IpcSysctlEntry; kernel.sem, four numbers, is apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ns/ipc.h"

enum sysctl_step {
	SYSCTL_LIMIT, /* raised before the objects are made, set exactly after */
	SYSCTL_AFTER, /* only after: it would act on the objects being made */
};

struct ipc_sysctl {
	const char *name; /* under /proc/sys */
	size_t has;	  /* offsetof the has_ field */
	size_t val;	  /* offsetof the value */
	int size;	  /* 8: uint64_t; 4: uint32_t; -4: int32_t */
	enum sysctl_step step;
};

#define F(name, field, size, step)                                                                 \
	{                                                                                          \
		name, offsetof(IpcSysctlEntry, has_##field), offsetof(IpcSysctlEntry, field),      \
			size, step                                                                 \
	}

static const struct ipc_sysctl sysctls[] = {
	F("kernel/shmmax", shmmax, 8, SYSCTL_LIMIT),
	F("kernel/shmall", shmall, 8, SYSCTL_LIMIT),
	F("kernel/shmmni", shmmni, 8, SYSCTL_LIMIT),
	F("kernel/msgmax", msgmax, 4, SYSCTL_LIMIT),
	F("kernel/msgmnb", msgmnb, 4, SYSCTL_LIMIT),
	F("kernel/msgmni", msgmni, 4, SYSCTL_LIMIT),
	F("fs/mqueue/queues_max", mq_queues_max, 4, SYSCTL_LIMIT),
	F("fs/mqueue/msg_max", mq_msg_max, 4, SYSCTL_LIMIT),
	F("fs/mqueue/msgsize_max", mq_msgsize_max, 4, SYSCTL_LIMIT),
	F("fs/mqueue/msg_default", mq_msg_default, 4, SYSCTL_LIMIT),
	F("fs/mqueue/msgsize_default", mq_msgsize_default, 4, SYSCTL_LIMIT),
	/* With it set, a segment the restore detaches from would go. */
	F("kernel/shm_rmid_forced", shm_rmid_forced, 4, SYSCTL_AFTER),
	/* Each object made asks for its own id through these. */
	F("kernel/shm_next_id", shm_next_id, -4, SYSCTL_AFTER),
	F("kernel/msg_next_id", msg_next_id, -4, SYSCTL_AFTER),
	F("kernel/sem_next_id", sem_next_id, -4, SYSCTL_AFTER),
};

#define SEM_NAME "kernel/sem"
#define SEM_NR	 4 /* semmsl semmns semopm semmni */

static int read_text(const char *name, char *buf, size_t len)
{
	char path[96];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_text(const char *name, const char *buf)
{
	char path[96];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, buf, strlen(buf));
	close(fd);
	return n == (ssize_t)strlen(buf) ? 0 : -1;
}

int ipc_sysctl_get(const char *name, long long *v)
{
	char buf[64], *end;

	if (read_text(name, buf, sizeof(buf)))
		return -1;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	if (errno || end == buf) {
		errno = errno ?: EINVAL;
		return -1;
	}
	return 0;
}

int ipc_sysctl_set(const char *name, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return write_text(name, buf);
}

static uint64_t field_get(const IpcSysctlEntry *e, const struct ipc_sysctl *s)
{
	const char *p = (const char *)e + s->val;

	if (s->size == 8)
		return *(const uint64_t *)p;
	if (s->size == 4)
		return *(const uint32_t *)p;
	return (uint64_t)(int64_t) * (const int32_t *)p;
}

static void field_set(IpcSysctlEntry *e, const struct ipc_sysctl *s, uint64_t v)
{
	char *p = (char *)e + s->val;

	*(bool *)((char *)e + s->has) = true;
	if (s->size == 8)
		*(uint64_t *)p = v;
	else if (s->size == 4)
		*(uint32_t *)p = v;
	else
		*(int32_t *)p = (int32_t)v;
}

static bool field_has(const IpcSysctlEntry *e, const struct ipc_sysctl *s)
{
	return *(const bool *)((const char *)e + s->has);
}

/* The text of value @v of @s, as /proc/sys takes it. */
static void field_text(const struct ipc_sysctl *s, uint64_t v, char *buf, size_t len)
{
	if (s->size < 0)
		snprintf(buf, len, "%" PRId64, (int64_t)v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static int parse(const struct ipc_sysctl *s, const char *buf, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = s->size < 0 ? (uint64_t)strtoll(buf, &end, 10) : strtoull(buf, &end, 10);
	return errno || end == buf ? -1 : 0;
}

int ipc_sysctl_read(IpcSysctlEntry *e)
{
	char buf[128];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		const struct ipc_sysctl *s = &sysctls[i];

		/* A kernel without it (fs.mqueue without POSIX queues): left out. */
		if (read_text(s->name, buf, sizeof(buf))) {
			if (errno == ENOENT)
				continue;
			pr_perror("ipc namespace: cannot read /proc/sys/%s", s->name);
			return -1;
		}
		if (parse(s, buf, &v)) {
			pr_err("ipc namespace: /proc/sys/%s: not a number: %s", s->name, buf);
			return -1;
		}
		field_set(e, s, v);
	}
	if (read_text(SEM_NAME, buf, sizeof(buf)))
		return errno == ENOENT ? 0
				       : (pr_perror("ipc namespace: cannot read " SEM_NAME), -1);
	e->sem = calloc(SEM_NR, sizeof(*e->sem));
	if (!e->sem) {
		pr_err("out of memory");
		return -1;
	}
	if (sscanf(buf, "%u %u %u %u", &e->sem[0], &e->sem[1], &e->sem[2], &e->sem[3]) != SEM_NR) {
		pr_err("ipc namespace: /proc/sys/" SEM_NAME ": not four numbers: %s", buf);
		return -1;
	}
	e->n_sem = SEM_NR;
	return 0;
}

int ipc_sysctl_check(const IpcSysctlEntry *e, uint32_t id)
{
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		const struct ipc_sysctl *s = &sysctls[i];

		if (s->size < 0 && field_has(e, s) && (int64_t)field_get(e, s) < -1) {
			pr_err("image ipcns-%u.img: %s is %" PRId64 ", not an id", id, s->name,
			       (int64_t)field_get(e, s));
			return -1;
		}
	}
	if (e->n_sem && e->n_sem != SEM_NR) {
		pr_err("image ipcns-%u.img: " SEM_NAME " has %zu values, not %d", id, e->n_sem,
		       SEM_NR);
		return -1;
	}
	return 0;
}

/* Write @v into @s; a limit before the objects only ever goes up. */
static int write_one(const struct ipc_sysctl *s, uint64_t v, bool raise_only)
{
	char buf[64];
	uint64_t cur;

	if (raise_only && !read_text(s->name, buf, sizeof(buf)) && !parse(s, buf, &cur) && cur >= v)
		return 0;
	field_text(s, v, buf, sizeof(buf));
	if (write_text(s->name, buf)) {
		pr_perror("ipc namespace: cannot set /proc/sys/%s to %s", s->name, buf);
		return -1;
	}
	return 0;
}

static int write_sem(const IpcSysctlEntry *e, bool raise_only)
{
	unsigned int cur[SEM_NR], v[SEM_NR];
	char buf[96];

	if (!e->n_sem)
		return 0;
	for (int i = 0; i < SEM_NR; i++)
		v[i] = e->sem[i];
	if (raise_only && !read_text(SEM_NAME, buf, sizeof(buf)) &&
	    sscanf(buf, "%u %u %u %u", &cur[0], &cur[1], &cur[2], &cur[3]) == SEM_NR)
		for (int i = 0; i < SEM_NR; i++)
			v[i] = v[i] > cur[i] ? v[i] : cur[i];
	snprintf(buf, sizeof(buf), "%u %u %u %u", v[0], v[1], v[2], v[3]);
	if (write_text(SEM_NAME, buf)) {
		pr_perror("ipc namespace: cannot set /proc/sys/" SEM_NAME " to %s", buf);
		return -1;
	}
	return 0;
}

/*
 * Before the objects, limits are only raised (the namespace's defaults may
 * be lower than what the objects need: a large message, a large set); after
 * them, everything is set as dumped.
 */
int ipc_sysctl_write(const IpcSysctlEntry *e, bool last, uint32_t msgmax, uint32_t msgmnb)
{
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		const struct ipc_sysctl *s = &sysctls[i];
		uint64_t v;

		if (!field_has(e, s) || (!last && s->step == SYSCTL_AFTER))
			continue;
		v = field_get(e, s);
		/* -1 (none asked for) cannot be written: each id used went back to it. */
		if (s->size < 0 && (int64_t)v == -1)
			continue;
		if (!last && s->val == offsetof(IpcSysctlEntry, msgmax) && msgmax > v)
			v = msgmax;
		if (!last && s->val == offsetof(IpcSysctlEntry, msgmnb) && msgmnb > v)
			v = msgmnb;
		if (write_one(s, v, !last))
			return -1;
	}
	return write_sem(e, !last);
}
