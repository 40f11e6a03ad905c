// SPDX-License-Identifier: GPL-2.0
/*
 * The zdtm test library: option parsing, daemonizing with a pidfile that
 * appears only once the test is ready, waiting for SIGTERM, and reporting
 * PASS/FAIL through the outfile. See zdtmtst.h for the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

volatile sig_atomic_t test_sigterm;
int test_argc;
char **test_argv;

static char pidfile[PATH_MAX];
static char outfile[PATH_MAX];
static int keep_stdio;
static int ready_fd = -1;	/* write end of the pipe to the waiting parent */
static int is_ready;

static void sigterm_handler(int sig)
{
	(void)sig;
	test_sigterm = 1;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s --pidfile=FILE --outfile=FILE [args]\n", prog);
	exit(2);
}

/* Store @val as an absolute path: the test may chdir() later. */
static void set_path(char *dst, const char *val, const char *prog)
{
	char cwd[PATH_MAX];
	int n;

	if (!*val)
		usage(prog);
	if (val[0] == '/') {
		n = snprintf(dst, PATH_MAX, "%s", val);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			perror("getcwd");
			exit(2);
		}
		n = snprintf(dst, PATH_MAX, "%s/%s", cwd, val);
	}
	if (n >= PATH_MAX) {
		fprintf(stderr, "%s: path too long: %s\n", prog, val);
		exit(2);
	}
}

void test_init(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sigterm_handler };
	int i, j, fd;

	for (i = 1, j = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "--pidfile=", 10))
			set_path(pidfile, a + 10, argv[0]);
		else if (!strncmp(a, "--outfile=", 10))
			set_path(outfile, a + 10, argv[0]);
		else if (!strcmp(a, "--pidfile") && i + 1 < argc)
			set_path(pidfile, argv[++i], argv[0]);
		else if (!strcmp(a, "--outfile") && i + 1 < argc)
			set_path(outfile, argv[++i], argv[0]);
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	test_argc = j;
	test_argv = argv;
	if (!pidfile[0] || !outfile[0])
		usage(argv[0]);

	/*
	 * Create the outfile now, writable by anyone: the test may switch to
	 * other credentials that could not create it in the runner's directory.
	 */
	fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || fchmod(fd, 0666)) {
		fprintf(stderr, "%s: %s: %m\n", argv[0], outfile);
		exit(2);
	}
	close(fd);

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		fail("sigaction(SIGTERM): %m");
}

void test_keep_stdio(void)
{
	keep_stdio = 1;
}

/* Write @pid to the pidfile atomically: a reader sees all of it or no file. */
/*
 * No stdio: as pid 1 (the ns flavour) the test itself writes this once its
 * state is set up, and fopen() would malloc, moving a break it just read.
 */
static int write_pidfile(pid_t pid)
{
	char tmp[PATH_MAX + 8], buf[32];
	int fd, len, ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%d\n", pid);
	ret = write(fd, buf, len) == len ? 0 : -1;
	if (close(fd) || ret || rename(tmp, pidfile))
		return -1;
	return 0;
}

static void redirect_stdio(void)
{
	int fd, i;

	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		fail("/dev/null: %m");
	for (i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			fail("dup2: %m");
	if (fd > 2)
		close(fd);
}

/* Field 22 of /proc/self/stat: when this process was created, in clock ticks. */
static unsigned long long start_time(void)
{
	char buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd, i;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("/proc/self/stat: %m");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		fail("read /proc/self/stat: %m");
	buf[n] = '\0';
	/* comm may hold blanks: count fields from the last ')', which ends field 2. */
	p = strrchr(buf, ')');
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &t) != 1)
		fail("unparsable /proc/self/stat: %s", buf);
	return t;
}

static unsigned long long setup_start_time;

int test_restored(void)
{
	return setup_start_time && start_time() != setup_start_time;
}

void test_daemon(void)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;
	char c;

	/*
	 * pid 1 of its own namespaces (the "ns" flavour, ns/nsrun.c): it must
	 * not exit, or the namespace dies; its launcher plays the parent.
	 */
	if (getpid() == 1) {
		setup_start_time = start_time();
		if (!keep_stdio) {
			if (setsid() < 0)
				fail("setsid: %m");
			redirect_stdio();
		}
		return;
	}
	if (pipe2(p, O_CLOEXEC))
		fail("pipe: %m");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %m");

	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		setup_start_time = start_time();
		if (!keep_stdio) {
			if (setsid() < 0)
				fail("setsid: %m");
			redirect_stdio();
		}
		return;
	}

	/* The parent: wait for test_ready() in the child, or for its death. */
	close(p[1]);
	do {
		n = read(p[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1) {
		if (write_pidfile(pid)) {
			kill(pid, SIGKILL);
			fail("%s: %m", pidfile);
		}
		exit(0);
	}
	/* The child exited before it was ready: fail() or skip() said why. */
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		exit(WEXITSTATUS(status));
	exit(1);
}

void test_ready(void)
{
	if (is_ready)
		return;
	is_ready = 1;
	if (ready_fd < 0) {
		/* Not daemonized: this process is the test. */
		if (write_pidfile(getpid()))
			fail("%s: %m", pidfile);
		return;
	}
	if (write(ready_fd, "R", 1) != 1)
		fail("cannot signal readiness: %m");
	close(ready_fd);
	ready_fd = -1;
}

int test_go(void)
{
	return !test_sigterm;
}

void test_block_sigterm(sigset_t *suspend_mask)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &m, suspend_mask))
		fail("sigprocmask: %m");
	sigdelset(suspend_mask, SIGTERM);
}

