/*
 * Directories removed while in use come back removed: a cwd (mode 0751)
 * shared with a child, and an fd of a directory (mode 0705) whose parent
 * was removed too. Restored, each reads "PATH (deleted)", has no link, its
 * mode, and takes no new entry; the child's cwd is the same inode as the
 * parent's; and nothing of them is left on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DELETED " (deleted)"

/* @what reads "@path (deleted)", is a directory without links, of @mode. */
static void check_removed(const char *what, const char *link, const char *path, int fd,
			  mode_t mode)
{
	char got[PATH_MAX], want[PATH_MAX + 16];
	struct stat st;
	ssize_t n = readlink(link, got, sizeof(got) - 1);

	if (n < 0)
		fail("readlink %s: %m", link);
	got[n] = '\0';
	snprintf(want, sizeof(want), "%s" DELETED, path);
	if (strcmp(got, want))
		fail("%s reads \"%s\", expected \"%s\"", what, got, want);
	if (fstat(fd, &st))
		fail("fstat %s: %m", what);
	if (!S_ISDIR(st.st_mode) || st.st_nlink || (st.st_mode & 07777) != mode)
		fail("%s: mode %#o, %lu links; expected a directory of %#o, no link", what,
		     st.st_mode, (unsigned long)st.st_nlink, mode);
	if (openat(fd, "new", O_CREAT | O_WRONLY, 0600) >= 0 || errno != ENOENT)
		fail("%s takes a new entry (%m)", what);
}

/* The child: after the restore, sends its cwd's inode and whether it checks out. */
static void child(int go, int res, const char *cwd)
{
	struct stat st;
	char c;
	int dot = open(".", O_RDONLY | O_DIRECTORY);

	if (read(go, &c, 1) != 1 || dot < 0 || fstat(dot, &st))
		_exit(1);
	check_removed("the child's cwd", "/proc/self/cwd", cwd, dot, 0751);
	if (write(res, &st.st_ino, sizeof(st.st_ino)) != sizeof(st.st_ino))
		_exit(2);
	_exit(0);
}

int main(int argc, char **argv)
{
	char base[PATH_MAX], cwd[PATH_MAX + 8], parent[PATH_MAX + 8], dir[PATH_MAX + 16];
	char link[64], buf[PATH_MAX];
	int dfd, dot, go[2], res[2], status;
	struct stat st;
	ino_t ino;
	pid_t pid;

	test_init(argc, argv);
	test_daemon();
	test_path(base, sizeof(base), "cwd_deleted.d");
	snprintf(cwd, sizeof(cwd), "%s/cwd", base);
	snprintf(parent, sizeof(parent), "%s/p", base);
	snprintf(dir, sizeof(dir), "%s/q", parent);
	if ((mkdir(base, 0755) && errno != EEXIST) || mkdir(cwd, 0751) || mkdir(parent, 0755) ||
	    mkdir(dir, 0705) || chmod(cwd, 0751) || chmod(dir, 0705))
		fail("mkdir under %s: %m", base);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || chdir(cwd))
		fail("open %s, chdir %s: %m", dir, cwd);
	if (rmdir(cwd) || rmdir(dir) || rmdir(parent))
		fail("rmdir: %m");
	if (pipe(go) || pipe(res))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (!pid)
		child(go[0], res[1], cwd);
	test_waitsig();

	dot = open(".", O_RDONLY | O_DIRECTORY);
	if (dot < 0)
		fail("open .: %m");
	check_removed("the cwd", "/proc/self/cwd", cwd, dot, 0751);
	if (getcwd(buf, sizeof(buf)) || errno != ENOENT)
		fail("getcwd in a removed directory did not fail with ENOENT (%m)");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	check_removed("the directory fd", link, dir, dfd, 0705);
	if (!access(cwd, F_OK) || !access(dir, F_OK) || !access(parent, F_OK))
		fail("a removed directory is on disk again");

	if (write(go[1], "g", 1) != 1 || read(res[0], &ino, sizeof(ino)) != sizeof(ino) ||
	    waitpid(pid, &status, 0) != pid)
		fail("the child: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child ended with status %#x", status);
	if (fstat(dot, &st) || st.st_ino != ino)
		fail("the child's cwd is another directory (inode %lu, ours %lu)",
		     (unsigned long)ino, (unsigned long)st.st_ino);
	if (fchdir(dfd))
		fail("fchdir into the removed directory: %m");
	rmdir(base);
	pass();
	return 0;
}
