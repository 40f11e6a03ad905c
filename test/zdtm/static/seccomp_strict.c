/*
 * Seccomp strict mode survives. In strict mode only read(), write(), exit()
 * and rt_sigreturn() are allowed, anything else is SIGKILL: the test opens
 * what it needs first (its outfile, its own /proc status), enters strict
 * mode right after it is ready, waits in read() on a pipe nobody writes, and
 * once SIGTERM (whose handler only sets a flag) breaks that read, reads
 * "Seccomp: 1" from its status and writes the verdict with write().
 */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile int strict;

static void verdict(int fd, const char *msg)
{
	if (write(fd, msg, strlen(msg)) < 0)
		syscall(SYS_exit, 2);
	/* exit(), not exit_group(): the only way out strict mode allows. */
	syscall(SYS_exit, 0);
}

int main(int argc, char **argv)
{
	const char *outfile = NULL;
	char buf[4096], *p;
	int pipefd[2], status_fd, out_fd, i;
	ssize_t n;

	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--outfile=", 10))
			outfile = argv[i] + 10;
	test_init(argc, argv);
	if (!outfile)
		fail("this test needs --outfile=FILE");
	test_daemon();

	out_fd = open(outfile, O_WRONLY);
	status_fd = open("/proc/self/status", O_RDONLY);
	if (out_fd < 0 || status_fd < 0 || pipe(pipefd))
		fail("setup: %m");

	test_ready();
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
		fail("PR_SET_SECCOMP: %m");
	strict = 1;

	while (!test_sigterm)
		read(pipefd[0], buf, 1);

	if (!strict)
		verdict(out_fd, "FAIL: dumped before it entered strict mode\n");
	n = read(status_fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		verdict(out_fd, "FAIL: cannot read /proc/self/status\n");
	buf[n] = '\0';
	p = strstr(buf, "\nSeccomp:");
	if (!p)
		verdict(out_fd, "FAIL: no Seccomp: in /proc/self/status\n");
	p += strlen("\nSeccomp:");
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '0' + SECCOMP_MODE_STRICT)
		verdict(out_fd, "FAIL: not in seccomp strict mode\n");
	verdict(out_fd, "PASS\n");
	return 0;
}
