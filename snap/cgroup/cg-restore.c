// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup.img at restore. In snap, before the root is cloned: the root task's
 * cgroup in each hierarchy is placed at --cgroup-root, or where snap itself
 * runs (a runtime moves snap into the container's cgroups first); the
 * cgroups below it are checked and made as --manage-cgroups says and given
 * their properties; the cgroup.procs of every cgroup a task goes into is
 * opened. Each new process then joins its set by writing "0" there before
 * it makes children, which are born in its cgroups. The fds are snap's,
 * opened in its cgroup namespace, with its credentials: the kernel checks
 * a move against those, so a task inside a new cgroup namespace can still
 * be moved anywhere snap may move it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.pb-c.h"
#include "cgroup/cg-hier.h"
#include "cgroup/cg-props.h"
#include "cgroup/cgroup.h"
#include "cgroup/cg-restore.h"
#include "image.h"
#include "log.h"

/* An opened cgroup.procs: a cgroup some task (or the namespace root) goes into. */
struct cg_fd {
	size_t hier;
	char *cg; /* absolute in its hierarchy */
	int fd;
};

struct cg_restore {
	CgroupEntry *e; /* NULL: nothing to restore */
	CgnsEntry *ns;	/* the root's cgroup namespace, or NULL */
	uint32_t ns_id; /* its id in ns.img */
	struct cg_hosts hosts;
	const struct cg_hier **host; /* per hierarchy of the image */
	char **base;		     /* per hierarchy: where the root task's cgroup is */
	struct cg_fd *fds;
	size_t nr_fds;
	size_t *set_fd;	  /* [set * nr_h + hier]: index in fds */
	size_t *ns_fd;	  /* [hier]: index in fds + 1, 0 for none */
	size_t *task_set; /* [task]: index of its set + 1, 0 for none */
	char **made;	  /* directories snap made, in making order */
	size_t nr_made;
	size_t cur_set; /* the set this process is in, + 1; 0 unknown */
};

static size_t nr_hier(const struct cg_restore *cr)
{
	return cr->e->n_hierarchies;
}

static const char *hname(const struct cg_restore *cr, size_t h)
{
	return cg_hier_name(cr->e->hierarchies[h]->controllers);
}

/* Every hierarchy is mounted here, once; every set has a path in each. */
static int check_image(struct restore_ctx *ctx, struct cg_restore *cr)
{
	const CgroupEntry *e = cr->e;

	if (e->n_task_sets != ctx->nr_tasks) {
		pr_err("image cgroup.img: cgroups for %zu tasks, pstree.img has %zu",
		       e->n_task_sets, ctx->nr_tasks);
		return -1;
	}
	for (size_t h = 0; h < nr_hier(cr); h++) {
		const char *c = e->hierarchies[h]->controllers;

		cr->host[h] = cg_host_find(&cr->hosts, c);
		if (!cr->host[h]) {
			pr_err("image cgroup.img: cgroup controller %s is not mounted here",
			       cg_hier_name(c));
			return -1;
		}
		for (size_t j = 0; j < h; j++)
			if (!strcmp(e->hierarchies[j]->controllers, c)) {
				pr_err("image cgroup.img: hierarchy %s is there twice",
				       cg_hier_name(c));
				return -1;
			}
	}
	for (size_t s = 0; s < e->n_sets; s++) {
		if (e->sets[s]->id != s + 1 || e->sets[s]->n_paths != nr_hier(cr)) {
			pr_err("image cgroup.img: set %u is not set %zu of %zu paths",
			       e->sets[s]->id, s + 1, nr_hier(cr));
			return -1;
		}
	}
	for (size_t t = 0; t < e->n_task_sets; t++) {
		if (e->task_sets[t] > e->n_sets) {
			pr_err("image cgroup.img: pid %u is in cgroup set %u, which is not there",
			       ctx->tasks[t].pe->pid, e->task_sets[t]);
			return -1;
		}
		cr->task_set[t] = e->task_sets[t];
	}
	return 0;
}

/* cgns-ID.img of the root's cgroup namespace, if it has one of its own. */
static int load_ns(struct restore_ctx *ctx, struct cg_restore *cr)
{
	const NsIds *ids = ctx->tasks[0].pe->ns;
	struct image *img;
	int ret;

	if (!ids || !ids->has_cgroup)
		return 0;
	cr->ns_id = ids->cgroup;
	img = img_open_read(ctx->dirfd, IMG_CGNS, ids->cgroup, true);
	if (!img)
		return errno == ENOENT ? 0 : -1;
	ret = img_read_one(img, (ProtobufCMessage **)&cr->ns);
	img_close(img);
	if (ret)
		return -1;
	if (cr->ns->n_controllers != cr->ns->n_roots) {
		pr_err("image cgns-%u.img: %zu hierarchies, %zu roots", ids->cgroup,
		       cr->ns->n_controllers, cr->ns->n_roots);
		return -1;
	}
	return 0;
}

static int load(struct restore_ctx *ctx, struct cg_restore *cr)
{
	CgroupEntry **all;
	size_t n;

	if (img_load_all(ctx->dirfd, IMG_CGROUP, 0, true, (void ***)&all, &n))
		return -1;
	if (n)
		cr->e = all[0];
	for (size_t i = 1; i < n; i++)
		protobuf_c_message_free_unpacked(&all[i]->base, NULL);
	free(all);
	if (n > 1) {
		pr_err("image cgroup.img: %zu entries, one expected", n);
		return -1;
	}
	if (!n)
		return 0;
	n = nr_hier(cr) ? nr_hier(cr) : 1;
	cr->host = calloc(n, sizeof(*cr->host));
	cr->base = calloc(n, sizeof(*cr->base));
	cr->ns_fd = calloc(n, sizeof(*cr->ns_fd));
	cr->task_set = calloc(ctx->nr_tasks + 1, sizeof(*cr->task_set));
	cr->set_fd = calloc(cr->e->n_sets * n + 1, sizeof(*cr->set_fd));
	if (!cr->host || !cr->base || !cr->ns_fd || !cr->task_set || !cr->set_fd) {
		pr_err("out of memory for cgroup.img");
		return -1;
	}
	return cg_hosts_read(&cr->hosts) || check_image(ctx, cr) || load_ns(ctx, cr);
}

static bool ctrl_names(const char *ctrl, const char *controllers)
{
	size_t n = strlen(ctrl);

	/* runc names cgroup2 as /proc/PID/cgroup does: "". */
	if (!*controllers)
		return !*ctrl || !strcmp(ctrl, "unified") || !strcmp(ctrl, "cgroup2");
	if (!n)
		return false;
	for (const char *c = controllers; c; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL)
		if (!strncmp(c, ctrl, n) && (c[n] == ',' || !c[n]))
			return true;
	return false;
}

/* --cgroup-root for this hierarchy, or snap's own cgroup there. */
static int find_bases(const struct snap_opts *o, struct cg_restore *cr)
{
	struct cg_members own;
	int ret = 0;

	if (cg_members_read(0, &own)) {
		pr_perror("cannot read snap's own cgroups");
		return -1;
	}
	for (size_t h = 0; !ret && h < nr_hier(cr); h++) {
		const char *c = cr->e->hierarchies[h]->controllers, *b = NULL;

		for (size_t i = 0; i < o->nr_cgroup_roots; i++) {
			const struct cg_root_opt *r = &o->cgroup_roots[i];

			if (r->ctrl && ctrl_names(r->ctrl, c)) {
				b = r->path;
				break;
			}
			if (!r->ctrl && !b)
				b = r->path;
		}
		if (!b)
			b = cg_members_path(&own, c);
		if (!b) {
			pr_err("snap is in no cgroup of hierarchy %s", cg_hier_name(c));
			ret = -1;
		} else if (!(cr->base[h] = strdup(b))) {
			pr_err("out of memory for the cgroup roots");
			ret = -1;
		}
	}
	cg_members_free(&own);
	return ret;
}

/* Cgroup @rel of hierarchy @h, relative to the root's: @cg its path, @dir its directory. */
static int locate(const struct cg_restore *cr, size_t h, const char *rel, char *cg, char *dir)
{
	if (!cg_path_join(cr->base[h], rel, cg, PATH_MAX) &&
	    !cg_fs_path(cr->host[h], cg, NULL, dir, PATH_MAX))
		return 0;
	pr_err("image cgroup.img: cgroup %s%s%s of hierarchy %s cannot be placed under %s", rel,
	       *rel ? " " : "", *rel ? "(relative to the root task's)" : "", hname(cr, h),
	       cr->base[h]);
	return -1;
}

static int note_made(struct cg_restore *cr, const char *dir)
{
	char **n = realloc(cr->made, (cr->nr_made + 1) * sizeof(*n));

	if (!n || !(n[cr->nr_made] = strdup(dir))) {
		if (n)
			cr->made = n;
		pr_err("out of memory for the cgroups made");
		return -1;
	}
	cr->made = n;
	cr->nr_made++;
	return 0;
}

/* mkdir -p @dir, each level made noted. */
static int make_dir(struct cg_restore *cr, size_t h, char *dir)
{
	char *slash = strrchr(dir, '/');
	struct stat st;

	if (!stat(dir, &st))
		return 0;
	if (slash && slash != dir) {
		*slash = 0;
		if (make_dir(cr, h, dir))
			return -1;
		*slash = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		pr_perror("cannot make cgroup directory %s", dir);
		return -1;
	}
	pr_debug("made cgroup %s", dir);
	return note_made(cr, dir) || cg_cpuset_inherit(cr->e->hierarchies[h]->controllers, dir);
}

static const CgDir *find_dir(const CgHierarchy *hi, const char *rel, size_t len)
{
	for (size_t i = 0; i < hi->n_dirs; i++)
		if (strlen(hi->dirs[i]->path) == len && !strncmp(hi->dirs[i]->path, rel, len))
			return hi->dirs[i];
	return NULL;
}

/* Whether the properties of a cgroup are set: the root task's (@own) or one below. */
static bool sets_props(enum cg_mode m, bool own, bool made)
{
	switch (m) {
	case CG_MODE_PROPS:
		return !own;
	case CG_MODE_SOFT:
		return made;
	case CG_MODE_FULL:
	case CG_MODE_STRICT:
		return true;
	default:
		return false;
	}
}

/*
 * One cgroup at or below the root task's, @len bytes of @rel: checked or
 * made as @m says, then its properties set if @m says so.
 */
static int place_dir(struct cg_restore *cr, enum cg_mode m, size_t h, const char *rel, size_t len)
{
	const CgHierarchy *hi = cr->e->hierarchies[h];
	const CgDir *d = find_dir(hi, rel, len);
	char relp[PATH_MAX], cg[PATH_MAX], dir[PATH_MAX];
	bool own = !len, exists, made = false;
	struct stat st;

	snprintf(relp, sizeof(relp), "%.*s", (int)len, rel);
	if (locate(cr, h, relp, cg, dir))
		return -1;
	exists = !stat(dir, &st);
	if (exists && m == CG_MODE_STRICT && !own) {
		pr_err("cgroup %s of hierarchy %s exists; --manage-cgroups=strict makes it anew",
		       cg, hname(cr, h));
		return -1;
	}
	if (!exists && (m == CG_MODE_NONE || m == CG_MODE_PROPS || (m == CG_MODE_STRICT && own))) {
		pr_err("cgroup %s of hierarchy %s does not exist; --manage-cgroups=%s makes none%s",
		       cg, hname(cr, h), cg_mode_name(m), own ? " (the root task's)" : "");
		return -1;
	}
	if (!exists) {
		if (make_dir(cr, h, dir))
			return -1;
		made = true;
	}
	/* A hierarchy's root cgroup has no limits to set (an image may have some). */
	if (!d || !cr->e->props || !sets_props(m, own, made) || !strcmp(cg, "/"))
		return 0;
	return cg_props_write(dir, d, cg);
}

/* The root task's cgroup, then every one below it the image names, parents first. */
static int place_hier(struct cg_restore *cr, enum cg_mode m, size_t h)
{
	const CgHierarchy *hi = cr->e->hierarchies[h];

	if (place_dir(cr, m, h, "", 0))
		return -1;
	for (size_t i = 0; i < hi->n_dirs; i++)
		if (*hi->dirs[i]->path && cg_rel_below(hi->dirs[i]->path) &&
		    place_dir(cr, m, h, hi->dirs[i]->path, strlen(hi->dirs[i]->path)))
			return -1;
	/* Sets' cgroups not listed (a dump that saved no directories): made the same way. */
	for (size_t s = 0; s < cr->e->n_sets; s++) {
		const char *p = cr->e->sets[s]->paths[h];

		if (!*p || !cg_rel_below(p) || find_dir(hi, p, strlen(p)))
			continue;
		for (const char *c = strchr(p, '/'); c; c = strchr(c + 1, '/'))
			if (!find_dir(hi, p, c - p) && place_dir(cr, m, h, p, c - p))
				return -1;
		if (place_dir(cr, m, h, p, strlen(p)))
			return -1;
	}
	return 0;
}

/* The fd of cgroup @rel of hierarchy @h, opened once: its index. -1 logged. */
static ssize_t open_cg(struct cg_restore *cr, size_t h, const char *rel)
{
	char cg[PATH_MAX], dir[PATH_MAX], procs[PATH_MAX + 16];
	struct cg_fd *n;

	if (locate(cr, h, rel, cg, dir))
		return -1;
	for (size_t i = 0; i < cr->nr_fds; i++)
		if (cr->fds[i].hier == h && !strcmp(cr->fds[i].cg, cg))
			return i;
	n = realloc(cr->fds, (cr->nr_fds + 1) * sizeof(*n));
	if (!n) {
		pr_err("out of memory for the cgroup fds");
		return -1;
	}
	cr->fds = n;
	n = &cr->fds[cr->nr_fds];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	n->fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (n->fd < 0) {
		pr_perror("cgroup %s of hierarchy %s: cannot open %s", cg, hname(cr, h), procs);
		return -1;
	}
	n->hier = h;
	n->cg = strdup(cg);
	if (!n->cg) {
		close(n->fd);
		pr_err("out of memory for the cgroup fds");
		return -1;
	}
	return cr->nr_fds++;
}

static int open_fds(struct cg_restore *cr)
{
	for (size_t s = 0; s < cr->e->n_sets; s++)
		for (size_t h = 0; h < nr_hier(cr); h++) {
			ssize_t i = open_cg(cr, h, cr->e->sets[s]->paths[h]);

			if (i < 0)
				return -1;
			cr->set_fd[s * nr_hier(cr) + h] = i;
		}
	for (size_t i = 0; cr->ns && i < cr->ns->n_controllers; i++) {
		size_t h;
		ssize_t f;

		for (h = 0; h < nr_hier(cr); h++)
			if (!strcmp(cr->e->hierarchies[h]->controllers, cr->ns->controllers[i]))
				break;
		if (h == nr_hier(cr)) {
			pr_err("image cgns-%u.img: hierarchy %s is not in cgroup.img", cr->ns_id,
			       cg_hier_name(cr->ns->controllers[i]));
			return -1;
		}
		f = open_cg(cr, h, cr->ns->roots[i]);
		if (f < 0)
			return -1;
		cr->ns_fd[h] = f + 1;
	}
	return 0;
}

int cgroup_prepare(struct restore_ctx *ctx)
{
	enum cg_mode m = ctx->opts->manage_cgroups;
	struct cg_restore *cr;

	if (m == CG_MODE_IGNORE)
		return 0;
	cr = calloc(1, sizeof(*cr));
	if (!cr) {
		pr_err("out of memory for the cgroups");
		return -1;
	}
	ctx->cg = cr;
	if (load(ctx, cr))
		return -1;
	if (!cr->e)
		return 0;
	if (find_bases(ctx->opts, cr))
		return -1;
	for (size_t h = 0; h < nr_hier(cr); h++)
		if (place_hier(cr, m, h))
			return -1;
	if (open_fds(cr))
		return -1;
	pr_info("cgroups: %zu sets, %zu cgroups to join, %zu made", cr->e->n_sets, cr->nr_fds,
		cr->nr_made);
	return 0;
}

static int join(const struct cg_restore *cr, size_t fi, pid_t pid)
{
	const struct cg_fd *f = &cr->fds[fi];

	if (write(f->fd, "0", 1) == 1)
		return 0;
	pr_perror("pid %d: cannot join cgroup %s of hierarchy %s", pid, f->cg, hname(cr, f->hier));
	return -1;
}

int cgroup_task_enter(struct restore_ctx *ctx, size_t idx)
{
	struct cg_restore *cr = ctx->cg;
	size_t s, cur, nh;

	if (!cr || !cr->e || !cr->task_set[idx] || cr->task_set[idx] == cr->cur_set)
		return 0;
	s = cr->task_set[idx] - 1;
	cur = cr->cur_set;
	nh = nr_hier(cr);
	for (size_t h = 0; h < nh; h++) {
		size_t fi = cr->set_fd[s * nh + h];

		/* Born in that cgroup already: its maker is there. */
		if (cur && cr->set_fd[(cur - 1) * nh + h] == fi)
			continue;
		if (join(cr, fi, ctx->tasks[idx].pid))
			return -1;
	}
	cr->cur_set = s + 1;
	return 0;
}

int cg_enter_ns_root(struct restore_ctx *ctx)
{
	struct cg_restore *cr = ctx->cg;

	/* --manage-cgroups=ignore: the namespace the clone made, rooted where snap is. */
	if (!cr || !cr->e || !cr->ns)
		return 0;
	for (size_t h = 0; h < nr_hier(cr); h++)
		if (cr->ns_fd[h] && join(cr, cr->ns_fd[h] - 1, ctx->tasks[0].pid))
			return -1;
	cr->cur_set = 0;
	if (unshare(CLONE_NEWCGROUP)) {
		pr_perror("pid %d: cannot make its cgroup namespace", ctx->tasks[0].pid);
		return -1;
	}
	return 0;
}

int cgroup_move_fds(struct restore_ctx *ctx, int base)
{
	struct cg_restore *cr = ctx->cg;

	for (size_t i = 0; cr && i < cr->nr_fds; i++) {
		int fd = fcntl(cr->fds[i].fd, F_DUPFD_CLOEXEC, base);

		if (fd < 0) {
			pr_perror("cannot move the fd of cgroup %s", cr->fds[i].cg);
			return -1;
		}
		close(cr->fds[i].fd);
		cr->fds[i].fd = fd;
	}
	return 0;
}

void cgroup_undo(struct restore_ctx *ctx)
{
	struct cg_restore *cr = ctx->cg;

	for (size_t i = cr ? cr->nr_made : 0; i-- > 0;) {
		/* Its tasks were just killed: they may take a moment to leave it. */
		for (int tries = 0; rmdir(cr->made[i]) && errno == EBUSY && tries < 100; tries++)
			usleep(10000);
	}
}

void cgroup_restore_free(struct restore_ctx *ctx)
{
	struct cg_restore *cr = ctx->cg;

	if (!cr)
		return;
	for (size_t i = 0; i < cr->nr_fds; i++) {
		close(cr->fds[i].fd);
		free(cr->fds[i].cg);
	}
	for (size_t i = 0; i < cr->nr_made; i++)
		free(cr->made[i]);
	for (size_t h = 0; cr->base && cr->e && h < nr_hier(cr); h++)
		free(cr->base[h]);
	if (cr->e)
		protobuf_c_message_free_unpacked(&cr->e->base, NULL);
	if (cr->ns)
		protobuf_c_message_free_unpacked(&cr->ns->base, NULL);
	cg_hosts_free(&cr->hosts);
	free(cr->made);
	free(cr->fds);
	free(cr->host);
	free(cr->base);
	free(cr->set_fd);
	free(cr->ns_fd);
	free(cr->task_set);
	free(cr);
	ctx->cg = NULL;
}
