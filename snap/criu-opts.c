// SPDX-License-Identifier: GPL-2.0
/*
 * Every option CRIU defines, and what snap does with it (criu-opts.h). The
 * RPC side checks this list against the request's descriptor, so a field
 * added to rpc.proto and forgotten here is refused, not dropped. The mapped
 * ones have their own command-line options in main.c.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu-opts.h"
#include "log.h"

#define MAPPED(rpc) { rpc, NULL, 0, no_argument, CRIU_OPT_MAPPED, NULL }

static const char tls_why[] = "snap's page server speaks plain TCP";
static const char props_why[] =
	"snap sets the properties its --manage-cgroups mode saved; it reads no others";
static const char irmap_why[] = "snap has no inotify path map";
static const char sharing_why[] = "the sharing of external mounts is not restored";

const struct criu_opt criu_opts[] = {
	MAPPED("images_dir_fd"),
	MAPPED("images_dir"),
	MAPPED("pid"),
	MAPPED("leave_running"),
	MAPPED("ext_unix_sk"),
	MAPPED("tcp_established"),
	MAPPED("shell_job"),
	MAPPED("file_locks"),
	MAPPED("log_level"),
	MAPPED("log_file"),
	MAPPED("notify_scripts"),
	MAPPED("root"),
	MAPPED("work_dir_fd"),
	MAPPED("unix_sk_ino"),
	MAPPED("rst_sibling"),
	MAPPED("tcp_close"),
	MAPPED("network_lock"),
	MAPPED("display_stats"),
	MAPPED("inherit_fd"),
	MAPPED("evasive_devices"),
	MAPPED("lsm_profile"),
	MAPPED("lsm_mount_context"),
	MAPPED("orphan_pts_master"),
	MAPPED("empty_ns"),
	MAPPED("join_ns"),
	MAPPED("external"),
	MAPPED("ext_mnt"),
	MAPPED("manage_cgroups"),
	MAPPED("manage_cgroups_mode"),
	MAPPED("cg_root"),
	MAPPED("freeze_cgroup"),
	MAPPED("config_file"),
	MAPPED("status_fd"),
	MAPPED("ghost_limit"),
	MAPPED("ps"),
	MAPPED("parent_img"),
	MAPPED("track_mem"),
	MAPPED("lazy_pages"),
	MAPPED("leave_stopped"),
	MAPPED("tcp_skip_in_flight"),
	MAPPED("link_remap"),
	{ "cgroup_props", "cgroup-props", 0, required_argument, CRIU_OPT_REFUSED, props_why },
	{ "cgroup_props_file", "cgroup-props-file", 0, required_argument, CRIU_OPT_REFUSED,
	  props_why },
	{ "cgroup_dump_controller", "cgroup-dump-controller", 0, required_argument,
	  CRIU_OPT_REFUSED, "snap saves every controller the tree is in" },
	{ "cgroup_yard", "cgroup-yard", 0, required_argument, CRIU_OPT_IGNORED,
	  "snap reaches the cgroups through /sys/fs/cgroup" },
	{ "timeout", "timeout", 0, required_argument, CRIU_OPT_IGNORED,
	  "snap has no freeze timeout" },
	{ "weak_sysctls", "weak-sysctls", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap fails on a sysctl the host lacks rather than skipping it: never a different "
	  "result" },
	{ "cpu_cap", "cpu-cap", 0, optional_argument, CRIU_OPT_IGNORED,
	  "snap checks CPU features its own way" },
	{ "force_irmap", "force-irmap", 0, no_argument, CRIU_OPT_IGNORED, irmap_why },
	{ "irmap_scan_paths", "irmap-scan-path", 0, required_argument, CRIU_OPT_IGNORED,
	  irmap_why },
	{ "skip_file_rwx_check", "skip-file-rwx-check", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap reopens files with their saved flags" },
	{ "mntns_compat_mode", "mntns-compat-mode", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap has one way to restore mounts" },
	{ "log_to_stderr", NULL, 0, no_argument, CRIU_OPT_IGNORED,
	  "snap's error lines always go to stderr" },
	{ "pre_dump_mode", "pre-dump-mode", 0, required_argument, CRIU_OPT_IGNORED,
	  "snap's pre-dump reads the pages its own way" },
	{ "pidfd_store_sk", NULL, 0, no_argument, CRIU_OPT_IGNORED,
	  "snap keeps no pidfds between pre-dumps" },
	{ "auto_dedup", "auto-dedup", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap leaves the parent images whole (snap dedup folds a chain into one set)" },
	{ NULL, "log-pid", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap writes one log for the whole tree" },
	{ NULL, "libdir", 'L', required_argument, CRIU_OPT_IGNORED, "snap loads no plugins" },
	{ NULL, "no-default-config", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap reads no configuration file" },
	{ NULL, "extra", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap check shows every feature it probes" },
	{ NULL, "experimental", 0, no_argument, CRIU_OPT_IGNORED,
	  "snap check shows every feature it probes" },
	{ "veths", "veth-pair", 0, required_argument, CRIU_OPT_REFUSED,
	  "snap makes no veth pairs (empty_ns leaves the network to the caller)" },
	{ "exec_cmd", "exec-cmd", 0, no_argument, CRIU_OPT_REFUSED,
	  "snap runs no command after a restore" },
	{ "auto_ext_mnt", NULL, 0, no_argument, CRIU_OPT_REFUSED,
	  "name each external mount (ext_mnt)" },
	{ "ext_sharing", "enable-external-sharing", 0, no_argument, CRIU_OPT_REFUSED,
	  sharing_why },
	{ "ext_masters", "enable-external-masters", 0, no_argument, CRIU_OPT_REFUSED,
	  sharing_why },
	{ "skip_mnt", "skip-mnt", 0, required_argument, CRIU_OPT_REFUSED,
	  "snap leaves no mount out" },
	{ "enable_fs", "enable-fs", 0, required_argument, CRIU_OPT_REFUSED,
	  "snap dumps only the file systems it knows" },
	{ "tls", "tls", 0, no_argument, CRIU_OPT_REFUSED, tls_why },
	{ "tls_cacert", "tls-cacert", 0, required_argument, CRIU_OPT_REFUSED, tls_why },
	{ "tls_cacrl", "tls-cacrl", 0, required_argument, CRIU_OPT_REFUSED, tls_why },
	{ "tls_cert", "tls-cert", 0, required_argument, CRIU_OPT_REFUSED, tls_why },
	{ "tls_key", "tls-key", 0, required_argument, CRIU_OPT_REFUSED, tls_why },
	{ "tls_no_cn_verify", "tls-no-cn-verify", 0, no_argument, CRIU_OPT_REFUSED, tls_why },
	{ NULL, "stream", 0, no_argument, CRIU_OPT_REFUSED,
	  "snap writes image files; it has no image streamer" },
	{ NULL, "ps-socket", 0, required_argument, CRIU_OPT_REFUSED,
	  "give the page server's --address and --port" },
	{ "unprivileged", "unprivileged", 0, no_argument, CRIU_OPT_REFUSED, "snap runs as root" },
};

const size_t nr_criu_opts = sizeof(criu_opts) / sizeof(criu_opts[0]);

const struct criu_opt *criu_opt_rpc(const char *name)
{
	for (size_t i = 0; i < nr_criu_opts; i++)
		if (criu_opts[i].rpc && !strcmp(criu_opts[i].rpc, name))
			return &criu_opts[i];
	return NULL;
}

_Static_assert(sizeof(criu_opts) / sizeof(criu_opts[0]) <= 128,
	       "struct criu_opts_seen holds 128 options");

static bool on_cli(const struct criu_opt *r)
{
	return r->cli && r->kind != CRIU_OPT_MAPPED;
}

struct option *criu_opts_longopts(const struct option *own, size_t nr_own, int base)
{
	struct option *all = calloc(nr_own + nr_criu_opts + 1, sizeof(*all));
	size_t n = nr_own;

	if (!all) {
		fprintf(stderr, "snap: out of memory\n");
		return NULL;
	}
	memcpy(all, own, nr_own * sizeof(*all));
	for (size_t i = 0; i < nr_criu_opts; i++) {
		if (!on_cli(&criu_opts[i]))
			continue;
		all[n].name = criu_opts[i].cli;
		all[n].has_arg = criu_opts[i].has_arg;
		all[n++].val = base + (int)i;
	}
	return all;
}

int criu_opt_take(int c, int base, struct criu_opts_seen *seen)
{
	size_t i;

	for (i = 0; i < nr_criu_opts; i++)
		if (on_cli(&criu_opts[i]) &&
		    (c == base + (int)i || (c < 256 && c == criu_opts[i].short_opt)))
			break;
	if (i == nr_criu_opts)
		return 0;
	if (criu_opts[i].kind == CRIU_OPT_REFUSED) {
		fprintf(stderr, "snap: --%s is not supported: %s\n", criu_opts[i].cli,
			criu_opts[i].why);
		return -1;
	}
	seen->ignored[i / 64] |= 1ULL << (i % 64);
	return 1;
}

void criu_opts_say_ignored(const struct criu_opts_seen *seen)
{
	for (size_t i = 0; i < nr_criu_opts; i++)
		if (seen->ignored[i / 64] & (1ULL << (i % 64)))
			pr_info("ignoring --%s: %s", criu_opts[i].cli, criu_opts[i].why);
}
