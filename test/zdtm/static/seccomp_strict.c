/*
 * Seccomp strict mode survives. In strict mode only read(), write(), exit()
 * and rt_sigreturn() are allowed, anything else is SIGKILL, so the process
 * cannot look at itself: a helper child, forked before, does. The test
 * enters strict mode once it is ready and waits in read() on a pipe; on
 * SIGTERM (whose handler only sets a flag) it asks the helper, with
 * write(), to check "Seccomp: 1" in its /proc status and write the verdict,
 * waits for the helper's answer with read() and leaves with exit().
 */
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile int strict;

/* The helper: one request ('S' strict entered, 'N' not yet), one answer. */
static void helper(int req, int ans)
{
	char path[64], buf[4096], c;
	pid_t parent = getppid();
	FILE *f;

	if (read(req, &c, 1) != 1)
		fail("helper: no request: %m");
	if (c != 'S')
		fail("dumped before it entered strict mode");
	snprintf(path, sizeof(path), "/proc/%d/status", parent);
	f = fopen(path, "r");
	if (!f)
		fail("%s: %m", path);
	while (fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Seccomp:", 8))
			break;
	fclose(f);
	if (strncmp(buf, "Seccomp:", 8) || strtol(buf + 8, NULL, 10) != SECCOMP_MODE_STRICT)
		fail("pid %d is not in seccomp strict mode: %s", parent, buf);
	pass();
	if (write(ans, "A", 1) != 1)
		fail("helper: cannot answer: %m");
	exit(0);
}

int main(int argc, char **argv)
{
	int req[2], ans[2], idle[2];
	char c = 'N';
	pid_t pid;

	test_init(argc, argv);
	test_daemon();

	if (pipe(req) || pipe(ans) || pipe(idle))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		helper(req[0], ans[1]);
	}

	test_ready();
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
		fail("PR_SET_SECCOMP: %m");
	strict = 1;

	/* Nobody writes to idle: the read ends with SIGTERM (EINTR). */
	while (!test_sigterm)
		read(idle[0], &c, 1);

	c = strict ? 'S' : 'N';
	if (write(req[1], &c, 1) != 1 || read(ans[0], &c, 1) != 1)
		syscall(SYS_exit, 1);
	/* exit(), not exit_group(): the only way out strict mode allows. */
	syscall(SYS_exit, 0);
	return 0;
}
