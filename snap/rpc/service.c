// SPDX-License-Identifier: GPL-2.0
/*
 * snap service: CRIU's RPC served on a listening socket, for callers that
 * connect rather than start `criu swrk` (pycriu, `criu service`'s users).
 * Each connection is served by a child of its own, as swrk serves its
 * socketpair: one request, or a pre-dump sequence. The service runs until
 * it is killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmds.h"
#include "cr/announce.h"
#include "log.h"
#include "rpc/rpc.h"

/* CRIU's default, relative to the service's working directory. */
#define SERVICE_ADDRESS "criu_service.socket"

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int sk;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("service: socket path %s is longer than %zu bytes", path,
		       sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* A socket left by a service that died; anything else is not ours to remove. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		pr_perror("service: cannot make its socket");
		return -1;
	}
	if (bind(sk, (struct sockaddr *)&sa, sizeof(sa)) || listen(sk, 16)) {
		pr_perror("service: cannot listen at %s", path);
		close(sk);
		return -1;
	}
	return sk;
}

/* A child per connection, so that one request's failure or crash is its own. */
static void serve_conn(int lsk, int sk)
{
	pid_t pid = fork();

	if (pid < 0) {
		pr_perror("service: cannot fork for a connection");
		return;
	}
	if (pid) {
		close(sk);
		return;
	}
	close(lsk);
	/* A restore waits for the tasks it makes: the service's SIG_IGN is not for it. */
	signal(SIGCHLD, SIG_DFL);
	_exit(swrk_serve(sk, true) ? 1 : 0);
}

int cmd_service(const struct snap_opts *opts)
{
	const char *path = opts->address ? opts->address : SERVICE_ADDRESS;
	int lsk, sk, ret;

	lsk = listen_at(path);
	if (lsk < 0)
		return -1;
	ret = announce_listening(opts, "service");
	if (ret) {
		close(lsk);
		return ret > 0 ? 0 : -1;
	}
	pr_info("service: listening at %s", path);
	/* Children are reaped by the kernel: their outcome went to their caller. */
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			pr_perror("service: cannot accept a connection at %s", path);
			close(lsk);
			return -1;
		}
		serve_conn(lsk, sk);
	}
}
