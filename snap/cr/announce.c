// SPDX-License-Identifier: GPL-2.0
/* The servers' start: see announce.h. */
#include <fcntl.h>
#include <unistd.h>

#include "cr/announce.h"
#include "log.h"

static int daemonize(const struct snap_opts *opts, const char *who)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		pr_perror("%s: cannot fork into the background", who);
		return -1;
	}
	if (pid)
		return opts->pidfile && write_pidfile(opts->pidfile, pid) ? -1 : 1;
	setsid();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	return 0;
}

int announce_listening(const struct snap_opts *opts, const char *who)
{
	int ret = 0;

	if (opts->daemon)
		ret = daemonize(opts, who);
	else if (opts->pidfile)
		ret = write_pidfile(opts->pidfile, getpid());
	if (ret)
		return ret;
	if (opts->status_fd >= 0) {
		if (write(opts->status_fd, "", 1) != 1) {
			pr_perror("%s: --status-fd %d", who, opts->status_fd);
			return -1;
		}
		close(opts->status_fd);
	}
	return 0;
}
