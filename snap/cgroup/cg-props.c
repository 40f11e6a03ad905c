// SPDX-License-Identifier: GPL-2.0
/*
 * Cgroup properties: the list of files saved for a cgroup (the limits a
 * runtime sets: cpu shares and quota, cpusets, memory and pids limits, io
 * weight), read at dump and written back at restore in the list's order.
 * Statistics, pressure and event files are not properties; neither are the
 * v1 device lists, the freezer state or anything the kernel fills in.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cg-props.h"
#include "ctx.h"
#include "log.h"

struct cg_prop_desc {
	const char *ctrl; /* the v1 controller; NULL: cgroup2 */
	const char *name;
};

/*
 * In writing order. Parents' controllers first (v2 subtree_control); cpus
 * and mems before the rest; a period before its quota; a memory limit
 * before the memory+swap limit, which may not be below it.
 */
static const struct cg_prop_desc props[] = {
	{"cpuset", "cpuset.cpus"},
	{"cpuset", "cpuset.mems"},
	{"cpu", "cpu.shares"},
	{"cpu", "cpu.cfs_period_us"},
	{"cpu", "cpu.cfs_quota_us"},
	{"memory", "memory.limit_in_bytes"},
	{"memory", "memory.memsw.limit_in_bytes"},
	{"memory", "memory.soft_limit_in_bytes"},
	{"memory", "memory.swappiness"},
	{"pids", "pids.max"},
	{"blkio", "blkio.weight"},
	{"net_cls", "net_cls.classid"},
	{NULL, "cgroup.subtree_control"},
	{NULL, "cpuset.cpus"},
	{NULL, "cpuset.mems"},
	{NULL, "cpu.weight"},
	{NULL, "cpu.max"},
	{NULL, "memory.min"},
	{NULL, "memory.low"},
	{NULL, "memory.high"},
	{NULL, "memory.max"},
	{NULL, "memory.swap.max"},
	{NULL, "pids.max"},
	{NULL, "io.weight"},
};

/* Whether hierarchy @controllers ("cpu,cpuacct", "" for cgroup2) has property @p. */
static bool has_prop(const char *controllers, const struct cg_prop_desc *p)
{
	size_t n;

	if (!*controllers || !p->ctrl)
		return !*controllers && !p->ctrl;
	n = strlen(p->ctrl);
	for (const char *c = controllers; c; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL)
		if (!strncmp(c, p->ctrl, n) && (c[n] == ',' || !c[n]))
			return true;
	return false;
}

/* @file of @dir into @buf without its last newline: 1 read, 0 no such file, -1 error. */
static int read_prop(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	if ((size_t)n == size - 1) {
		errno = EFBIG;
		return -1;
	}
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return 1;
}

static int add_prop(CgDir *d, const char *name, const char *value)
{
	CgProp **n = realloc(d->props, (d->n_props + 1) * sizeof(*n));
	CgProp *p = malloc(sizeof(*p));

	if (n)
		d->props = n;
	if (!n || !p) {
		free(p);
		return -1;
	}
	cg_prop__init(p);
	p->name = strdup(name);
	p->value = strdup(value);
	d->props[d->n_props++] = p;
	return p->name && p->value ? 0 : -1;
}

int cg_props_read(const char *controllers, const char *dir, CgDir *d)
{
	char val[4096];

	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		int ret;

		if (!has_prop(controllers, &props[i]))
			continue;
		ret = read_prop(dir, props[i].name, val, sizeof(val));
		if (ret < 0) {
			pr_perror("cannot read cgroup property %s/%s", dir, props[i].name);
			return -1;
		}
		if (ret && add_prop(d, props[i].name, val)) {
			pr_err("out of memory for the properties of cgroup %s", dir);
			return -1;
		}
	}
	return 0;
}

void cg_props_free(CgDir *d)
{
	for (size_t i = 0; i < d->n_props; i++) {
		free(d->props[i]->name);
		free(d->props[i]->value);
		free(d->props[i]);
	}
	free(d->props);
	d->props = NULL;
	d->n_props = 0;
}

/* v2 subtree_control reads "cpu memory" and is written "+cpu +memory". */
static int write_subtree_control(const char *path, const char *val)
{
	char buf[1024] = "", *copy = strdup(val), *save = NULL;

	if (!copy)
		return -1;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (strlen(buf) + strlen(w) + 3 < sizeof(buf))
			strcat(strcat(strcat(buf, *buf ? " " : ""), "+"), w);
	free(copy);
	return *buf ? write_str(path, buf) : 0;
}

int cg_props_write(const char *dir, const CgDir *d, const char *what)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < d->n_props; i++) {
		const CgProp *p = d->props[i];
		int ret;

		if (strchr(p->name, '/')) {
			pr_err("image cgroup.img: cgroup %s: bad property name %s", what, p->name);
			return -1;
		}
		/* An empty cpuset means "the parent's" in v2, and cannot be written in v1. */
		if (!*p->value)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, p->name);
		if (strcmp(p->name, "cgroup.subtree_control"))
			ret = write_str(path, p->value);
		else
			ret = write_subtree_control(path, p->value);
		if (!ret)
			continue;
		if (errno == ENOENT) {
			pr_warn("cgroup %s has no %s here: not restored", what, p->name);
			continue;
		}
		pr_perror("cgroup %s: cannot set %s to %s", what, p->name, p->value);
		return -1;
	}
	return 0;
}

int cg_cpuset_inherit(const char *controllers, const char *dir)
{
	static const struct cg_prop_desc cpuset = {"cpuset", NULL};
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char val[4096], parent[PATH_MAX], path[PATH_MAX];

	if (!*controllers || !has_prop(controllers, &cpuset))
		return 0;
	snprintf(parent, sizeof(parent), "%s/..", dir);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int ret = read_prop(dir, files[i], val, sizeof(val));

		if (ret <= 0 || *val)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (read_prop(parent, files[i], val, sizeof(val)) <= 0 || write_str(path, val)) {
			pr_perror("cgroup %s: cannot give it its parent's %s", dir, files[i]);
			return -1;
		}
	}
	return 0;
}
