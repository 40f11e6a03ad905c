// SPDX-License-Identifier: GPL-2.0
/* The words of --manage-cgroups, CRIU's, and the parsing of --cgroup-root [CTRL:]PATH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"

static const char *const modes[] = {
	[CG_MODE_SOFT] = "soft",   [CG_MODE_IGNORE] = "ignore", [CG_MODE_NONE] = "none",
	[CG_MODE_PROPS] = "props", [CG_MODE_FULL] = "full",	[CG_MODE_STRICT] = "strict",
};

const char *cg_mode_name(enum cg_mode m)
{
	return (size_t)m < ARRAY_SIZE(modes) ? modes[m] : NULL;
}

int cg_mode_parse(const char *s, enum cg_mode *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i])) {
			*m = i;
			return 0;
		}
	return -1;
}

int cg_root_parse(const char *arg, struct snap_opts *o)
{
	const char *colon = arg[0] == '/' ? NULL : strchr(arg, ':');
	const char *path = colon ? colon + 1 : arg;
	struct cg_root_opt *n;

	if (path[0] != '/' || (colon && colon == arg)) {
		fprintf(stderr, "snap: --cgroup-root takes [CONTROLLER:]/PATH, not '%s'\n", arg);
		return -1;
	}
	n = realloc(o->cgroup_roots, (o->nr_cgroup_roots + 1) * sizeof(*n));
	if (!n)
		return -1;
	o->cgroup_roots = n;
	n[o->nr_cgroup_roots].ctrl = colon ? strndup(arg, colon - arg) : NULL;
	n[o->nr_cgroup_roots].path = path;
	o->nr_cgroup_roots++;
	return 0;
}
