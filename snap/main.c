// SPDX-License-Identifier: GPL-2.0
/*
 * snap: live checkpoint/restore of Linux processes. main() parses the
 * command line (CRIU-compatible option names), probes the kernel once and
 * hands an explicit snap_opts/kfeat pair to the subcommand.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup/cgroup.h"
#include "cmds.h"
#include "criu-opts.h"
#include "lazy/lazy.h"
#include "kerndat.h"
#include "log.h"
#include "mem/ghost.h"
#include "ns/ns.h"
#include "net/netlock.h"
#include "ns/mnt.h"
#include "rpc/rpc.h"

enum {
	OPT_SHELL_JOB = 256,
	OPT_LEAVE_RUNNING,
	OPT_DISPLAY_STATS,
	OPT_PIDFILE,
	OPT_PID_WAIT_MS,
	OPT_NO_LIVE,
	OPT_LIVE_HOLD,
	OPT_COW_LIMIT,
	OPT_NETWORK_LOCK,
	OPT_ACTION_SCRIPT,
	OPT_LIST,
	OPT_UNLOCK,
	OPT_LOCK,
	OPT_ALL,
	OPT_LOCK_CONN,
	OPT_TCP_ESTABLISHED,
	OPT_TCP_CLOSE,
	OPT_TCP_SKIP_IN_FLIGHT,
	OPT_LINK_REMAP,
	OPT_PREV_IMAGES_DIR,
	OPT_TRACK_MEM,
	OPT_LAZY_PAGES,
	OPT_NEW_PIDNS,
	OPT_PAGE_SERVER,
	OPT_ADDRESS,
	OPT_PORT,
	OPT_DAEMON,
	OPT_STATUS_FD,
	OPT_INHERIT_FD,
	OPT_EVASIVE_DEVICES,
	OPT_ORPHAN_PTS_MASTER,
	OPT_EXTERNAL,
	OPT_EMPTY_NS,
	OPT_MANAGE_CGROUPS,
	OPT_CGROUP_ROOT,
	OPT_FREEZE_CGROUP,
	OPT_GHOST_LIMIT,
	OPT_CRIU = 0x1000, /* + index in criu_opts[]: CRIU's options snap does not use */
};

static int parse_verbosity(int argc, char **argv, const char *arg)
{
	if (arg)
		return atoi(arg);
	/* "-v N" as CRIU takes it, besides -vN and -v */
	if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9' && !argv[optind][1])
		return atoi(argv[optind++]);
	return LOG_INFO;
}

/* --@opt SIZE (bytes, or with a K, M or G suffix), at least @min. */
static int parse_size(const char *opt, const char *arg, uint64_t min, uint64_t *out)
{
	const char *units = "kKmMgG";
	const char *u;
	char *end;
	uint64_t v;
	int shift = 0;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end && (u = strchr(units, *end))) {
		shift = 10 * (1 + (u - units) / 2);
		end++;
	}
	if (end == arg || *end || arg[0] == '-' || errno || v > (UINT64_MAX >> shift) ||
	    (v << shift) < min) {
		char least[48] = "";

		if (min)
			snprintf(least, sizeof(least), " of at least %llu bytes",
				 (unsigned long long)min);
		fprintf(stderr, "snap: --%s takes a size%s, in bytes or with a K, M or G suffix, "
				"not '%s'\n", opt, least, arg);
		return -1;
	}
	*out = v << shift;
	return 0;
}

static int parse_network_lock(const char *arg, struct snap_opts *o)
{
	if (!strcmp(arg, "nft") || !strcmp(arg, "nftables")) {
		o->network_lock = NETLOCK_METHOD__NETLOCK_NFT;
	} else if (!strcmp(arg, "skip")) {
		o->network_lock = NETLOCK_METHOD__NETLOCK_SKIP;
	} else if (!strcmp(arg, "iptables")) {
		fprintf(stderr, "snap: --network-lock iptables: snap does not use iptables; "
				"its lock (nft) talks to nf_tables itself and needs no firewall "
				"tool\n");
		return -1;
	} else {
		fprintf(stderr, "snap: --network-lock takes nft or skip, not '%s'\n", arg);
		return -1;
	}
	return 0;
}

