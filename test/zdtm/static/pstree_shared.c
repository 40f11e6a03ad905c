/*
 * Children that share with their parent what clone() lets them share:
 *   F  the fd table (CLONE_FILES): an fd the parent opens after the restore
 *      is F's too, and one F closes is gone for the parent;
 *   G  cwd and umask (CLONE_FS): G's chdir() and umask() change the parent's.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FD_BEFORE 100	/* opened by the parent before the dump, closed by F after */
#define FD_AFTER 101	/* opened by the parent after the restore, seen by F */

static pid_t clone_sharing(unsigned long flags)
{
	pid_t pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);

	if (pid < 0)
		fail("clone: %m");
	return pid;
}

static void wait_term(void)
{
	while (!test_sigterm)
		pause();
}

int main(int argc, char **argv)
{
	char cwd[4096];
	int status, fd;
	pid_t f, g;

	test_init(argc, argv);
	test_daemon();
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, FD_BEFORE) != FD_BEFORE)
		fail("open: %m");
	close(fd);
	umask(022);

	f = clone_sharing(CLONE_FILES);
	if (f == 0) {
		wait_term();
		/* The parent opened FD_AFTER before it sent us SIGTERM. */
		if (fcntl(FD_AFTER, F_GETFD) < 0)
			_exit(1);
		close(FD_BEFORE);
		_exit(0);
	}
	g = clone_sharing(CLONE_FS);
	if (g == 0) {
		wait_term();
		umask(027);
		_exit(chdir("/proc") ? 1 : 0);
	}
	test_waitsig();

	fd = open("/dev/zero", O_RDONLY);
	if (fd < 0 || dup2(fd, FD_AFTER) != FD_AFTER)
		fail("open: %m");
	close(fd);
	kill(f, SIGTERM);
	if (waitpid(f, &status, 0) != f || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("F did not see fd %d the parent opened (status %#x)", FD_AFTER, status);
	if (fcntl(FD_BEFORE, F_GETFD) >= 0)
		fail("fd %d that F closed is still open here: the fd table is not shared",
		     FD_BEFORE);
	kill(g, SIGTERM);
	if (waitpid(g, &status, 0) != g || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("G failed (status %#x)", status);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/proc"))
		fail("cwd is %s after G's chdir(\"/proc\"): not shared", cwd);
	if (umask(0) != 027)
		fail("umask is not G's 027: not shared");
	/* snap keeps its fds above every fd of the tree: none may be left. */
	for (fd = FD_AFTER + 1; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			fail("fd %d is open: left by the restore?", fd);
	pass();
	return 0;
}
