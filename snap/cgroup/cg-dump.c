// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup.img at dump: the hierarchies the root task is in, each task's
 * cgroups as a set (tasks in the same cgroups share one), and, when the
 * mode restores properties, the properties of the root task's cgroup and
 * of every cgroup between it and a task's. Paths are kept relative to the
 * root task's cgroup: restore puts that one wherever it is told.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.pb-c.h"
#include "cgroup/cg-hier.h"
#include "cgroup/cg-props.h"
#include "cgroup/cgroup.h"
#include "image.h"
#include "log.h"

struct cg_dump {
	struct cg_hosts hosts;
	CgHierarchy **h;
	size_t nr_h;
	CgSet **sets;
	size_t nr_sets;
	uint32_t *task_sets;
};

static void *grow(void *arr, size_t nr, size_t elem)
{
	return realloc(arr, (nr + 1) * elem);
}

/* The hierarchies of the root task that snap can see mounted. */
static int add_hierarchies(struct cg_dump *d, pid_t root)
{
	struct cg_members ms;
	int ret = -1;

	if (cg_members_read(root, &ms)) {
		pr_perror("pid %d: cannot read its cgroups", root);
		return -1;
	}
	for (size_t i = 0; i < ms.nr; i++) {
		CgHierarchy *h, **n;

		if (!cg_host_find(&d->hosts, ms.m[i].controllers)) {
			pr_info("cgroup hierarchy %s is not mounted here: not saved",
				cg_hier_name(ms.m[i].controllers));
			continue;
		}
		n = grow(d->h, d->nr_h, sizeof(*n));
		h = calloc(1, sizeof(*h));
		if (n)
			d->h = n;
		if (!n || !h) {
			free(h);
			goto oom;
		}
		cg_hierarchy__init(h);
		d->h[d->nr_h++] = h;
		h->controllers = strdup(ms.m[i].controllers);
		h->root = strdup(ms.m[i].path);
		if (!h->controllers || !h->root)
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	pr_err("out of memory for the cgroup hierarchies");
out:
	cg_members_free(&ms);
	return ret;
}

static bool same_set(const CgSet *s, char **paths, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (strcmp(s->paths[i], paths[i]))
			return false;
	return true;
}

/* The set of @pid's cgroups, made if no task before had the same. 0 on error, logged. */
static uint32_t task_set(struct cg_dump *d, pid_t pid)
{
	char **paths = calloc(d->nr_h ? d->nr_h : 1, sizeof(*paths));
	struct cg_members ms = {0};
	uint32_t id = 0;
	CgSet *s = NULL, **n;

	if (!paths || cg_members_read(pid, &ms)) {
		pr_perror("pid %d: cannot read its cgroups", pid);
		goto out;
	}
	for (size_t i = 0; i < d->nr_h; i++) {
		const char *p = cg_members_path(&ms, d->h[i]->controllers);

		if (!p) {
			pr_err("pid %d is in no cgroup of hierarchy %s, where its tree's root is",
			       pid, cg_hier_name(d->h[i]->controllers));
			goto out;
		}
		paths[i] = cg_path_rel(d->h[i]->root, p);
		if (!paths[i])
			goto oom;
	}
	for (size_t i = 0; i < d->nr_sets; i++)
		if (same_set(d->sets[i], paths, d->nr_h)) {
			id = d->sets[i]->id;
			goto out;
		}
	n = grow(d->sets, d->nr_sets, sizeof(*n));
	s = malloc(sizeof(*s));
	if (n)
		d->sets = n;
	if (!n || !s)
		goto oom;
	cg_set__init(s);
	s->id = d->nr_sets + 1;
	s->paths = paths;
	s->n_paths = d->nr_h;
	d->sets[d->nr_sets++] = s;
	paths = NULL;
	id = s->id;
	goto out;
oom:
	free(s);
	pr_err("out of memory for the cgroups of pid %d", pid);
out:
	for (size_t i = 0; paths && i < d->nr_h; i++)
		free(paths[i]);
	free(paths);
	cg_members_free(&ms);
	return id;
}

static int add_dir(CgHierarchy *h, const char *path, size_t len)
{
	CgDir **n, *dir;

	for (size_t i = 0; i < h->n_dirs; i++)
		if (strlen(h->dirs[i]->path) == len && !strncmp(h->dirs[i]->path, path, len))
			return 0;
	n = grow(h->dirs, h->n_dirs, sizeof(*n));
	dir = malloc(sizeof(*dir));
	if (n)
		h->dirs = n;
	if (!n || !dir) {
		free(dir);
		return -1;
	}
	cg_dir__init(dir);
	dir->path = strndup(path, len);
	h->dirs[h->n_dirs++] = dir;
	return dir->path ? 0 : -1;
}

/*
 * The root task's cgroup, then every cgroup from there down to a task's,
 * parents first; a task's cgroup outside the root's subtree is not one
 * restore makes, and is not listed.
 */
static int add_dirs(struct cg_dump *d, size_t hi)
{
	CgHierarchy *h = d->h[hi];

	if (add_dir(h, "", 0))
		return -1;
	for (size_t s = 0; s < d->nr_sets; s++) {
		const char *p = d->sets[s]->paths[hi];

		if (!cg_rel_below(p) || !*p)
			continue;
		for (const char *c = strchr(p, '/'); c; c = strchr(c + 1, '/'))
			if (add_dir(h, p, c - p))
				return -1;
		if (add_dir(h, p, strlen(p)))
			return -1;
	}
	return 0;
}

static int read_props(struct cg_dump *d, size_t hi)
{
	CgHierarchy *h = d->h[hi];
	const struct cg_hier *host = cg_host_find(&d->hosts, h->controllers);
	char cg[PATH_MAX], dir[PATH_MAX];

	for (size_t i = 0; i < h->n_dirs; i++) {
		if (cg_path_join(h->root, h->dirs[i]->path, cg, sizeof(cg)) ||
		    cg_fs_path(host, cg, NULL, dir, sizeof(dir))) {
			pr_err("cgroup %s of hierarchy %s is not where snap can see it", cg,
			       cg_hier_name(h->controllers));
			return -1;
		}
		/* A hierarchy's root cgroup has no limits to set. */
		if (strcmp(cg, "/") && cg_props_read(h->controllers, dir, h->dirs[i]))
			return -1;
	}
	return 0;
}

static int write_image(struct dump_ctx *ctx, struct cg_dump *d)
{
	CgroupEntry e = CGROUP_ENTRY__INIT;

	e.hierarchies = d->h;
	e.n_hierarchies = d->nr_h;
	e.sets = d->sets;
	e.n_sets = d->nr_sets;
	e.task_sets = d->task_sets;
	e.n_task_sets = ctx->nr_tasks;
	e.has_props = true;
	e.props = ctx->opts->manage_cgroups != CG_MODE_NONE;
	return img_write_one(ctx->dirfd, IMG_CGROUP, 0, &e.base);
}

static void free_dump(struct cg_dump *d)
{
	for (size_t i = 0; i < d->nr_h; i++) {
		CgHierarchy *h = d->h[i];

		for (size_t j = 0; j < h->n_dirs; j++) {
			cg_props_free(h->dirs[j]);
			free(h->dirs[j]->path);
			free(h->dirs[j]);
		}
		free(h->dirs);
		free(h->controllers);
		free(h->root);
		free(h);
	}
	for (size_t i = 0; i < d->nr_sets; i++) {
		for (size_t j = 0; j < d->sets[i]->n_paths; j++)
			free(d->sets[i]->paths[j]);
		free(d->sets[i]->paths);
		free(d->sets[i]);
	}
	free(d->h);
	free(d->sets);
	free(d->task_sets);
	cg_hosts_free(&d->hosts);
}

int cgroup_dump(struct dump_ctx *ctx)
{
	enum cg_mode mode = ctx->opts->manage_cgroups;
	struct cg_dump d = {0};
	int ret = -1;

	if (mode == CG_MODE_IGNORE)
		return 0;
	pr_debug("cgroups: reading those of %zu tasks", ctx->nr_tasks);
	d.task_sets = calloc(ctx->nr_tasks, sizeof(*d.task_sets));
	if (!d.task_sets) {
		pr_err("out of memory for the tasks' cgroups");
		return -1;
	}
	if (cg_hosts_read(&d.hosts) || add_hierarchies(&d, ctx->tasks[0].pid))
		goto out;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		if (ctx->tasks[i].zombie)
			continue;
		d.task_sets[i] = task_set(&d, ctx->tasks[i].pid);
		if (!d.task_sets[i])
			goto out;
	}
	for (size_t i = 0; i < d.nr_h; i++) {
		if (add_dirs(&d, i)) {
			pr_err("out of memory for the cgroups of hierarchy %s",
			       cg_hier_name(d.h[i]->controllers));
			goto out;
		}
		if (mode != CG_MODE_NONE && read_props(&d, i))
			goto out;
	}
	ret = write_image(ctx, &d);
	if (!ret)
		pr_info("cgroups: %zu hierarchies, %zu sets", d.nr_h, d.nr_sets);
out:
	free_dump(&d);
	return ret;
}
