// SPDX-License-Identifier: GPL-2.0
/*
 * `snap check`: probe the kernel (kerndat.c), print what snap can use, and
 * fail naming what it cannot do without.
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "kcompat.h"
#include "kerndat.h"
#include "log.h"

static void row_str(const char *label, const char *val, const char *note)
{
	printf("%-30s: %s", label, val);
	if (note)
		printf(" (%s)", note);
	putchar('\n');
}

static void row(const char *label, bool ok, const char *note)
{
	row_str(label, ok ? "yes" : "no", note);
}

static const struct {
	uint64_t bit;
	const char *name;
} uffd_feature_names[] = {
	{UFFD_FEATURE_PAGEFAULT_FLAG_WP, "UFFD_FEATURE_WP"},
	{UFFD_FEATURE_WP_ASYNC, "UFFD_FEATURE_WP_ASYNC"},
	{UFFD_FEATURE_WP_UNPOPULATED, "UFFD_FEATURE_WP_UNPOPULATED"},
	{UFFD_FEATURE_MOVE, "UFFD_FEATURE_MOVE"},
	{UFFD_FEATURE_EVENT_FORK, "UFFD_FEATURE_EVENT_FORK"},
	{UFFD_FEATURE_EVENT_REMOVE, "UFFD_FEATURE_EVENT_REMOVE"},
	{UFFD_FEATURE_EVENT_UNMAP, "UFFD_FEATURE_EVENT_UNMAP"},
};

static void add_missing(char *buf, size_t size, const char *what)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? ", " : "", what);
}

int cmd_check(const struct snap_opts *opts)
{
	static const char guards_unseen[] =
		"Linux 6.15+; processes with guard regions cannot be dumped";
	char missing[256] = "";
	char label[64];
	bool have_uffd;
	struct kfeat kf;
	size_t i;

	/* Verbosity was applied by log_init(); nothing else in opts matters here yet. */
	(void)opts;
	kerndat_probe(&kf);
	have_uffd = kf.uffd || kf.uffd_dev;

	printf("%-30s: %s\n", "kernel", kf.kernel);
	row("ptrace seize", kf.ptrace_seize, NULL);
	row("PTRACE_GET_SYSCALL_INFO", kf.ptrace_syscall_info, NULL);
	row("userfaultfd", kf.uffd,
	    kf.uffd ? NULL : "needs CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1");
	for (i = 0; i < sizeof(uffd_feature_names) / sizeof(uffd_feature_names[0]); i++) {
		snprintf(label, sizeof(label), "  %s", uffd_feature_names[i].name);
		if (have_uffd)
			row(label, kf.uffd_features & uffd_feature_names[i].bit, NULL);
		else
			row_str(label, "unknown", NULL);
	}
	row("/dev/userfaultfd", kf.uffd_dev, NULL);
	row("PAGEMAP_SCAN", kf.pagemap_scan, NULL);
	row("MADV_GUARD_INSTALL", kf.guard_install,
	    kf.guard_install ? NULL : "Linux 6.13+; images with guard regions cannot be restored");
	/* Where guards exist but pagemap does not show them, they read as swapped pages. */
	row("guard regions in pagemap", kf.pagemap_guard,
	    kf.pagemap_guard || !kf.guard_install ? NULL : guards_unseen);
	row("clone3 set_tid", kf.clone3_set_tid,
	    kf.clone3_set_tid ? NULL : "needs CAP_CHECKPOINT_RESTORE");
	row("pidfd_getfd", kf.pidfd_getfd, NULL);
	row("CAP_SYS_RESOURCE", kf.cap_sys_resource,
	    kf.cap_sys_resource ? NULL : "rlimits above hard limits cannot be restored");
	printf("%-30s: %u bytes\n", "xsave size", kf.xsave_size);
	printf("%-30s: no (not needed)\n", "soft-dirty");

	if (!kf.ptrace_seize)
		add_missing(missing, sizeof(missing), "ptrace seize");
	if (!kf.uffd)
		add_missing(missing, sizeof(missing), "userfaultfd");
	/* Without a uffd the feature mask says nothing about the kernel. */
	if (have_uffd && !(kf.uffd_features & UFFD_FEATURE_MOVE))
		add_missing(missing, sizeof(missing), "UFFD_FEATURE_MOVE (Linux 6.8+)");
	if (!kf.clone3_set_tid)
		add_missing(missing, sizeof(missing), "clone3 set_tid");
	if (!kf.pidfd_getfd)
		add_missing(missing, sizeof(missing), "pidfd_getfd");
	if (missing[0]) {
		/* The table goes first, so the error ends the output. */
		fflush(stdout);
		pr_err("snap cannot run here, missing: %s", missing);
		return -1;
	}
	printf("Looks good.\n");
	return 0;
}
