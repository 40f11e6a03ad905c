// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for scripts/bench_cow.py: a pre-forking server's memory.
 *   bench-cow NCHILD MIB WRITES PIDFILE OUTFILE: touch MIB of anonymous
 *     memory with a pattern, fork NCHILD children that each rewrite WRITES
 *     pages of it with their own pattern, daemonize (pidfile = ready). On
 *     SIGTERM every process checks every byte; the daemon writes "PASS" or
 *     "FAIL ..." to OUTFILE once its children have told theirs.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Word @i of page @pg for process @who (0: the parent's pattern). */
static uint64_t word(size_t pg, size_t i, unsigned int who)
{
	return (pg * 512 + i) * 0x9e3779b97f4a7c15ULL + who;
}

/* Child @who (1..) rewrites pages @who, @who + stride, ... */
static int written_by(size_t pg, unsigned int who, size_t stride, size_t writes)
{
	return who && pg % stride == who % stride && pg / stride < writes;
}

static void fill(uint64_t *p, size_t pg, unsigned int who)
{
	for (size_t i = 0; i < PAGE / 8; i++)
		p[pg * 512 + i] = word(pg, i, who);
}

static int check(const uint64_t *p, size_t pages, unsigned int who, size_t stride, size_t writes)
{
	for (size_t pg = 0; pg < pages; pg++) {
		unsigned int w = written_by(pg, who, stride, writes) ? who : 0;

		for (size_t i = 0; i < PAGE / 8; i++)
			if (p[pg * 512 + i] != word(pg, i, w))
				return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int nchild;
	size_t pages, writes, stride;
	pid_t *kids, pid;
	int ready[2], up[2], status, bad = 0;
	char tmp[4096];
	uint64_t *mem;
	FILE *f;
	char c;

	if (argc != 6) {
		fprintf(stderr, "usage: bench-cow NCHILD MIB WRITES PIDFILE OUTFILE\n");
		return 2;
	}
	nchild = atoi(argv[1]);
	pages = (size_t)atoi(argv[2]) << 20 >> 12;
	writes = atoi(argv[3]);
	stride = nchild + 1;
	kids = calloc(nchild, sizeof(*kids));
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (!kids || mem == MAP_FAILED || pipe(ready) || pipe(up)) {
		perror("bench-cow");
		return 1;
	}
	/* The daemon: its launcher returns once the tree is set up. */
	pid = fork();
	if (pid) {
		close(up[1]);
		return read(up[0], &c, 1) == 1 ? 0 : 1;
	}
	close(up[0]);
	setsid();
	signal(SIGTERM, on_term);
	for (size_t pg = 0; pg < pages; pg++)
		fill(mem, pg, 0);
	for (unsigned int k = 0; k < nchild; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			for (size_t pg = 0; pg < pages; pg++)
				if (written_by(pg, k + 1, stride, writes))
					fill(mem, pg, k + 1);
			if (write(ready[1], "c", 1) != 1)
				_exit(1);
			while (!stop)
				pause();
			_exit(check(mem, pages, k + 1, stride, writes) ? 1 : 0);
		}
	}
	for (unsigned int k = 0; k < nchild; k++)
		if (read(ready[0], &c, 1) != 1)
			return 1;
	/* The pidfile appears whole. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[4]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) || rename(tmp, argv[4]))
		return 1;
	if (write(up[1], "r", 1) != 1)
		return 1;
	close(up[1]);
	close(ready[0]);
	close(ready[1]);
	while (!stop)
		pause();
	if (check(mem, pages, 0, stride, writes))
		bad = -1;
	for (unsigned int k = 0; k < nchild; k++) {
		kill(kids[k], SIGTERM);
		if (waitpid(kids[k], &status, 0) != kids[k] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad = k + 1;
	}
	f = fopen(argv[5], "w");
	if (!f)
		return 1;
	if (bad)
		fprintf(f, "FAIL (process %d)\n", bad < 0 ? 0 : bad);
	else
		fprintf(f, "PASS\n");
	fclose(f);
	return 0;
}
