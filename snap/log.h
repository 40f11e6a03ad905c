/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging. Errors go to stderr as one line "snap: <message>" and to the log
 * file (-o); info and debug lines go to the log file, or to stderr when there
 * is none, filtered by -v. The log is the one process-wide state in snap: every
 * function may need it and it carries no decisions.
 */
#ifndef SNAP_LOG_H
#define SNAP_LOG_H

#include <errno.h>
#include <string.h>

enum log_level { LOG_ERR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 };

int log_init(const char *path, int verbosity);
void log_fini(void);
/* The fd of the log file, or -1; a forked restore child must keep it open. */
int log_fd(void);
void log_set_fd(int fd);
/* Where error lines go (stderr); a restore child moves it off the target's fd 2. */
void log_set_err_fd(int fd);
/*
 * The last error line logged (the one the CLI shows last), or NULL; @err, if
 * not NULL, gets errno as it was then.
 */
const char *log_last_err(int *err);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(fmt, ...) log_msg(LOG_ERR, fmt "\n", ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_msg(LOG_WARN, "warning: " fmt "\n", ##__VA_ARGS__)
#define pr_info(fmt, ...) log_msg(LOG_INFO, fmt "\n", ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_msg(LOG_DEBUG, fmt "\n", ##__VA_ARGS__)
/* Like pr_err, with ": strerror(errno)" appended. */
#define pr_perror(fmt, ...) log_msg(LOG_ERR, fmt ": %s\n", ##__VA_ARGS__, strerror(errno))

#endif