void test_unblock_sigterm(void)
{
	sigset_t m;

	/*
	 * Unblock only SIGTERM rather than restoring a saved copy of the mask:
	 * the mask after the wait must be whatever the kernel holds, so that a
	 * mask lost over checkpoint/restore shows.
	 */
	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	if (sigprocmask(SIG_UNBLOCK, &m, NULL))
		fail("sigprocmask: %m");
}

void test_waitsig(void)
{
	sigset_t mask;

	test_ready();
	test_block_sigterm(&mask);
	while (!test_sigterm)
		sigsuspend(&mask);
	test_unblock_sigterm();
}

static void write_outfile(const char *line)
{
	size_t len = strlen(line);
	int fd;

	fd = open(outfile, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || write(fd, line, len) != (ssize_t)len) {
		dprintf(2, "%s: %s", outfile, line);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
}

void pass(void)
{
	write_outfile("PASS\n");
}

static void __noreturn report(const char *tag, int code, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	n = snprintf(msg, sizeof(msg), "%s: ", tag);
	vsnprintf(msg + n, sizeof(msg) - n - 1, fmt, ap);
	strcat(msg, "\n");
	test_msg("%s", msg);
	write_outfile(msg);
	exit(code);
}

void fail(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	errno = saved;
	report("FAIL", 1, fmt, ap);
}

void skip(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	errno = saved;
	report("SKIP", 0, fmt, ap);
}

void test_msg(const char *fmt, ...)
{
	char log[PATH_MAX + 8], msg[1024];
	int saved = errno, fd, n;
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(msg, sizeof(msg), "%ld.%03ld %d: ", (long)ts.tv_sec, ts.tv_nsec / 1000000,
		     getpid());
	errno = saved;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (msg[n - 1] != '\n') {
		msg[n++] = '\n';
		msg[n] = '\0';
	}

	snprintf(log, sizeof(log), "%s.log", outfile);
	fd = outfile[0] ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666) : -1;
	if (fd < 0) {
		fd = dup(2);
		if (fd < 0)
			goto out;
	}
	/* Nowhere left to report a failed write to. */
	if (write(fd, msg, n) != n)
		errno = saved;
	close(fd);
out:
	errno = saved;
}

void test_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s.%s", outfile, name) >= size)
		fail("path too long: %s.%s", outfile, name);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void datagen(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t s = seed, v;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		v = splitmix64(&s);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = splitmix64(&s);
		memcpy(p + i, &v, len - i);
	}
}

ssize_t datachk(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf;
	unsigned char want[8];
	uint64_t s = seed, v;
	size_t i, j, n;

	for (i = 0; i < len; i += 8) {
		n = len - i < 8 ? len - i : 8;
		v = splitmix64(&s);
		memcpy(want, &v, 8);
		if (memcmp(p + i, want, n))
			for (j = 0; j < n; j++)
				if (p[i + j] != want[j])
					return i + j;
	}
	return -1;
}

ssize_t zerochk(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t v;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&v, p + i, 8);
		if (v)
			break;
	}
	for (; i < len; i++)
		if (p[i])
			return i;
	return -1;
}

/* Find a line of /proc/self/maps: by address, or by name when @name is set. */
static int find_vma(unsigned long addr, const char *name, struct test_vma *vma)
{
	static char buf[1 << 20];
	char *line, *end;
	ssize_t n, len = 0;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("/proc/self/maps: %m");
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		fail("read /proc/self/maps: %m");
	buf[len] = '\0';

	for (line = buf; *line; line = end + 1) {
		int pos = 0;

		end = strchr(line, '\n');
		if (!end)
			break;
		*end = '\0';
		memset(vma, 0, sizeof(*vma));
		if (sscanf(line, "%lx-%lx %4s %lx %*s %*u %n", &vma->start, &vma->end, vma->perms,
			   &vma->pgoff, &pos) < 4)
			fail("unparsable /proc/self/maps line: %s", line);
		if (pos)
			snprintf(vma->name, sizeof(vma->name), "%s", line + pos);
		if (name ? !strcmp(vma->name, name) : (addr >= vma->start && addr < vma->end))
			return 0;
	}
	return -1;
}

