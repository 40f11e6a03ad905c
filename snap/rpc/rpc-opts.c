// SPDX-License-Identifier: GPL-2.0
/*
 * criu_opts to snap_opts (rpc.h). Every option CRIU defines is mapped to a
 * snap option, ignored (logged, with why) or refused by name, as the list
 * in criu-opts.c says for the command line too. The list is checked against
 * the message's descriptor, so an option added to rpc.proto and forgotten
 * there is refused, not silently dropped; so is a field number snap does not
 * know at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu-opts.h"
#include "log.h"
#include "rpc/rpc.h"

/*
 * Whether the caller set field @f of @co to something: a has_ flag, a
 * pointer or a count. runc sends many options as false or "" (lazy_pages,
 * lsm_profile...): those ask for nothing, and are not refused.
 */
static bool field_set(const CriuOpts *co, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)co;
	const char *str;

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) != 0;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		str = *(const char *const *)(base + f->offset);
		return str && str[0];
	}
	if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
		return false;
	return f->type != PROTOBUF_C_TYPE_BOOL || *(const protobuf_c_boolean *)(base + f->offset);
}

static int check_rules(const CriuOpts *co)
{
	const ProtobufCMessageDescriptor *d = co->base.descriptor;

	if (co->base.n_unknown_fields) {
		pr_err("swrk: option field %u is unknown to snap; refusing rather than ignoring it",
		       co->base.unknown_fields[0].tag);
		return -1;
	}
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const struct criu_opt *r;

		if (!field_set(co, f))
			continue;
		r = criu_opt_rpc(f->name);
		if (!r) {
			pr_err("swrk: option %s is not supported by snap", f->name);
			return -1;
		}
		if (r->kind == CRIU_OPT_REFUSED) {
			pr_err("swrk: option %s is not supported: %s", f->name, r->why);
			return -1;
		}
		if (r->kind == CRIU_OPT_IGNORED)
			pr_info("swrk: ignoring option %s: %s", f->name, r->why);
	}
	return 0;
}

/* The caller's fd @fd as a directory path of ours: 0, or -1 logged. */
static int peer_dir(pid_t peer, const char *what, int fd, char *out)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", peer, fd);
	if (stat(path, &st)) {
		pr_perror("swrk: %s %d is not an open fd of the caller (pid %d)", what, fd, peer);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_err("swrk: %s %d of the caller (pid %d) is not a directory", what, fd, peer);
		return -1;
	}
	/* The real path, for the logs and CRTOOLS_IMAGE_DIR; else the /proc link works. */
	if (!realpath(path, out))
		snprintf(out, PATH_MAX, "%s", path);
	return 0;
}

/* log_file: a bare name, in the work directory (or the images directory). */
static int log_path(const CriuOpts *co, pid_t peer, struct rpc_paths *p)
{
	char dir[PATH_MAX];

	if (strchr(co->log_file, '/') || !strcmp(co->log_file, "..") || !co->log_file[0]) {
		pr_err("swrk: log_file '%s' must be a bare file name (it goes in the work "
		       "directory)", co->log_file);
		return -1;
	}
	if (co->has_work_dir_fd) {
		if (peer_dir(peer, "work_dir_fd", co->work_dir_fd, dir))
			return -1;
	} else {
		snprintf(dir, sizeof(dir), "%s", p->images_dir);
	}
	if (snprintf(p->log_file, PATH_MAX, "%s/%s", dir, co->log_file) >= PATH_MAX) {
		pr_err("swrk: log file path %s/%s is too long", dir, co->log_file);
		return -1;
	}
	return 0;
}

/* CRIU reads options from config_file: refuse rather than ignore a real one. */
static int check_config(const char *path)
{
	struct stat st;

	if (stat(path, &st) || !st.st_size) {
		pr_info("swrk: no CRIU config file at %s (snap reads none)", path);
		return 0;
	}
	pr_err("swrk: config_file %s: snap reads no CRIU config file; remove it or pass its "
	       "options in the request", path);
	return -1;
}

