/* SPDX-License-Identifier: GPL-2.0 */
/* The cgroup properties snap saves and sets (cg-props.c has the list). */
#ifndef SNAP_CG_PROPS_H
#define SNAP_CG_PROPS_H

#include "cgroup.pb-c.h"

/*
 * The properties of hierarchy @controllers that cgroup directory @dir has,
 * appended to @d (malloc'd). A file it lacks is no property of it. Logged.
 */
int cg_props_read(const char *controllers, const char *dir, CgDir *d);
/* Free what cg_props_read() added to @d. */
void cg_props_free(CgDir *d);
/*
 * Write @d's properties into @dir, in their order; @what names the cgroup
 * in messages. A file this kernel lacks is skipped with a warning. Logged.
 */
int cg_props_write(const char *dir, const CgDir *d, const char *what);
/*
 * A v1 cpuset cgroup snap just made has no cpus and mems, and no task may
 * join it so: it gets its parent's. Logged.
 */
int cg_cpuset_inherit(const char *controllers, const char *dir);

#endif