int test_vma_at(unsigned long addr, struct test_vma *vma)
{
	return find_vma(addr, NULL, vma);
}

int test_vma_named(const char *name, struct test_vma *vma)
{
	return find_vma(0, name, vma);
}

/* Whole /proc/self/smaps into a static buffer (no malloc); fail()s if it does not fit. */
static char *read_smaps(void)
{
	static char buf[4 << 20];
	ssize_t n, len = 0;
	int fd;

	fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("/proc/self/smaps: %m");
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		fail("read /proc/self/smaps: %m");
	if (len == sizeof(buf) - 1)
		fail("/proc/self/smaps is larger than %zu bytes", sizeof(buf) - 1);
	buf[len] = '\0';
	return buf;
}

int test_smaps_field(unsigned long addr, const char *field, char *val, size_t size)
{
	char *line, *end, *colon;
	size_t flen = strlen(field);
	int in = 0;

	for (line = read_smaps(); *line; line = end + 1) {
		unsigned long start, stop;

		end = strchr(line, '\n');
		if (!end)
			break;
		*end = '\0';
		colon = strchr(line, ':');
		/* A mapping's header has no "Field:" before its first blank. */
		if (!colon || strchr(line, ' ') < colon) {
			if (in)
				return -1;
			in = sscanf(line, "%lx-%lx", &start, &stop) == 2 && addr >= start &&
			     addr < stop;
			continue;
		}
		if (!in || colon - line != (long)flen || strncmp(line, field, flen))
			continue;
		for (colon++; *colon == ' '; colon++)
			;
		snprintf(val, size, "%s", colon);
		return 0;
	}
	return -1;
}

long test_smaps_kb(unsigned long addr, const char *field)
{
	char val[64];

	if (test_smaps_field(addr, field, val, sizeof(val)))
		fail("smaps of the mapping at %#lx has no %s", addr, field);
	return strtol(val, NULL, 10);
}

int test_zero_page(void)
{
	volatile char *p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long anon;

	if (p == MAP_FAILED)
		fail("mmap: %m");
	(void)*p;
	/* The zero page is not counted as anonymous memory; an allocated page is. */
	anon = test_smaps_kb((unsigned long)p, "Anonymous");
	munmap((void *)p, PAGE_SIZE);
	return anon == 0;
}

int test_untouched(const void *p, size_t len)
{
	size_t n = (len + PAGE_SIZE - 1) / PAGE_SIZE;
	unsigned char vec[4096];

	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(vec) ? n - done : sizeof(vec);

		if (mincore((char *)p + done * PAGE_SIZE, k * PAGE_SIZE, vec))
			fail("mincore: %m");
		for (size_t i = 0; i < k; i++)
			if (vec[i] & 1)
				return 0;
		done += k;
	}
	return 1;
}

long test_status_long(const char *field)
{
	char buf[8192], *p;
	size_t flen = strlen(field);
	ssize_t n;
	int fd;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("/proc/self/status: %m");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		fail("read /proc/self/status: %m");
	buf[n] = '\0';
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, field, flen) && p[flen] == ':')
			return strtol(p + flen + 1, NULL, 10);
	fail("/proc/self/status has no %s", field);
}

int test_vmflag(unsigned long addr, const char *flag)
{
	char val[256], *tok, *save;

	if (test_smaps_field(addr, "VmFlags", val, sizeof(val)))
		fail("no mapping with VmFlags at %#lx", addr);
	for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, flag))
			return 1;
	return 0;
}

static sigjmp_buf probe_env;

static void probe_handler(int sig)
{
	siglongjmp(probe_env, sig);
}

int test_faults(volatile void *p, int write)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_segv, old_bus;
	volatile unsigned char *b = p;
	int faulted = 0;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(probe_env, 1) == 0) {
		unsigned char c = *b;

		if (write)
			*b = c;
	} else {
		faulted = 1;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted;
}

static char recorded[256];

void test_record(const char *fmt, ...)
{
	va_list ap;

	if (recorded[0])
		return;
	va_start(ap, fmt);
	vsnprintf(recorded, sizeof(recorded), fmt, ap);
	va_end(ap);
}

const char *test_recorded(void)
{
	return recorded[0] ? recorded : NULL;
}

void test_wait_syscall(pid_t tid, long nr)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	for (int i = 0; i < 5000; i++) {
		FILE *f = fopen(path, "r");
		long got = -2;

		if (f && fscanf(f, "%ld", &got) != 1)
			got = -2;
		if (f)
			fclose(f);
		if (got == nr)
			return;
		usleep(1000);
	}
	fail("task %d is not in syscall %ld after 5 s", tid, nr);
}