static int map_flags(const CriuOpts *co, bool restore, struct snap_opts *o)
{
	o->leave_running = co->has_leave_running && co->leave_running;
	o->leave_stopped = co->has_leave_stopped && co->leave_stopped;
	o->ext_unix_sk = co->has_ext_unix_sk && co->ext_unix_sk;
	o->tcp_established = co->has_tcp_established && co->tcp_established;
	o->tcp_close = co->has_tcp_close && co->tcp_close;
	o->tcp_skip_in_flight = co->has_tcp_skip_in_flight && co->tcp_skip_in_flight;
	o->link_remap = co->has_link_remap && co->link_remap;
	o->shell_job = co->has_shell_job && co->shell_job;
	o->file_locks = co->has_file_locks && co->file_locks;
	o->display_stats = co->has_display_stats && co->display_stats;
	o->rst_sibling = restore && co->has_rst_sibling && co->rst_sibling;
	if (co->has_ghost_limit)
		o->ghost_limit = co->ghost_limit;
	/* A restore over RPC returns once the tree runs, as CRIU's swrk does. */
	o->detach = restore;
	if (co->n_unix_sk_ino) {
		o->ext_unix_sk = true;
		o->ext_unix_inos = calloc(co->n_unix_sk_ino, sizeof(*o->ext_unix_inos));
		if (!o->ext_unix_inos) {
			pr_err("swrk: out of memory for unix_sk_ino");
			return -1;
		}
		for (size_t i = 0; i < co->n_unix_sk_ino; i++)
			o->ext_unix_inos[i] = co->unix_sk_ino[i]->inode;
		o->nr_ext_unix_inos = co->n_unix_sk_ino;
	}
	o->evasive_devices = restore && co->has_evasive_devices && co->evasive_devices;
	o->orphan_pts_master = co->has_orphan_pts_master && co->orphan_pts_master;
	if (co->has_network_lock) {
		/* CRIU's default, iptables, is a lock all the same: snap's is nft. */
		o->network_lock = co->network_lock == CRIU_NETWORK_LOCK_METHOD__SKIP ?
					  NETLOCK_METHOD__NETLOCK_SKIP :
					  NETLOCK_METHOD__NETLOCK_NFT;
	}
	return 0;
}

/*
 * Which LSM labels processes here, in @name: securityfs's list, else any
 * module answering /proc/self/attr/current. false when none does.
 */
static bool lsm_active(char *name, size_t len)
{
	static const char *const labelling[] = { "selinux", "apparmor", "smack" };
	char buf[256] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "r");

	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		fclose(f);
		buf[n] = 0;
		for (size_t i = 0; i < ARRAY_SIZE(labelling); i++) {
			if (strstr(buf, labelling[i])) {
				snprintf(name, len, "%s", labelling[i]);
				return true;
			}
		}
		return false;
	}
	/* securityfs not mounted: without a labelling LSM the attribute reads EINVAL. */
	f = fopen("/proc/self/attr/current", "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	snprintf(name, len, "an LSM (this process is labelled %.200s)", buf);
	return true;
}

/*
 * runc passes the container's LSM profile and mount context on restore.
 * With no labelling LSM on the host there is nothing to set, as with
 * CRIU; with one, snap would restore the tree unconfined: refused.
 */
static int check_lsm(const CriuOpts *co)
{
	const char *opt = NULL, *val = NULL;
	char lsm[256];

	if (co->lsm_profile && co->lsm_profile[0])
		opt = "lsm_profile", val = co->lsm_profile;
	else if (co->lsm_mount_context && co->lsm_mount_context[0])
		opt = "lsm_mount_context", val = co->lsm_mount_context;
	if (!opt)
		return 0;
	if (lsm_active(lsm, sizeof(lsm))) {
		pr_err("swrk: option %s '%s' is not supported: snap sets no LSM label, and %s is "
		       "in use here", opt, val, lsm);
		return -1;
	}
	pr_info("swrk: ignoring option %s '%s': no labelling LSM is in use here", opt, val);
	return 0;
}

int rpc_opts_check(const CriuOpts *co, bool restore)
{
	if (check_rules(co) || check_lsm(co))
		return -1;
	if (co->config_file && co->config_file[0] && check_config(co->config_file))
		return -1;
	if (!restore && (!co->has_pid || co->pid <= 0)) {
		pr_err("swrk: dump needs opts.pid: snap does not dump the process that asks");
		return -1;
	}
	return 0;
}

/*
 * inherit_fd: the fds are snap's own, as runc hands its stdio to `criu
 * swrk`; the keys stay in the request, which outlives the command.
 */
