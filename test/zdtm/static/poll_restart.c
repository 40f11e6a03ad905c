/*
 * A poll() the dump interrupts goes on waiting after restore, with no
 * timeout and with one: the kernel makes any interrupted poll() a restart
 * block, which a restored task does not have, and a poll() that returned
 * EINTR would end a program that has no signal handler and so never
 * expects it (util-linux's script does). Two children each wait in poll()
 * on a pipe (one with no timeout, one with an hour's); restored, each must
 * wake only when the parent writes to its pipe, and see that.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

/* Exit 0 if poll() woke for data, 1 with a line on stderr otherwise. */
static void waiter(int fd, int timeout)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = poll(&p, 1, timeout);

	if (rc == 1 && (p.revents & POLLIN))
		_exit(0);
	fprintf(stderr, "poll(timeout %d) returned %d (%s), revents %#x\n", timeout, rc,
		rc < 0 ? strerror(errno) : "-", p.revents);
	_exit(1);
}

int main(int argc, char **argv)
{
	int timeouts[2] = { -1, 3600 * 1000 }, pipes[2][2], status;
	pid_t pids[2];

	test_init(argc, argv);
	test_daemon();
	for (int i = 0; i < 2; i++) {
		if (pipe(pipes[i]))
			fail("pipe: %m");
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork: %m");
		if (!pids[i])
			waiter(pipes[i][0], timeouts[i]);
		test_wait_syscall(pids[i], SYS_poll);
	}
	test_waitsig();

	for (int i = 0; i < 2; i++) {
		if (waitpid(pids[i], &status, WNOHANG) != 0)
			fail("the child polling with timeout %d ended before its data came",
			     timeouts[i]);
		if (write(pipes[i][1], "x", 1) != 1 || waitpid(pids[i], &status, 0) != pids[i])
			fail("waking the child: %m");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("the child polling with timeout %d ended with status %#x", timeouts[i],
			     status);
	}
	pass();
	return 0;
}
