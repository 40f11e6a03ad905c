/*
 * For the bad-input tests only: the test holds a pty master, and a process
 * outside its tree (reparented to the runner) uses the slave: holds it open
 * ("slave"), or has it as controlling terminal ("ctty"); or holds the
 * master itself, inherited ("master"). Its pid goes to
 * <outfile>.outside.pid; it exits when the test does.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static void outside(const char *name, const char *mode, int life, const char *pidfile)
{
	int ctty = !strcmp(mode, "ctty");
	char tmp[4096 + 8], c;
	FILE *f;
	int fd;

	if (ctty && setsid() < 0)
		_exit(1);
	fd = strcmp(mode, "master") ? open(name, O_RDWR | (ctty ? 0 : O_NOCTTY)) : 0;
	if (fd < 0)
		_exit(2);
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) || rename(tmp, pidfile))
		_exit(3);
	/* Until the test is gone. */
	while (read(life, &c, 1) > 0)
		;
	_exit(0);
}

int main(int argc, char **argv)
{
	char pidfile[4096], name[64];
	int master, life[2], status;
	const char *mode;
	pid_t pid;

	test_init(argc, argv);
	mode = test_argc > 1 ? test_argv[1] : "slave";
	test_path(pidfile, sizeof(pidfile), "outside.pid");
	unlink(pidfile);
	test_daemon();
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) || pipe(life) ||
	    ptsname_r(master, name, sizeof(name)))
		fail("posix_openpt: %m");
	pid = fork();
	if (pid == 0) {
		/* Its child leaves our tree when we reap it. */
		if (fork() == 0) {
			close(life[1]);
			if (strcmp(mode, "master"))
				close(master);
			outside(name, mode, life[0], pidfile);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		fail("fork: %m");
	close(life[0]);
	for (int i = 0; access(pidfile, F_OK); i++) {
		if (i == 5000)
			fail("the outside process did not start");
		usleep(1000);
	}
	test_waitsig();
	pass();
	return 0;
}
