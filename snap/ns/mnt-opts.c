// SPDX-License-Identifier: GPL-2.0
/*
 * The mount options CRIU defines: --external mnt[KEY]:VAL and its older
 * spelling --ext-mount-map KEY:VAL. Both add one (KEY, VAL) pair; what the
 * pair means depends on the command (ns/mnt.h), as in CRIU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/mnt.h"

/* @key..@kend is KEY, cut out of @arg (argv, writable) by ending it there. */
static int add(struct snap_opts *o, char *key, char *kend, const char *val, const char *opt,
	       const char *arg)
{
	struct ext_mount *e;

	if (kend == key || !*val) {
		fprintf(stderr, "snap: %s takes %s, not '%s'\n", opt,
			strcmp(opt, "--external") ? "KEY:VAL" : "mnt[KEY]:VAL", arg);
		return -1;
	}
	if (!strcmp(val, "auto") || !strncmp(key, "auto", kend - key)) {
		fprintf(stderr,
			"snap: %s %s: automatic external mounts are not supported; "
			"name each mount\n",
			opt, arg);
		return -1;
	}
	e = realloc(o->ext_mounts, (o->nr_ext_mounts + 1) * sizeof(*e));
	if (!e) {
		fprintf(stderr, "snap: out of memory\n");
		return -1;
	}
	*kend = '\0';
	o->ext_mounts = e;
	e[o->nr_ext_mounts++] = (struct ext_mount){key, val};
	return 0;
}

int mnt_opt_external(struct snap_opts *o, char *arg)
{
	char *end = strstr(arg, "]:");

	if (arg[0] != '[' || !end) {
		fprintf(stderr, "snap: --external takes mnt[KEY]:VAL, not 'mnt%s'\n", arg);
		return -1;
	}
	return add(o, arg + 1, end, end + 2, "--external", arg);
}

int mnt_opt_ext_map(struct snap_opts *o, char *arg)
{
	/* The key holds no ':' in CRIU's syntax either. */
	char *colon = strchr(arg, ':');

	if (!colon) {
		fprintf(stderr, "snap: --ext-mount-map takes KEY:VAL, not '%s'\n", arg);
		return -1;
	}
	return add(o, arg, colon, colon + 1, "--ext-mount-map", arg);
}

const char *mnt_ext_lookup(const struct snap_opts *o, const char *key)
{
	for (size_t i = 0; i < o->nr_ext_mounts; i++)
		if (!strcmp(o->ext_mounts[i].key, key))
			return o->ext_mounts[i].val;
	return NULL;
}