static int add_script(const char *path, struct snap_opts *o)
{
	const char **p = realloc(o->action_scripts, (o->nr_action_scripts + 1) * sizeof(*p));

	if (!p) {
		fprintf(stderr, "snap: out of memory\n");
		return -1;
	}
	o->action_scripts = p;
	p[o->nr_action_scripts++] = path;
	return 0;
}

static int parse_lock_conn(const char *arg, struct snap_opts *o)
{
	struct netlock_conn *c = realloc(o->lock_conns, (o->nr_lock_conns + 1) * sizeof(*c));

	if (!c) {
		fprintf(stderr, "snap: out of memory\n");
		return -1;
	}
	o->lock_conns = c;
	if (netlock_parse_conn(arg, &c[o->nr_lock_conns])) {
		fprintf(stderr, "snap: --lock-conn takes LOCAL-REMOTE, each ADDR:PORT or "
				"[IPV6]:PORT, not '%s'\n", arg);
		return -1;
	}
	o->nr_lock_conns++;
	return 0;
}

/* --ext-unix-sk=INO[,INO...]: the external peers allowed. */
static int parse_inodes(const char *arg, struct snap_opts *o)
{
	const char *p = arg;
	uint32_t *n;
	char *end;

	while (*p) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v == 0 || v > UINT32_MAX || (*end && *end != ',')) {
			fprintf(stderr, "snap: --ext-unix-sk takes socket inodes, not '%s'\n", arg);
			return -1;
		}
		n = realloc(o->ext_unix_inos, (o->nr_ext_unix_inos + 1) * sizeof(*n));
		if (!n) {
			fprintf(stderr, "snap: out of memory\n");
			return -1;
		}
		o->ext_unix_inos = n;
		o->ext_unix_inos[o->nr_ext_unix_inos++] = v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* --inherit-fd fd[N]:KEY, CRIU's form. */
static int parse_inherit_fd(const char *arg, struct snap_opts *o)
{
	struct inherit_fd *n;
	char *end;
	long fd;

	if (strncmp(arg, "fd[", 3))
		goto bad;
	fd = strtol(arg + 3, &end, 10);
	if (end == arg + 3 || fd < 0 || fd > INT32_MAX || end[0] != ']' || end[1] != ':' ||
	    !end[2])
		goto bad;
	n = realloc(o->inherit_fds, (o->nr_inherit_fds + 1) * sizeof(*n));
	if (!n) {
		fprintf(stderr, "snap: out of memory\n");
		return -1;
	}
	o->inherit_fds = n;
	n[o->nr_inherit_fds].fd = fd;
	n[o->nr_inherit_fds++].key = end + 2;
	return 0;
bad:
	fprintf(stderr, "snap: --inherit-fd takes fd[N]:KEY (KEY: pipe:[INO], socket:[INO] or a "
			"path), not '%s'\n", arg);
	return -1;
}

