// SPDX-License-Identifier: GPL-2.0
/* Logging: see log.h. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_file_fd = -1;
static int log_verbosity = LOG_WARN;
static int log_err_fd = STDERR_FILENO;
static struct timespec log_start;
/* The last error line, without "snap: ": what an RPC reply carries (rpc/swrk.c). */
static char log_last[1024];
static int log_last_errno;

/* Logging must not fail the caller; a lost log line is all we can do. */
static void write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

int log_init(const char *path, int verbosity)
{
	log_verbosity = verbosity;
	clock_gettime(CLOCK_MONOTONIC, &log_start);
	if (!path)
		return 0;
	log_file_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (log_file_fd < 0) {
		fprintf(stderr, "snap: cannot open log file %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

void log_fini(void)
{
	if (log_file_fd >= 0)
		close(log_file_fd);
	log_file_fd = -1;
}

int log_fd(void)
{
	return log_file_fd;
}

void log_set_fd(int fd)
{
	log_file_fd = fd;
}

void log_set_err_fd(int fd)
{
	log_err_fd = fd;
}

const char *log_last_err(int *err)
{
	if (err)
		*err = log_last_errno;
	return log_last[0] ? log_last : NULL;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	int saved_errno = errno;
	struct timespec now;
	char buf[1024];
	va_list ap;
	int n, off;

	/* Not shown anywhere: no formatting, no syscalls (a debug line per fd adds up). */
	if (lvl != LOG_ERR && (int)lvl > log_verbosity)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	off = snprintf(buf, sizeof(buf), "(%3ld.%06ld) %5d: ",
		       (long)(now.tv_sec - log_start.tv_sec) - (now.tv_nsec < log_start.tv_nsec),
		       ((now.tv_nsec - log_start.tv_nsec + 1000000000L) % 1000000000L) / 1000,
		       getpid());
	va_start(ap, fmt);
	n = vsnprintf(buf + off, sizeof(buf) - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	n += off;
	if (n >= (int)sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}

	if (lvl == LOG_ERR) {
		/* The user-facing line carries no timestamp. */
		write_all(log_err_fd, "snap: ", 6);
		write_all(log_err_fd, buf + off, n - off);
		snprintf(log_last, sizeof(log_last), "%.*s", n - off - 1, buf + off);
		log_last_errno = saved_errno;
	}
	if ((int)lvl > log_verbosity)
		goto out;
	if (log_file_fd >= 0)
		write_all(log_file_fd, buf, n);
	else if (lvl != LOG_ERR)
		write_all(log_err_fd, buf + off, n - off);
out:
	errno = saved_errno;
}
