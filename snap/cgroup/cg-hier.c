// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup hierarchies mounted here (from /proc/self/mountinfo), a task's
 * membership (from /proc/PID/cgroup) and path arithmetic. A v1 hierarchy is
 * known by its controllers, sorted, the way both files can be compared:
 * /proc/PID/cgroup says "cpu,cpuacct" where the mount options may say
 * "cpuacct,cpu" among others; cgroup2 is "".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cg-hier.h"
#include "ctx.h"
#include "log.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The words of comma-separated @list that @keep accepts, sorted and joined
 * again. NULL if out of memory.
 */
static char *sorted_list(const char *list, bool (*keep)(const char *w, void *arg), void *arg)
{
	char *copy = strdup(list), *w[64], *save = NULL, *tok, *out;
	size_t n = 0, len = 1;

	if (!copy)
		return NULL;
	for (tok = strtok_r(copy, ",", &save); tok && n < ARRAY_SIZE(w);
	     tok = strtok_r(NULL, ",", &save))
		if (!keep || keep(tok, arg)) {
			w[n++] = tok;
			len += strlen(tok) + 1;
		}
	qsort(w, n, sizeof(w[0]), cmp_str);
	out = malloc(len);
	if (out) {
		out[0] = 0;
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(out, ",");
			strcat(out, w[i]);
		}
	}
	free(copy);
	return out;
}

/* The controller names of /proc/cgroups, one string "\ncpu\nmemory\n...\n". */
static char *known_controllers(void)
{
	char line[256], name[64], *all = strdup("\n");
	FILE *f = fopen("/proc/cgroups", "re");

	if (!f || !all) {
		if (f)
			fclose(f);
		return all;
	}
	while (all && fgets(line, sizeof(line), f)) {
		char *n;

		if (line[0] == '#' || sscanf(line, "%63s", name) != 1)
			continue;
		n = realloc(all, strlen(all) + strlen(name) + 2);
		if (!n) {
			free(all);
			all = NULL;
			break;
		}
		all = n;
		strcat(strcat(all, name), "\n");
	}
	fclose(f);
	return all;
}

/* A mount option that names a controller or a named hierarchy. */
static bool is_controller(const char *w, void *arg)
{
	const char *known = arg;
	char pat[80];

	if (!strncmp(w, "name=", 5))
		return true;
	snprintf(pat, sizeof(pat), "\n%s\n", w);
	return strstr(known, pat) != NULL;
}

static int add_host(struct cg_hosts *hs, const char *ctrls, const char *root, const char *mnt)
{
	struct cg_hier *n;

	/* The same hierarchy mounted twice: its whole, or the first mount, is enough. */
	for (size_t i = 0; i < hs->nr; i++)
		if (!strcmp(hs->h[i].controllers, ctrls)) {
			if (strcmp(hs->h[i].mnt_root, "/") && !strcmp(root, "/")) {
				char *m = strdup(mnt), *r = strdup(root);

				if (!m || !r) {
					free(m);
					free(r);
					return -1;
				}
				free(hs->h[i].mnt);
				free(hs->h[i].mnt_root);
				hs->h[i].mnt = m;
				hs->h[i].mnt_root = r;
			}
			return 0;
		}
	n = realloc(hs->h, (hs->nr + 1) * sizeof(*n));
	if (!n)
		return -1;
	hs->h = n;
	n = &hs->h[hs->nr];
	n->controllers = strdup(ctrls);
	n->mnt = strdup(mnt);
	n->mnt_root = strdup(root);
	hs->nr++;
	return n->controllers && n->mnt && n->mnt_root ? 0 : -1;
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE SRC SUPER". */
static int parse_mount(struct cg_hosts *hs, char *line, const char *known)
{
	char root[PATH_MAX], mnt[PATH_MAX], type[32], super[1024], *sep, *ctrls;
	int ret;

	sep = strstr(line, " - ");
	if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
	    sscanf(sep + 3, "%31s %*s %1023s", type, super) != 2)
		return 0;
	if (!strcmp(type, "cgroup2"))
		ctrls = strdup("");
	else if (!strcmp(type, "cgroup"))
		ctrls = sorted_list(super, is_controller, (void *)known);
	else
		return 0;
	if (!ctrls)
		return -1;
	/* A v1 mount with no controller and no name cannot be told apart. */
	ret = strcmp(type, "cgroup") || *ctrls ? add_host(hs, ctrls, root, mnt) : 0;
	free(ctrls);
	return ret;
}

int cg_hosts_read(struct cg_hosts *hs)
{
	char *known = known_controllers(), line[8192];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = 0;

	hs->h = NULL;
	hs->nr = 0;
	if (!f || !known) {
		pr_perror("cannot read the cgroup mounts (/proc/self/mountinfo, /proc/cgroups)");
		if (f)
			fclose(f);
		free(known);
		return -1;
	}
	while (!ret && fgets(line, sizeof(line), f))
		ret = parse_mount(hs, line, known);
	fclose(f);
	free(known);
	if (ret)
		pr_err("out of memory for the cgroup mounts");
	return ret;
}

