// SPDX-License-Identifier: GPL-2.0
/*
 * The action-script runner (action-script.h). A script is executed as a
 * file (it needs its #! line and the execute bit), as CRIU does, not through
 * a shell. The environment is built before the fork: snap may have threads
 * (a live dump), so the child does nothing but move fds and exec. An exec
 * that fails sends its errno back over a close-on-exec pipe, so that the one
 * error line says why the script did not run rather than "exit status 127".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr/action-script.h"
#include "log.h"

extern char **environ;

static const char *const names[ACT_NR] = {
	[ACT_PRE_DUMP] = "pre-dump",
	[ACT_NETWORK_LOCK] = "network-lock",
	[ACT_POST_DUMP] = "post-dump",
	[ACT_PRE_RESTORE] = "pre-restore",
	[ACT_SETUP_NS] = "setup-namespaces",
	[ACT_POST_SETUP_NS] = "post-setup-namespaces",
	[ACT_POST_RESTORE] = "post-restore",
	[ACT_PRE_RESUME] = "pre-resume",
	[ACT_NETWORK_UNLOCK] = "network-unlock",
	[ACT_POST_RESUME] = "post-resume",
	[ACT_STATUS_READY] = "status-ready",
};

const char *action_name(enum action_hook hook)
{
	return names[hook];
}

/* Ours replace any the caller had in its environment. */
static bool ours(const char *var)
{
	return !strncmp(var, "CRTOOLS_SCRIPT_ACTION=", 22) ||
	       !strncmp(var, "CRTOOLS_IMAGE_DIR=", 18) || !strncmp(var, "CRTOOLS_INIT_PID=", 17);
}

/* snap's environment with the hook's variables, in @vars (storage for them). */
static char **hook_env(const struct snap_opts *opts, enum action_hook hook, pid_t init_pid,
		       char vars[3][PATH_MAX + 32])
{
	char dir[PATH_MAX];
	size_t n = 0, i;
	char **env;

	for (i = 0; environ[i]; i++)
		;
	env = calloc(i + 4, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; environ[i]; i++)
		if (!ours(environ[i]))
			env[n++] = environ[i];
	snprintf(vars[0], PATH_MAX + 32, "CRTOOLS_SCRIPT_ACTION=%s", names[hook]);
	env[n++] = vars[0];
	snprintf(vars[1], PATH_MAX + 32, "CRTOOLS_IMAGE_DIR=%s",
		 realpath(opts->images_dir, dir) ? dir : opts->images_dir);
	env[n++] = vars[1];
	if (init_pid > 0) {
		snprintf(vars[2], PATH_MAX + 32, "CRTOOLS_INIT_PID=%d", init_pid);
		env[n++] = vars[2];
	}
	return env;
}

/* The child: stdin from /dev/null, output to the log, nothing else of snap's open. */
static void __attribute__((noreturn)) exec_script(const char *path, char **env, int err_pipe)
{
	int out = log_fd() >= 0 ? log_fd() : STDERR_FILENO;
	int in = open("/dev/null", O_RDONLY), err;

	if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
	    dup2(err_pipe, 3) < 0)
		goto fail;
	/* From here on the pipe is fd 3, close-on-exec. */
	err_pipe = 3;
	if (fcntl(3, F_SETFD, FD_CLOEXEC) || close_range(4, ~0U, 0) < 0)
		goto fail;
	execve(path, (char *[]){ (char *)path, NULL }, env);
fail:
	err = errno;
	if (write(err_pipe, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

/* One script: 0, or -1 logged. */
static int run_one(const char *path, enum action_hook hook, char **env)
{
	int pipefd[2], status, err = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC)) {
		pr_perror("action script %s (%s): cannot make a pipe", path, names[hook]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("action script %s (%s): cannot fork", path, names[hook]);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0)
		exec_script(path, env, pipefd[1]);
	close(pipefd[1]);
	do
		n = read(pipefd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("action script %s (%s): cannot wait for it", path, names[hook]);
			return -1;
		}
	if (n == sizeof(err)) {
		pr_err("action script %s cannot run at %s: %s", path, names[hook], strerror(err));
		return -1;
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (WIFEXITED(status))
		pr_err("action script %s failed at %s: exit status %d", path, names[hook],
		       WEXITSTATUS(status));
	else
		pr_err("action script %s failed at %s: killed by signal %d", path, names[hook],
		       WTERMSIG(status));
	return -1;
}

int action_run(const struct snap_opts *opts, enum action_hook hook, pid_t init_pid)
{
	char vars[3][PATH_MAX + 32];
	char **env;
	int ret = 0;

	if (opts->notifier && opts->notifier->notify(opts->notifier->arg, hook, init_pid))
		return -1;
	if (!opts->nr_action_scripts)
		return 0;
	env = hook_env(opts, hook, init_pid, vars);
	if (!env) {
		pr_err("out of memory for the environment of the %s action scripts", names[hook]);
		return -1;
	}
	pr_info("running the %s action scripts", names[hook]);
	for (size_t i = 0; i < opts->nr_action_scripts && !ret; i++)
		ret = run_one(opts->action_scripts[i], hook, env);
	free(env);
	return ret;
}
