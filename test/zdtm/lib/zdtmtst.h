/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdtm test contract. A test program is started as
 *
 *	prog --pidfile=P --outfile=O [args]
 *
 * It calls test_init(), sets up the state to be checkpointed, calls
 * test_daemon() (which returns in a fresh session-leader child; the original
 * process exits once the child is ready), may set up per-process state that
 * fork() does not inherit (pending signals, itimers, registers), then calls
 * test_waitsig(). The pidfile P appears only once the child is ready, so the
 * runner may dump it as soon as P exists. After SIGTERM the test checks every
 * bit of its state and calls pass() or fail().
 *
 * Files a test needs live next to the outfile: see test_path().
 */
#ifndef ZDTMTST_H
#define ZDTMTST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE	4096UL

/* Set by the SIGTERM handler that test_init() installs. */
extern volatile sig_atomic_t test_sigterm;

/* Parse --pidfile= and --outfile=, install the SIGTERM handler. */
void test_init(int argc, char **argv);
/* Arguments left after the zdtm options (argv[0] is the program). */
extern int test_argc;
extern char **test_argv;

/*
 * Before test_daemon(): keep stdin/stdout/stderr and the session (a shell job
 * whose stdio is its controlling terminal). The child then does not setsid().
 */
void test_keep_stdio(void);

/*
 * Fork. Returns in the child, which is in a new session (unless
 * test_keep_stdio()) with stdio on /dev/null. The parent waits until the
 * child calls test_ready() and then writes the child's pid to the pidfile
 * (via rename) and exits 0; it exits 1 if the child dies first.
 */
void test_daemon(void);

/*
 * 1 in a restored process, 0 in the one test_daemon() made: a restored
 * process has the same pid and memory but a later creation time.
 */
int test_restored(void);

/* Setup is complete: have the pidfile written. Idempotent. */
void test_ready(void);

/* test_ready() if not done yet, then sleep until SIGTERM. */
void test_waitsig(void);

/* Nonzero until SIGTERM arrived. */
int test_go(void);

/*
 * For tests that wait in their own asm: block SIGTERM (returning the mask to
 * pass to rt_sigsuspend, i.e. the previous mask) ...
 */
void test_block_sigterm(sigset_t *suspend_mask);
/* ... and afterwards unblock it again. */
void test_unblock_sigterm(void);

/* Write "PASS\n" to the outfile. */
void pass(void);
/* Write "FAIL: <reason>\n" to the outfile and exit(1). Understands %m. */
void fail(const char *fmt, ...) __printf(1, 2) __noreturn;
/*
 * The test cannot run here (missing CPU feature, ...): write "SKIP: <reason>"
 * and exit(0). Only before test_ready().
 */
void skip(const char *fmt, ...) __printf(1, 2) __noreturn;
/* Debug line to O.log (stderr if there is no outfile). */
void test_msg(const char *fmt, ...) __printf(1, 2);

/*
 * A sticky failure for loops that must not stop to report (a writer racing
 * a live dump): the first one recorded is kept, test_recorded() returns it,
 * or NULL.
 */
void test_record(const char *fmt, ...) __printf(1, 2);
const char *test_recorded(void);

/* "<outfile>.<name>": a per-test path for files the test creates. */
void test_path(char *buf, size_t size, const char *name);

/* Deterministic pseudo-random bytes: the same (len, seed) give the same data. */
void datagen(void *buf, size_t len, uint64_t seed);
/* Offset of the first byte that differs from datagen(len, seed), or -1. */
ssize_t datachk(const void *buf, size_t len, uint64_t seed);
/* Offset of the first nonzero byte, or -1. */
ssize_t zerochk(const void *buf, size_t len);

/* One line of /proc/self/maps. */
struct test_vma {
	unsigned long start, end, pgoff;
	char perms[5];		/* "rw-p" */
	char name[256];		/* path, [heap], [vdso], ... or "" */
};

/*
 * The mapping that contains @addr (or, with @name non-NULL, the first one
 * called @name): 0, or -1 if there is none. Does not malloc, so it does not
 * move the program break.
 */
int test_vma_at(unsigned long addr, struct test_vma *vma);
int test_vma_named(const char *name, struct test_vma *vma);

/*
 * Field @field ("VmFlags", "Locked", ...) of the /proc/self/smaps entry of
 * the mapping that contains @addr: its text after the colon and blanks, in
 * @val. 0, or -1 if there is no such mapping or field. Does not malloc.
 */
int test_smaps_field(unsigned long addr, const char *field, char *val, size_t size);
/* The number of a "NNN kB" smaps field of that mapping; fail()s if there is none. */
long test_smaps_kb(unsigned long addr, const char *field);
/* The number in field @field ("Seccomp", "NoNewPrivs"...) of /proc/self/status; fail()s if none. */
long test_status_long(const char *field);

/* 1 if the VmFlags of that mapping hold the mnemonic @flag ("dc", "lo"...), else 0. */
int test_vmflag(unsigned long addr, const char *flag);

/*
 * Wait until task @tid (a process or any thread) sits in syscall @nr
 * (/proc/TID/syscall starts with it); fail()s after 5 s.
 */
void test_wait_syscall(pid_t tid, long nr);

/*
 * 1 if a read fault on fresh private anonymous memory maps the shared zero
 * page, 0 if it allocates a page (a kernel booted with pvm_no_zero_page, say).
 */
int test_zero_page(void);
/* 1 if no page of [@p, @p + @len) is resident (mincore): never touched, so zero. */
int test_untouched(const void *p, size_t len);

/* 1 if reading (@write == 0) or writing the byte at @p faults, else 0. */
int test_faults(volatile void *p, int write);

/* Checks that fail() with file and line on a mismatch. */
#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond))                                                              \
			fail("%s:%d: %s", __FILE__, __LINE__, #cond);                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                    \
	do {                                                                              \
		long long __a = (long long)(a), __b = (long long)(b);                     \
		if (__a != __b)                                                           \
			fail("%s:%d: %s == %lld, expected %s == %lld", __FILE__, __LINE__, \
			     #a, __a, #b, __b);                                           \
	} while (0)

/* fail() unless buf holds datagen(len, seed). */
#define CHECK_DATA(buf, len, seed)                                                        \
	do {                                                                              \
		ssize_t __off = datachk(buf, len, seed);                                  \
		if (__off >= 0)                                                           \
			fail("%s:%d: %s differs at offset %zd", __FILE__, __LINE__, #buf, \
			     __off);                                                      \
	} while (0)

#endif
