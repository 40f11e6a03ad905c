// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers the fd kinds share: how devices and open flags are saved and
 * reused, which of a task's fds are sockets, where paths lead in a tree
 * with its own mount namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "log.h"
#include "ns/ns.h"

uint32_t files_encode_dev(dev_t dev)
{
	unsigned int ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

int files_reopen_flags(unsigned int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
	/* An O_TMPFILE file is reopened as the plain file it has become. */
	if ((flags & O_TMPFILE) == O_TMPFILE)
		flags &= ~O_TMPFILE;
	/* A terminal must never become our controlling tty by being opened. */
	return flags | O_NOCTTY;
}

int files_task_sockets(pid_t pid, int (*fn)(void *arg, uint32_t ino, int fd), void *arg)
{
	char path[64], link[64 + 256];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	while (!ret && (errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		if (!stat(link, &st) && S_ISSOCK(st.st_mode))
			ret = fn(arg, st.st_ino, atoi(de->d_name));
	}
	if (!ret && errno) {
		pr_perror("pid %d: cannot read %s", pid, path);
		ret = -1;
	}
	closedir(dir);
	return ret;
}

dev_t files_ctty_of(pid_t pid, pid_t *sid, pid_t *tpgid)
{
	char path[64], buf[1024], *p;
	unsigned int tty_nr = 0;
	int fg = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold anything: the fields go on after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %d %u %d", sid, &tty_nr, &fg) != 3)
		return 0;
	if (tpgid)
		*tpgid = fg;
	/* new_encode_dev(): major in bits 8-19, minor in 0-7 and 20-31. */
	return makedev((tty_nr >> 8) & 0xfff, (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));
}

int files_stat_as(pid_t pid, const char *path, struct stat *st)
{
	char p[4200];
	struct stat its, ours;

	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", pid);
	if (stat(p, &its) || stat("/proc/self/ns/mnt", &ours))
		return -1;
	if (its.st_ino == ours.st_ino && its.st_dev == ours.st_dev)
		return stat(path, st);
	if (snprintf(p, sizeof(p), "/proc/%d/root%s", pid, path) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return stat(p, st);
}

bool files_paths_in_task(const struct restore_ctx *ctx)
{
	return (ns_root_clone_flags(ctx) & CLONE_NEWNS) || ctx->opts->join_ns[NS_KIND__NS_MNT];
}

bool files_pids_in_root(const struct restore_ctx *ctx)
{
	/* As restore_pidns_prepare() decides, later: at load, where() asks first. */
	return (ns_root_clone_flags(ctx) & CLONE_NEWPID) || ctx->opts->new_pidns;
}

pid_t files_spare_pid(const struct restore_ctx *ctx, pid_t above)
{
	pid_t top = above > 1 ? above : 1;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];
		const PstreeEntry *pe = t->pe;

		top = t->pid > top ? t->pid : top;
		top = (pid_t)pe->pgid > top ? (pid_t)pe->pgid : top;
		top = (pid_t)pe->sid > top ? (pid_t)pe->sid : top;
		for (size_t k = 0; t->core && k < t->core->n_threads; k++)
			if ((pid_t)t->core->threads[k]->tid > top)
				top = t->core->threads[k]->tid;
	}
	return top + 1;
}

pid_t files_clone_at(pid_t pid)
{
	struct clone_args args = { .exit_signal = SIGCHLD };

	if (pid > 0) {
		args.set_tid = (uint64_t)(uintptr_t)&pid;
		args.set_tid_size = 1;
	}
	return syscall(SYS_clone3, &args, sizeof(args));
}