void cg_hosts_free(struct cg_hosts *hs)
{
	for (size_t i = 0; i < hs->nr; i++) {
		free(hs->h[i].controllers);
		free(hs->h[i].mnt);
		free(hs->h[i].mnt_root);
	}
	free(hs->h);
	hs->h = NULL;
	hs->nr = 0;
}

const struct cg_hier *cg_host_find(const struct cg_hosts *hs, const char *controllers)
{
	for (size_t i = 0; i < hs->nr; i++)
		if (!strcmp(hs->h[i].controllers, controllers))
			return &hs->h[i];
	return NULL;
}

const char *cg_hier_name(const char *controllers)
{
	return *controllers ? controllers : "cgroup2";
}

int cg_members_read(pid_t pid, struct cg_members *ms)
{
	char path[64], line[PATH_MAX + 256];
	FILE *f;
	int err = 0;

	ms->m = NULL;
	ms->nr = 0;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!err && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
		struct cg_member *n;

		if (!p)
			continue;
		*p++ = 0;
		p[strcspn(p, "\n")] = 0;
		n = realloc(ms->m, (ms->nr + 1) * sizeof(*n));
		if (!n) {
			err = ENOMEM;
			break;
		}
		ms->m = n;
		n = &ms->m[ms->nr++];
		n->controllers = sorted_list(c + 1, NULL, NULL);
		n->path = strdup(p);
		if (!n->controllers || !n->path)
			err = ENOMEM;
	}
	fclose(f);
	if (err) {
		cg_members_free(ms);
		errno = err;
		return -1;
	}
	return 0;
}

void cg_members_free(struct cg_members *ms)
{
	for (size_t i = 0; i < ms->nr; i++) {
		free(ms->m[i].controllers);
		free(ms->m[i].path);
	}
	free(ms->m);
	ms->m = NULL;
	ms->nr = 0;
}

const char *cg_members_path(const struct cg_members *ms, const char *controllers)
{
	for (size_t i = 0; i < ms->nr; i++)
		if (!strcmp(ms->m[i].controllers, controllers))
			return ms->m[i].path;
	return NULL;
}

int cg_fs_path(const struct cg_hier *h, const char *path, const char *file, char *buf, size_t size)
{
	size_t rl = strlen(h->mnt_root);
	const char *rest = path;
	int n;

	if (strcmp(h->mnt_root, "/")) {
		if (strncmp(path, h->mnt_root, rl) || (path[rl] && path[rl] != '/'))
			return -1;
		rest = path + rl;
	}
	if (!strcmp(rest, "/"))
		rest = "";
	n = snprintf(buf, size, "%s%s%s%s", h->mnt, rest, file ? "/" : "", file ? file : "");
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The next component of @p (after any '/'): its start, *@len its length; NULL at the end. */
static const char *next_comp(const char *p, size_t *len)
{
	while (*p == '/')
		p++;
	if (!*p)
		return NULL;
	*len = strcspn(p, "/");
	return p;
}

char *cg_path_rel(const char *from, const char *to)
{
	const char *f = from, *t = to, *fc, *tc;
	size_t fl = 0, tl = 0, fl0, len = 1;
	char *out;

	/* Skip the components both share. */
	for (;;) {
		fc = next_comp(f, &fl);
		tc = next_comp(t, &tl);
		if (!fc || !tc || fl != tl || strncmp(fc, tc, fl))
			break;
		f = fc + fl;
		t = tc + tl;
	}
	fl0 = fl;
	for (const char *c = fc; c; c = next_comp(c + fl, &fl))
		len += 3;
	len += strlen(t);
	out = malloc(len);
	if (!out)
		return NULL;
	out[0] = 0;
	fl = fl0;
	for (const char *c = fc; c; c = next_comp(c + fl, &fl))
		strcat(out, "../");
	while (*t == '/')
		t++;
	strcat(out, t);
	len = strlen(out);
	if (len && out[len - 1] == '/')
		out[len - 1] = 0;
	return out;
}

int cg_path_join(const char *base, const char *rel, char *buf, size_t size)
{
	const char *parts[2] = {base, rel};
	size_t len = 0, cl;

	if (size < 2)
		return -1;
	buf[0] = 0;
	for (int i = 0; i < 2; i++)
		for (const char *c = next_comp(parts[i], &cl); c; c = next_comp(c + cl, &cl)) {
			if (cl == 1 && c[0] == '.')
				return -1;
			if (cl == 2 && !strncmp(c, "..", 2)) {
				char *slash = strrchr(buf, '/');

				if (!slash)
					return -1;
				*slash = 0;
				len = slash - buf;
				continue;
			}
			if (len + 1 + cl >= size)
				return -1;
			buf[len++] = '/';
			memcpy(buf + len, c, cl);
			len += cl;
			buf[len] = 0;
		}
	if (!len)
		strcpy(buf, "/");
	return 0;
}

bool cg_rel_below(const char *rel)
{
	return strncmp(rel, "..", 2) || (rel[2] && rel[2] != '/');
}
