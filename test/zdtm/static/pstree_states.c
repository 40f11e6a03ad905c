/*
 * Processes in every state a tree holds, under a root that is a child
 * subreaper:
 *   Z1  a zombie that exited with 42;
 *   Z2  a zombie killed by SIGUSR2;
 *   O   an orphan: its parent M exited, so it was reparented to the root;
 *   S   stopped by SIGSTOP, with a pipe to the root.
 * After SIGTERM the root checks the zombies are still zombies and reaps them
 * with their statuses, that O is still its child and alive, that S is still
 * stopped and, once continued, echoes what the root sends it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char state_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p ? p[2] : 0;
}

static void wait_state(pid_t pid, char state)
{
	for (int i = 0; state_of(pid) != state; i++) {
		if (i == 5000)
			fail("pid %d never got to state %c", pid, state);
		usleep(1000);
	}
}

static pid_t zombie(int how)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		if (how)
			raise(how);
		_exit(42);
	}
	wait_state(pid, 'Z');
	return pid;
}

/* The orphan: lives until SIGTERM, then exits 0 if its parent is still @root. */
static pid_t orphan(pid_t root)
{
	int p[2];
	pid_t pid, m;
	char c;

	if (pipe(p))
		fail("pipe: %m");
	m = fork();
	if (m < 0)
		fail("fork: %m");
	if (m == 0) {
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			/* M exits once we are running: wait to be the root's. */
			while (getppid() != root)
				usleep(1000);
			if (write(p[1], "o", 1) != 1)
				_exit(3);
			while (!test_sigterm)
				pause();
			_exit(getppid() == root ? 0 : 2);
		}
		if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &pid, sizeof(pid)) != sizeof(pid) || waitpid(m, NULL, 0) != m)
		fail("making the orphan: %m");
	if (read(p[0], &c, 1) != 1)
		fail("the orphan did not start");
	close(p[0]);
	return pid;
}

/* Stopped: once continued, echoes one byte back. */
static pid_t stopped(int *to, int *from)
{
	int a[2], b[2];
	pid_t pid;
	char c;

	if (pipe(a) || pipe(b))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	*to = a[1];
	*from = b[0];
	kill(pid, SIGSTOP);
	wait_state(pid, 'T');
	return pid;
}

int main(int argc, char **argv)
{
	pid_t z1, z2, o, s;
	int to, from, status;
	char c = 'x';

	test_init(argc, argv);
	test_daemon();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		fail("PR_SET_CHILD_SUBREAPER: %m");
	z1 = zombie(0);
	z2 = zombie(SIGUSR2);
	o = orphan(getpid());
	s = stopped(&to, &from);
	test_waitsig();

	if (state_of(z1) != 'Z' || state_of(z2) != 'Z')
		fail("the zombies are in states %c and %c", state_of(z1), state_of(z2));
	if (waitpid(z1, &status, WNOHANG) != z1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 42)
		fail("zombie %d: status %#x, expected exit 42", z1, status);
	if (waitpid(z2, &status, WNOHANG) != z2 || !WIFSIGNALED(status) ||
	    WTERMSIG(status) != SIGUSR2)
		fail("zombie %d: status %#x, expected killed by SIGUSR2", z2, status);
	if (state_of(s) != 'T')
		fail("pid %d is in state %c, expected stopped", s, state_of(s));
	if (write(to, &c, 1) != 1)
		fail("write to the stopped child: %m");
	kill(s, SIGCONT);
	if (read(from, &c, 1) != 1 || c != 'x')
		fail("the continued child did not echo");
	if (waitpid(s, &status, 0) != s || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the continued child: status %#x", status);
	kill(o, SIGTERM);
	if (waitpid(o, &status, 0) != o || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the orphan: status %#x (2: reparented elsewhere)", status);
	pass();
	return 0;
}
