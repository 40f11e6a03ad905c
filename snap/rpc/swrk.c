// SPDX-License-Identifier: GPL-2.0
/*
 * snap swrk FD: serve one CRIU RPC request (images/rpc.proto) over FD, a
 * socket the caller (runc, go-criu, pycriu) made with socketpair(): one
 * protobuf message per packet, no length prefix. The request becomes the
 * snap_opts of the command line and runs the same flow (cmd_dump,
 * cmd_restore). While it runs, each hook is sent to the caller as a NOTIFY
 * and waits for its answer (the notifier in snap_opts). The reply says
 * success, or carries the error line the CLI would have printed last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmds.h"
#include "cr/action-script.h"
#include "kerndat.h"
#include "log.h"
#include "mem/ghost.h"
#include "net/netlock.h"
#include "rpc/rpc.h"

/* A request larger than this is not one snap could have been sent. */
#define RPC_MAX_MSG (1 << 20)

struct swrk {
	int sk;
	pid_t peer;
	bool service;		/* a connection of snap service, not swrk's socketpair */
	bool notify_scripts;
	pid_t root_pid;		/* the tree's root, as the hooks saw it */
	bool hung_up;		/* the caller closed the socket: no one to answer */
};

/* @r in one packet; with @fd >= 0, that fd rides along (SCM_RIGHTS). */
static int send_resp_fd(struct swrk *s, const CriuResp *r, int fd)
{
	size_t len = criu_resp__get_packed_size(r);
	uint8_t *buf = malloc(len ? len : 1);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (!buf) {
		pr_err("swrk: out of memory for a %zu-byte reply", len);
		return -1;
	}
	criu_resp__pack(r, buf);
	iov.iov_base = buf;
	iov.iov_len = len;
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(s->sk, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(buf);
	if (n != (ssize_t)len) {
		pr_perror("swrk: cannot send the reply on fd %d", s->sk);
		return -1;
	}
	return 0;
}

static int send_resp(struct swrk *s, const CriuResp *r)
{
	return send_resp_fd(s, r, -1);
}

/*
 * One request: NULL with *eof set when the caller closed the socket, NULL
 * after an error line for anything that is not a criu_req.
 */
static CriuReq *recv_req(struct swrk *s, bool *eof)
{
	CriuReq *req = NULL;
	uint8_t *buf;
	ssize_t n;

	*eof = false;
	do
		n = recv(s->sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		pr_perror("swrk: cannot read a request from fd %d", s->sk);
		return NULL;
	}
	if (n == 0) {
		/* An empty packet reads the same as EOF: either way no request. */
		*eof = true;
		return NULL;
	}
	if (n > RPC_MAX_MSG) {
		pr_err("swrk: a %zd-byte request is more than the %d bytes a request can be", n,
		       RPC_MAX_MSG);
		return NULL;
	}
	buf = malloc(n);
	if (!buf) {
		pr_err("swrk: out of memory for a %zd-byte request", n);
		return NULL;
	}
	n = recv(s->sk, buf, n, 0);
	if (n > 0)
		req = criu_req__unpack(NULL, n, buf);
	free(buf);
	if (n <= 0)
		pr_perror("swrk: cannot read a request from fd %d", s->sk);
	else if (!req)
		pr_err("swrk: malformed request: %zd bytes that are not a criu_req message", n);
	return req;
}

/* NOTIFY @script (with @fd, if >= 0), then the caller's answer: 0 if it succeeded. */
static int notify_wait(struct swrk *s, const char *script, pid_t pid, int fd)
{
	CriuResp r = CRIU_RESP__INIT;
	CriuNotify n = CRIU_NOTIFY__INIT;
	CriuReq *ack;
	bool eof;
	int ret = -1;

	n.script = (char *)script;
	n.has_pid = true;
	n.pid = pid;
	r.type = CRIU_REQ_TYPE__NOTIFY;
	r.success = true;
	r.notify = &n;
	pr_info("swrk: notifying the caller of %s (pid %d%s)", script, pid,
		fd >= 0 ? ", with an fd" : "");
	if (send_resp_fd(s, &r, fd))
		return -1;
	ack = recv_req(s, &eof);
	if (!ack) {
		if (eof) {
			s->hung_up = true;
			pr_err("swrk: the caller closed the connection at the %s notification",
			       script);
		}
		return -1;
	}
	if (ack->type != CRIU_REQ_TYPE__NOTIFY)
		pr_err("swrk: the caller answered the %s notification with request type %d",
		       script, ack->type);
	else if (!ack->has_notify_success || !ack->notify_success)
		pr_err("swrk: the caller failed the %s notification", script);
	else
		ret = 0;
	criu_req__free_unpacked(ack, NULL);
	return ret;
}

/* The hooks as NOTIFY messages: the caller acts, then answers notify_success. */
static int swrk_notify(void *arg, enum action_hook hook, pid_t init_pid)
{
	struct swrk *s = arg;

	if (init_pid > 0)
		s->root_pid = init_pid;
	if (!s->notify_scripts)
		return 0;
	return notify_wait(s, action_name(hook), init_pid, -1);
}

/*
 * An fd for the caller (orphan-pts-master): sent whether or not it asked for
 * the scripts, as CRIU does, since the fd is the point.
 */
static int swrk_send_fd(void *arg, const char *what, int fd)
{
	struct swrk *s = arg;

	return notify_wait(s, what, s->root_pid, fd);
}

static int reply_error(struct swrk *s, CriuReqType type)
{
	CriuResp r = CRIU_RESP__INIT;
	const char *msg;
	int err;

	msg = log_last_err(&err);
	r.type = type;
	r.success = false;
	r.cr_errmsg = (char *)(msg ? msg : "failed (no error line was logged)");
	/* Only an errno the line itself names: a stale one would mislead (runc prints it). */
	if (err && msg && strstr(msg, strerror(err))) {
		r.has_cr_errno = true;
		r.cr_errno = err;
	}
	return send_resp(s, &r);
}

static int do_version(struct swrk *s)
{
	CriuResp r = CRIU_RESP__INIT;
	CriuVersion v = CRIU_VERSION__INIT;

	v.major_number = RPC_CRIU_MAJOR;
	v.minor_number = RPC_CRIU_MINOR;
	/* Not gitid: go-criu reads a gitid as "the next minor, in development". */
	v.name = "snap " SNAP_VERSION;
	r.type = CRIU_REQ_TYPE__VERSION;
	r.success = true;
	r.version = &v;
	return send_resp(s, &r);
}

static int do_features(struct swrk *s)
{
	CriuResp r = CRIU_RESP__INIT;
	CriuFeatures f = CRIU_FEATURES__INIT;

	/* Pre-dumps track memory, dumps serve pages lazily; no pidfd store over RPC. */
	f.has_mem_track = f.has_lazy_pages = f.has_pidfd_store = true;
	f.mem_track = f.lazy_pages = true;
	r.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	r.success = true;
	r.features = &f;
	return send_resp(s, &r);
}

/* DUMP, PRE_DUMP and RESTORE: the command line's flow with the request's options. */
static int do_cr(struct swrk *s, const CriuReq *req)
{
	bool restore = req->type == CRIU_REQ_TYPE__RESTORE;
	bool predump = req->type == CRIU_REQ_TYPE__PRE_DUMP ||
		       req->type == CRIU_REQ_TYPE__SINGLE_PRE_DUMP;
	struct action_notifier notifier = {
		.notify = swrk_notify,
		.send_fd = swrk_send_fd,
		.arg = s,
	};
	struct snap_opts opts = {
		.verbosity = LOG_WARN,
		.pid_wait_ms = 10000,
		.cow_limit = 64 << 20,
		.ghost_limit = GHOST_LIMIT_DEFAULT,
		.network_lock = NETLOCK_METHOD__NETLOCK_NFT,
		.notifier = &notifier,
		.port = -1,
		.status_fd = -1,
	};
	CriuResp r = CRIU_RESP__INIT;
	CriuDumpResp dr = CRIU_DUMP_RESP__INIT;
	CriuRestoreResp rr = CRIU_RESTORE_RESP__INIT;
	struct rpc_paths paths = { 0 };
	struct kfeat kf;
	int ret = -1;

	if (!req->opts) {
		pr_err("swrk: the %s request carries no opts",
		       restore ? "restore" : predump ? "pre-dump" : "dump");
		return -1;
	}
	if (rpc_opts_fill(req->opts, s->peer, restore, &opts, &paths) ||
	    log_init(opts.log_file, opts.verbosity) || rpc_opts_check(req->opts, restore) ||
	    kerndat_probe(&kf))
		goto out;
	/* CLONE_PARENT would give the tree to the service, not to the caller. */
	if (s->service && opts.rst_sibling) {
		pr_err("swrk: option rst_sibling is for criu swrk: a tree restored by snap "
		       "service cannot be the caller's child");
		goto out;
	}
	s->notify_scripts = req->opts->has_notify_scripts && req->opts->notify_scripts;
	if (restore)
		ret = cmd_restore(&opts, &kf);
	else
		ret = predump ? cmd_predump(&opts, &kf) : cmd_dump(&opts, &kf);
	if (ret)
		goto out;
	r.type = req->type;
	r.success = true;
	if (restore) {
		rr.pid = s->root_pid;
		r.restore = &rr;
	} else if (!predump) {
		r.dump = &dr;
	}
	ret = send_resp(s, &r);
out:
	free(opts.ext_unix_inos);
	free(opts.inherit_fds);
	rpc_paths_free(&paths);
	log_fini();
	return ret;
}

static int serve(struct swrk *s, const CriuReq *req)
{
	switch (req->type) {
	case CRIU_REQ_TYPE__VERSION:
		return do_version(s);
	case CRIU_REQ_TYPE__FEATURE_CHECK:
		return do_features(s);
	case CRIU_REQ_TYPE__DUMP:
	case CRIU_REQ_TYPE__PRE_DUMP:
	case CRIU_REQ_TYPE__SINGLE_PRE_DUMP:
	case CRIU_REQ_TYPE__RESTORE:
		return do_cr(s, req);
	default:
		pr_err("swrk: request type %d is not supported by snap (it serves VERSION, "
		       "FEATURE_CHECK, DUMP, PRE_DUMP and RESTORE)", req->type);
		return -1;
	}
}

/*
 * @req, and after a PRE_DUMP the requests that follow on the same socket,
 * as in CRIU: more PRE_DUMPs, then one DUMP, or the caller hanging up
 * (runc sends one PRE_DUMP per `criu swrk`). Frees each request.
 */
static int serve_all(struct swrk *s, CriuReq *req)
{
	bool eof, more;
	int ret;

	for (;;) {
		ret = serve(s, req);
		if (ret && !s->hung_up)
			reply_error(s, req->type);
		more = !ret && req->type == CRIU_REQ_TYPE__PRE_DUMP;
		criu_req__free_unpacked(req, NULL);
		if (!more)
			return ret;
		req = recv_req(s, &eof);
		if (!req) {
			if (eof)
				return 0;
			reply_error(s, CRIU_REQ_TYPE__EMPTY);
			return -1;
		}
		if (req->type != CRIU_REQ_TYPE__PRE_DUMP && req->type != CRIU_REQ_TYPE__DUMP) {
			pr_err("swrk: after a pre-dump only PRE_DUMP or DUMP may follow, not request "
			       "type %d", req->type);
			reply_error(s, req->type);
			criu_req__free_unpacked(req, NULL);
			return -1;
		}
	}
}

static int peer_of(int sk, pid_t *peer)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int type;
	socklen_t tlen = sizeof(type);

	if (getsockopt(sk, SOL_SOCKET, SO_TYPE, &type, &tlen)) {
		pr_perror("swrk: fd %d is not a socket", sk);
		return -1;
	}
	if (type != SOCK_SEQPACKET) {
		pr_err("swrk: fd %d is not a SOCK_SEQPACKET socket (make it with socketpair)", sk);
		return -1;
	}
	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		pr_perror("swrk: cannot tell who is at the other end of fd %d", sk);
		return -1;
	}
	*peer = cr.pid;
	return 0;
}

int swrk_serve(int sk, bool service)
{
	struct swrk s = { .sk = sk, .service = service };
	CriuReq *req;
	bool eof;

	if (peer_of(s.sk, &s.peer))
		return -1;
	req = recv_req(&s, &eof);
	if (!req) {
		/* Closed before asking: nothing to answer. */
		if (eof)
			return 0;
		reply_error(&s, CRIU_REQ_TYPE__EMPTY);
		return -1;
	}
	return serve_all(&s, req);
}

int cmd_swrk(const char *fd_arg)
{
	char *end;
	int sk, ret;

	if (!fd_arg || (sk = strtol(fd_arg, &end, 10), *end || end == fd_arg || sk < 0)) {
		pr_err("swrk takes the fd of its socket, as in 'snap swrk 3'");
		return -1;
	}
	ret = swrk_serve(sk, false);
	close(sk);
	return ret;
}
