// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/PID/mountinfo into struct mnt_info, one per line, in the file's
 * order (the order the mounts were attached). Paths are unescaped (the
 * kernel writes space, tab, newline and backslash as \ooo); the per-mount
 * options become MOUNT_ATTR_* flags, the super block's lose rw/ro, which
 * become sb_ro.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "log.h"
#include "ns/mnt.h"

/* "rw,nosuid,relatime": NULL, or the first option snap does not know ("idmapped"). */
static const char *mount_attrs(char *opts, uint32_t *attrs)
{
	static const struct {
		const char *name;
		uint32_t attr;
	} known[] = {
		{"ro", MOUNT_ATTR_RDONLY},
		{"rw", 0},
		{"nosuid", MOUNT_ATTR_NOSUID},
		{"nodev", MOUNT_ATTR_NODEV},
		{"noexec", MOUNT_ATTR_NOEXEC},
		{"noatime", MOUNT_ATTR_NOATIME},
		{"relatime", MOUNT_ATTR_RELATIME},
		{"nodiratime", MOUNT_ATTR_NODIRATIME},
		{"nosymfollow", MOUNT_ATTR_NOSYMFOLLOW},
	};
	char *save, *o;
	bool atime = false;

	*attrs = 0;
	for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(known) && strcmp(o, known[i].name); i++)
			;
		if (i == ARRAY_SIZE(known))
			return o;
		*attrs |= known[i].attr;
		atime |= !strcmp(o, "noatime") || !strcmp(o, "relatime");
	}
	/* Neither noatime nor relatime: strictatime. */
	if (!atime)
		*attrs |= MOUNT_ATTR_STRICTATIME;
	return NULL;
}

/* "rw,size=65536k,mode=755": rw/ro out into sb_ro, the rest kept. */
static char *sb_options(const char *opts, bool *ro)
{
	char *out = calloc(1, strlen(opts) + 1), *copy = strdup(opts), *save, *o;

	*ro = false;
	if (!out || !copy) {
		free(out);
		free(copy);
		return NULL;
	}
	for (o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "ro") || !strcmp(o, "rw")) {
			*ro = !strcmp(o, "ro");
			continue;
		}
		if (*out)
			strcat(out, ",");
		strcat(out, o);
	}
	free(copy);
	return out;
}

/*
 * One line, split in place. False: not as the kernel writes it, or a
 * per-mount option snap cannot restore (*@unknown).
 */
static bool parse_line(char *line, struct mnt_info *m, const char **unknown)
{
	char *f[6], *save, *tag, *fstype, *source, *super;
	int i;

	for (i = 0; i < 6; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return false;
	}
	if (sscanf(f[0], "%u", &m->id) != 1 || sscanf(f[1], "%u", &m->parent) != 1 ||
	    sscanf(f[2], "%u:%u", &m->major, &m->minor) != 2)
		return false;
	*unknown = mount_attrs(f[5], &m->attrs);
	if (*unknown)
		return false;
	while ((tag = strtok_r(NULL, " ", &save)) && strcmp(tag, "-")) {
		if (!strncmp(tag, "shared:", 7))
			m->shared = strtoul(tag + 7, NULL, 10);
		else if (!strncmp(tag, "master:", 7))
			m->master = strtoul(tag + 7, NULL, 10);
		else if (!strcmp(tag, "unbindable"))
			m->unbindable = true;
		/* propagate_from:N names a group outside our view: nothing to restore. */
	}
	fstype = strtok_r(NULL, " ", &save);
	source = strtok_r(NULL, " ", &save);
	super = strtok_r(NULL, " \n", &save);
	if (!tag || !fstype || !source || !super)
		return false;
	m->root = mountinfo_unescape(f[3]);
	m->mountpoint = mountinfo_unescape(f[4]);
	m->fstype = mountinfo_unescape(fstype);
	m->source = mountinfo_unescape(source);
	m->sb_opts = sb_options(super, &m->sb_ro);
	return true;
}

void mnt_info_free(struct mnt_info *m, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(m[i].root);
		free(m[i].mountpoint);
		free(m[i].fstype);
		free(m[i].source);
		free(m[i].sb_opts);
	}
	free(m);
}

int mnt_parse(pid_t pid, struct mnt_info **out, size_t *nr)
{
	struct mnt_info *v = NULL, *m;
	size_t n = 0, cap = 0, len = 0;
	char path[64], *line = NULL;
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	while (getline(&line, &len, f) > 0) {
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			m = realloc(v, cap * sizeof(*v));
			if (!m) {
				pr_err("out of memory for the mounts of pid %d", pid);
				goto out;
			}
			v = m;
		}
		const char *unknown = NULL;

		m = &v[n];
		memset(m, 0, sizeof(*m));
		n++;
		if (!parse_line(line, m, &unknown)) {
			if (unknown)
				pr_err("%s: mount %u has the option %s, which snap cannot restore",
				       path, m->id, unknown);
			else
				pr_err("%s: cannot parse line %zu", path, n);
			goto out;
		}
		if (!m->root || !m->mountpoint || !m->fstype || !m->source || !m->sb_opts) {
			pr_err("out of memory for the mounts of pid %d", pid);
			goto out;
		}
	}
	if (ferror(f)) {
		pr_perror("pid %d: cannot read %s", pid, path);
		goto out;
	}
	ret = 0;
out:
	free(line);
	fclose(f);
	if (ret) {
		mnt_info_free(v, n);
		return -1;
	}
	*out = v;
	*nr = n;
	return 0;
}
