/*
 * A child in a chroot of its own (a directory of the test's) binds a unix
 * socket to /sock there: a path the binder at restore (snap on the host,
 * the tree's root at its mount namespace's root in the ns flavour) sees as
 * another file. Only bad/dump_unix_chroot and bad/dump_unix_chroot_ns run
 * it: the dump is refused naming the socket.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "unix-util.h"

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = "/sock" };
	char dir[256], c = 0;
	int ready[2], status, fd;
	pid_t child;

	test_init(argc, argv);
	test_path(dir, sizeof(dir), "root");
	if (mkdir(dir, 0755) || pipe(ready))
		fail("mkdir %s: %m", dir);
	test_daemon();
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (!child) {
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (chroot(dir) || chdir("/") || fd < 0 ||
		    bind(fd, (struct sockaddr *)&a, sizeof(a)) || write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(ready[0], &c, 1) != 1)
		fail("the child did not bind /sock in its chroot");
	test_waitsig();
	if (kill(child, SIGKILL) || waitpid(child, &status, 0) != child)
		fail("the child: %m");
	pass();
	return 0;
}