static int map_inherit(const CriuOpts *co, bool restore, struct snap_opts *o)
{
	if (!co->n_inherit_fd)
		return 0;
	if (!restore) {
		pr_info("swrk: ignoring option inherit_fd: it is read at restore only");
		return 0;
	}
	o->inherit_fds = calloc(co->n_inherit_fd, sizeof(*o->inherit_fds));
	if (!o->inherit_fds) {
		pr_err("swrk: out of memory for inherit_fd");
		return -1;
	}
	for (size_t i = 0; i < co->n_inherit_fd; i++) {
		o->inherit_fds[i].fd = co->inherit_fd[i]->fd;
		o->inherit_fds[i].key = co->inherit_fd[i]->key;
	}
	o->nr_inherit_fds = co->n_inherit_fd;
	return 0;
}

/*
 * Incremental dumps and the page server, as runc's `checkpoint --pre-dump`
 * and `--parent-path`, `--page-server` send them. parent_img is relative to
 * the images directory, as --prev-images-dir is to -D.
 */
static int map_incremental(const CriuOpts *co, bool restore, struct snap_opts *o)
{
	const RpcPageServerInfo *ps = co->ps;

	if (restore && (co->ps || (co->parent_img && co->parent_img[0]))) {
		pr_err("swrk: options ps and parent_img are options of dump and pre-dump");
		return -1;
	}
	o->track_mem = co->has_track_mem && co->track_mem;
	if (co->parent_img && co->parent_img[0])
		o->prev_images_dir = co->parent_img;
	if (!ps)
		return 0;
	if (ps->has_fd) {
		pr_err("swrk: option ps.fd (a connected page-server socket) is not supported: "
		       "give ps.address and ps.port");
		return -1;
	}
	if (!ps->address || !ps->address[0] || !ps->has_port || ps->port <= 0) {
		pr_err("swrk: option ps needs an address and a port (not 0)");
		return -1;
	}
	/* The server links its own set to the parent by the same path. */
	if (o->prev_images_dir && o->prev_images_dir[0] == '/') {
		pr_err("swrk: parent_img %s must be a relative path with ps", o->prev_images_dir);
		return -1;
	}
	o->page_server = true;
	o->address = ps->address;
	o->port = ps->port;
	return 0;
}

/*
 * lazy_pages: restore --lazy-pages; a dump then serves its pages on ps
 * (CRIU's lazy migration, runc's `checkpoint --lazy-pages --page-server`),
 * and says so with the status-ready notification and in the caller's
 * status_fd.
 */
static int map_lazy(const CriuOpts *co, pid_t peer, bool restore, struct snap_opts *o)
{
	char path[64];

	if (!co->has_lazy_pages || !co->lazy_pages) {
		if (co->has_status_fd)
			pr_info("swrk: ignoring option status_fd: it is written by a dump with "
				"lazy_pages only");
		return 0;
	}
	o->lazy_pages = true;
	if (restore)
		return 0;
	if (!o->page_server) {
		pr_err("swrk: a dump with lazy_pages needs ps: the address and port to serve its "
		       "pages on");
		return -1;
	}
	/* ps is where it listens, not where it sends. */
	o->page_server = false;
	if (!co->has_status_fd)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", peer, co->status_fd);
	o->status_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (o->status_fd < 0) {
		pr_perror("swrk: status_fd %d of the caller (pid %d)", co->status_fd, peer);
		return -1;
	}
	return 0;
}

int rpc_opts_fill(const CriuOpts *co, pid_t peer, bool restore, struct snap_opts *o,
		  struct rpc_paths *p)
{
	if (co->images_dir_fd >= 0) {
		if (peer_dir(peer, "images_dir_fd", co->images_dir_fd, p->images_dir))
			return -1;
	} else if (co->images_dir) {
		snprintf(p->images_dir, PATH_MAX, "%s", co->images_dir);
	} else {
		pr_err("swrk: the request names no images directory (images_dir_fd or "
		       "images_dir)");
		return -1;
	}
	o->images_dir = p->images_dir;
	if (co->log_file) {
		if (log_path(co, peer, p))
			return -1;
		o->log_file = p->log_file;
	}
	/* CRIU's 0 shows only messages: snap's least is errors. */
	o->verbosity = co->log_level < LOG_ERR ? LOG_ERR : co->log_level;
	if (!restore && co->has_pid)
		o->pid = co->pid;
	if (map_flags(co, restore, o) || map_inherit(co, restore, o) ||
	    map_incremental(co, restore, o) || map_lazy(co, peer, restore, o) ||
	    rpc_map_container(co, restore, o, p))
		return -1;
	return 0;
}