static int parse_args(int argc, char **argv, struct snap_opts *o, struct criu_opts_seen *seen)
{
	static const struct option own[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "log-file", required_argument, NULL, 'o' },
		{ "shell-job", no_argument, NULL, 'j' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "leave-stopped", no_argument, NULL, 's' },
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "pid-wait-ms", required_argument, NULL, OPT_PID_WAIT_MS },
		{ "display-stats", no_argument, NULL, OPT_DISPLAY_STATS },
		{ "no-live", no_argument, NULL, OPT_NO_LIVE },
		{ "live-hold", required_argument, NULL, OPT_LIVE_HOLD },
		{ "cow-limit", required_argument, NULL, OPT_COW_LIMIT },
		{ "file-locks", no_argument, NULL, 'l' },
		{ "ext-unix-sk", optional_argument, NULL, 'x' },
		{ "network-lock", required_argument, NULL, OPT_NETWORK_LOCK },
		{ "action-script", required_argument, NULL, OPT_ACTION_SCRIPT },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "unlock", no_argument, NULL, OPT_UNLOCK },
		{ "lock", no_argument, NULL, OPT_LOCK },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "lock-conn", required_argument, NULL, OPT_LOCK_CONN },
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },
		{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },
		{ "tcp-skip-in-flight", no_argument, NULL, OPT_TCP_SKIP_IN_FLIGHT },
		{ "skip-in-flight", no_argument, NULL, OPT_TCP_SKIP_IN_FLIGHT },
		{ "link-remap", no_argument, NULL, OPT_LINK_REMAP },
		{ "prev-images-dir", required_argument, NULL, OPT_PREV_IMAGES_DIR },
		{ "track-mem", no_argument, NULL, OPT_TRACK_MEM },
		{ "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },
		{ "new-pidns", no_argument, NULL, OPT_NEW_PIDNS },
		{ "page-server", no_argument, NULL, OPT_PAGE_SERVER },
		{ "address", required_argument, NULL, OPT_ADDRESS },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
		{ "inherit-fd", required_argument, NULL, OPT_INHERIT_FD },
		{ "evasive-devices", no_argument, NULL, OPT_EVASIVE_DEVICES },
		{ "orphan-pts-master", no_argument, NULL, OPT_ORPHAN_PTS_MASTER },
		{ "work-dir", required_argument, NULL, 'W' },
		{ "root", required_argument, NULL, 'r' },
		{ "external", required_argument, NULL, OPT_EXTERNAL },
		{ "ext-mount-map", required_argument, NULL, 'M' },
		{ "empty-ns", required_argument, NULL, OPT_EMPTY_NS },
		{ "join-ns", required_argument, NULL, 'J' },
		{ "manage-cgroups", optional_argument, NULL, OPT_MANAGE_CGROUPS },
		{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
		{ "freeze-cgroup", required_argument, NULL, OPT_FREEZE_CGROUP },
		{ "ghost-limit", required_argument, NULL, OPT_GHOST_LIMIT },
		{ "restore-sibling", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option *longopts = criu_opts_longopts(own, ARRAY_SIZE(own), OPT_CRIU);
	unsigned long ms;
	char *end;
	int c, ret = -1;

	if (!longopts)
		return -1;
	while ((c = getopt_long(argc, argv, "t:D:o:v::jRsdlVhSx::r:W:M:J:" CRIU_OPTS_SHORT, longopts,
				NULL)) != -1) {
		switch (c) {
		case 't':
			o->pid = strtol(optarg, &end, 10);
			if (*end || o->pid <= 0) {
				fprintf(stderr, "snap: -t takes a process id, not '%s'\n", optarg);
				goto out;
			}
			break;
		case 'D':
			o->images_dir = optarg;
			break;
		case 'o':
			o->log_file = optarg;
			break;
		case 'v':
			o->verbosity = parse_verbosity(argc, argv, optarg);
			break;
		case 'j':
			o->shell_job = true;
			break;
		case 'R':
			o->leave_running = true;
			break;
		case 's':
			o->leave_stopped = true;
			break;
		case 'd':
			o->detach = true;
			break;
		case 'l':
			o->file_locks = true;
			break;
		case OPT_PIDFILE:
			o->pidfile = optarg;
			break;
		case OPT_PID_WAIT_MS:
			errno = 0;
			ms = strtoul(optarg, &end, 10);
			if (*end || !*optarg || optarg[0] == '-' || errno || ms > 3600000) {
				fprintf(stderr, "snap: --pid-wait-ms takes milliseconds (up to an hour), "
						"not '%s'\n", optarg);
				goto out;
			}
			o->pid_wait_ms = ms;
			break;
		case OPT_DISPLAY_STATS:
			o->display_stats = true;
			break;
		case OPT_NO_LIVE:
			o->no_live = true;
			break;
		case OPT_LIVE_HOLD:
			if (strcmp(optarg, "fork") && strcmp(optarg, "splice")) {
				pr_err("--live-hold: '%s' is neither fork nor splice", optarg);
				goto out;
			}
			o->live_splice = !strcmp(optarg, "splice");
			break;
		case OPT_COW_LIMIT:
			if (parse_size("cow-limit", optarg, 4096, &o->cow_limit))
				goto out;
			break;
		case 'x':
			o->ext_unix_sk = true;
			if (optarg && parse_inodes(optarg, o))
				goto out;
			break;
		case OPT_NETWORK_LOCK:
			if (parse_network_lock(optarg, o))
				goto out;
			break;
		case OPT_ACTION_SCRIPT:
			if (add_script(optarg, o))
				goto out;
			break;
		case OPT_LIST:
		case OPT_UNLOCK:
		case OPT_LOCK:
			o->netlock_op = c == OPT_LIST ? NETLOCK_OP_LIST :
					c == OPT_UNLOCK ? NETLOCK_OP_UNLOCK : NETLOCK_OP_LOCK;
			break;
		case OPT_ALL:
			o->netlock_all = true;
			break;
		case OPT_LOCK_CONN:
			if (parse_lock_conn(optarg, o))
				goto out;
			break;
		case OPT_TCP_ESTABLISHED:
			o->tcp_established = true;
			break;
		case OPT_TCP_CLOSE:
			o->tcp_close = true;
			break;
		case OPT_LINK_REMAP:
			o->link_remap = true;
			break;
		case OPT_TCP_SKIP_IN_FLIGHT:
			o->tcp_skip_in_flight = true;
			break;
		case OPT_PREV_IMAGES_DIR:
			o->prev_images_dir = optarg;
			break;
		case OPT_TRACK_MEM:
			o->track_mem = true;
			break;
		case OPT_LAZY_PAGES:
			o->lazy_pages = true;
			break;
		case OPT_NEW_PIDNS:
			o->new_pidns = true;
			break;
		case OPT_PAGE_SERVER:
			o->page_server = true;
			break;
		case OPT_ADDRESS:
			o->address = optarg;
			break;
		case OPT_PORT:
			o->port = strtol(optarg, &end, 10);
			if (*end || !*optarg || o->port < 0 || o->port > 65535) {
				fprintf(stderr, "snap: --port takes a port number, not '%s'\n",
					optarg);
				goto out;
			}
			break;
		case OPT_DAEMON:
			o->daemon = true;
			break;
		case OPT_STATUS_FD:
			o->status_fd = strtol(optarg, &end, 10);
			if (*end || !*optarg || o->status_fd < 0) {
				fprintf(stderr, "snap: --status-fd takes an fd number, not '%s'\n",
					optarg);
				goto out;
			}
			break;
		case OPT_INHERIT_FD:
			if (parse_inherit_fd(optarg, o))
				goto out;
			break;
		case OPT_EVASIVE_DEVICES:
			o->evasive_devices = true;
			break;
		case OPT_ORPHAN_PTS_MASTER:
			o->orphan_pts_master = true;
			break;
		case 'W':
			o->work_dir = optarg;
			break;
		case 'r':
			o->root = optarg;
			break;
		case OPT_EXTERNAL:
			if (ns_opt_external(optarg, o))
				goto out;
			break;
		case 'M':
			if (mnt_opt_ext_map(o, optarg))
				goto out;
			break;
		case OPT_EMPTY_NS:
			if (ns_opt_empty(optarg, o))
				goto out;
			break;
		case 'J':
			if (ns_opt_join(optarg, o))
				goto out;
			break;
		case OPT_MANAGE_CGROUPS:
			if (optarg && cg_mode_parse(optarg, &o->manage_cgroups)) {
				fprintf(stderr, "snap: --manage-cgroups takes none, props, soft, "
						"full, strict or ignore, not '%s'\n", optarg);
				goto out;
			}
			break;
		case OPT_CGROUP_ROOT:
			if (cg_root_parse(optarg, o))
				goto out;
			break;
		case OPT_FREEZE_CGROUP:
			o->freeze_cgroup = optarg;
			break;
		case OPT_GHOST_LIMIT:
			if (parse_size("ghost-limit", optarg, 0, &o->ghost_limit))
				goto out;
			break;
		case 'S':
			o->rst_sibling = true;
			break;
		case 'V':
			printf("snap %s\n", SNAP_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			ret = criu_opt_take(c, OPT_CRIU, seen);
			if (ret > 0)
				break;
			if (!ret)
				usage(stderr);
			ret = -1;
			goto out;
		}
	}
	ret = 0;
out:
	free(longopts);
	return ret;
}

/*
 * --page-server and its address go together, and only with dump and
 * pre-dump; dump --lazy-pages listens on that address itself.
 */
static int check_page_server(const char *cmd, const struct snap_opts *o)
{
	bool lazy_dump = o->lazy_pages && !strcmp(cmd, "dump");

	if (o->lazy_pages && !strcmp(cmd, "pre-dump")) {
		fprintf(stderr, "snap: --lazy-pages is an option of dump and restore\n");
		return -1;
	}
	if (lazy_dump && (o->page_server || o->port <= 0)) {
		fprintf(stderr, "snap: dump --lazy-pages serves its pages itself: it needs --port "
				"(not 0), and no --page-server\n");
		return -1;
	}
	if (o->page_server && strcmp(cmd, "dump") && strcmp(cmd, "pre-dump") &&
	    strcmp(cmd, "lazy-pages")) {
		fprintf(stderr, "snap: --page-server is an option of dump, pre-dump and "
				"lazy-pages\n");
		return -1;
	}
	if (o->page_server && (!o->address || o->port <= 0)) {
		fprintf(stderr, "snap: --page-server needs --address and --port (not 0)\n");
		return -1;
	}
	/* The server links its own set to the parent by the same path. */
	if (o->page_server && o->prev_images_dir && o->prev_images_dir[0] == '/') {
		fprintf(stderr, "snap: --prev-images-dir must be a relative path with "
				"--page-server\n");
		return -1;
	}
	if (o->daemon || (o->status_fd >= 0 && !lazy_dump)) {
		fprintf(stderr, "snap: --daemon and --status-fd are options of page-server and "
				"service (--status-fd also of dump --lazy-pages)\n");
		return -1;
	}
	if (!o->page_server && !lazy_dump && (o->address || o->port >= 0)) {
		fprintf(stderr, "snap: --address and --port go with --page-server (or snap "
				"page-server)\n");
		return -1;
	}
	return 0;
}

/* snap service: --address is its socket's path; no page server, no port. */
static int check_service(const struct snap_opts *o)
{
	if (o->page_server || o->port >= 0) {
		fprintf(stderr, "snap: service takes --address PATH (its socket), not --page-server "
				"or --port\n");
		return -1;
	}
	return 0;
}

/*
 * Where a relative --log-file goes, as CRIU has it: in --work-dir, which
 * must exist, else in the images directory (made first by the commands
 * that make it), else in the current directory.
 */
static int log_file_path(const char *cmd, struct snap_opts *o, char *path)
{
	const char *base = o->work_dir ? o->work_dir : o->images_dir;
	bool makes = !strcmp(cmd, "dump") || !strcmp(cmd, "pre-dump") ||
		     !strcmp(cmd, "page-server");
	struct stat st;

	if (o->work_dir && (stat(o->work_dir, &st) || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "snap: --work-dir %s is not a directory\n", o->work_dir);
		return -1;
	}
	if (!o->log_file || o->log_file[0] == '/' || !base)
		return 0;
	if (!o->work_dir && makes && mkdir(base, 0700) && errno != EEXIST) {
		fprintf(stderr, "snap: cannot make the images directory %s: %s\n", base,
			strerror(errno));
		return -1;
	}
	if (snprintf(path, PATH_MAX, "%s/%s", base, o->log_file) >= PATH_MAX) {
		fprintf(stderr, "snap: log file path %s/%s too long\n", base, o->log_file);
		return -1;
	}
	o->log_file = path;
	return 0;
}

int main(int argc, char **argv)
{
	struct snap_opts opts = {
		.verbosity = LOG_WARN,
		.pid_wait_ms = 10000,
		.cow_limit = 64 << 20,
		.ghost_limit = GHOST_LIMIT_DEFAULT,
		.network_lock = NETLOCK_METHOD__NETLOCK_NFT,
		.port = -1,
		.status_fd = -1,
	};
	struct criu_opts_seen seen = { 0 };
	char log_path[PATH_MAX];
	struct kfeat kf;
	const char *cmd;
	int ret = -1;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		/* Installed as criu: answer as CRIU does, for tools that parse it. */
		if (!strcmp(basename(argv[0]), "criu"))
			printf("Version: %d.%d\n", RPC_CRIU_MAJOR, RPC_CRIU_MINOR);
		printf("snap %s\n", SNAP_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "swrk")) {
		if (argc != 3) {
			fprintf(stderr, "snap: swrk takes one argument, the fd of its socket\n");
			return 1;
		}
		ret = cmd_swrk(argv[2]);
		log_fini();
		return ret ? 1 : 0;
	}
	optind = 2;
	if (parse_args(argc, argv, &opts, &seen))
		return 1;
	if (log_file_path(cmd, &opts, log_path))
		return 1;
	if (log_init(opts.log_file, opts.verbosity))
		return 1;
	criu_opts_say_ignored(&seen);

	if (!strcmp(cmd, "show")) {
		if (optind != argc - 1) {
			fprintf(stderr, "snap: show takes one image directory or file\n");
			goto out;
		}
		ret = cmd_show(argv[optind]);
		goto out;
	}
	if (optind != argc) {
		fprintf(stderr, "snap: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (!strcmp(cmd, "check")) {
		ret = cmd_check(&opts);
		goto out;
	}
	if (!strcmp(cmd, "netlock")) {
		ret = cmd_netlock(&opts);
		goto out;
	}
	if (!strcmp(cmd, "service")) {
		ret = check_service(&opts) ? -1 : cmd_service(&opts);
		goto out;
	}
	if (strcmp(cmd, "dump") && strcmp(cmd, "restore") && strcmp(cmd, "pre-dump") &&
	    strcmp(cmd, "dedup") && strcmp(cmd, "page-server") && strcmp(cmd, "lazy-pages")) {
		fprintf(stderr, "snap: unknown command '%s' (try snap --help)\n", cmd);
		goto out;
	}
	if (!opts.images_dir) {
		fprintf(stderr, "snap: %s needs -D DIR\n", cmd);
		goto out;
	}
	if (!strcmp(cmd, "dedup")) {
		ret = cmd_dedup(&opts);
		goto out;
	}
	if (!strcmp(cmd, "page-server")) {
		ret = cmd_page_server(&opts);
		goto out;
	}
	if ((!strcmp(cmd, "dump") || !strcmp(cmd, "pre-dump")) && !opts.pid) {
		fprintf(stderr, "snap: %s needs -t PID\n", cmd);
		goto out;
	}
	if (check_page_server(cmd, &opts))
		goto out;
	if (kerndat_probe(&kf))
		goto out;
	if (!strcmp(cmd, "pre-dump"))
		ret = cmd_predump(&opts, &kf);
	else if (!strcmp(cmd, "lazy-pages"))
		ret = cmd_lazy_pages(&opts, &kf);
	else
		ret = !strcmp(cmd, "dump") ? cmd_dump(&opts, &kf) : cmd_restore(&opts, &kf);
out:
	log_fini();
	free(opts.ext_unix_inos);
	free(opts.action_scripts);
	free(opts.lock_conns);
	free(opts.inherit_fds);
	free(opts.ext_mounts);
	return ret ? 1 : 0;
}
