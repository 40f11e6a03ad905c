/* Live dump: a ring writer racing the dump leaves one cut (v, then v-1), no later page. */
/*
 * A ring of N pages (256 MiB by default, or the MiB given as the first
 * argument), or, with a second argument W, W threads each writing a ring of
 * its own, N/W pages of the same mapping: the image must show one cut per
 * writer, all of the same instant. Each writer stores the sequence number s into page s mod N, as
 * fast as it can, from before the dump until SIGTERM: s at the start of the
 * page and ~s at its end; the words in between hold a fixed pattern. Before it
 * writes s it checks that the page holds s - N and the page before holds s - 1:
 * a restored image that mixes pages from after the freeze with pages from
 * before breaks that, as does a write-protection fault that lost or tore a
 * page. A violation is recorded and reported at SIGTERM, after which the whole
 * ring must show exactly one cut: every page k holds the last s < next with
 * s = k mod N.
 *
 * With a third argument "procs", the ring is MAP_SHARED|MAP_ANONYMOUS memory
 * and writers 1..W-1 are child processes: the dump must stream that memory
 * too and keep each child's writes through its own mapping out of the image.
 * Each process splits its mapping around its own slice, so that the object
 * is mapped in pieces at different offsets.
 *
 * With "file" instead, the ring is a MAP_PRIVATE mapping of a file (its
 * written pages copies of the file's): a live dump with a holder streams
 * those from the holder's copy, the splice hold saves them frozen.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DEFAULT_MIB	256
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))
#define LAST		(WORDS - 1)

#define MAX_WRITERS	16

struct ring {
	volatile uint64_t *base;
	unsigned long npages;
	uint64_t next;			/* the writer's next sequence number, once stopped */
	pthread_t th;
	volatile int lapped;		/* a lap done: at full speed */
	char err[256];			/* procs: what the writer recorded */
};

static struct ring *rings;		/* procs: shared with the writers */
static int nr_writers = 1;
static int procs;
static int file;			/* the ring maps a file, MAP_PRIVATE */
static pid_t pids[MAX_WRITERS];		/* procs: the writers' processes */

static uint64_t fill(unsigned long k, unsigned long i)
{
	return ((uint64_t)k << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static volatile uint64_t *page(const struct ring *r, uint64_t s)
{
	return r->base + (s % r->npages) * WORDS;
}

static void setup_ring(struct ring *r)
{
	unsigned long k, i;

	for (k = 0; k < r->npages; k++) {
		volatile uint64_t *p = r->base + k * WORDS;
		/*
		 * As if the writer had come halfway round: pages below N/2 hold
		 * their first-lap value N + k, the others k. The writer starts at
		 * the middle, ahead of a dump streaming from the start, so a page
		 * it writes before the streamer gets there shows up in the image
		 * if the dump lets it through.
		 */
		uint64_t s = k < r->npages / 2 ? r->npages + k : k;

		p[0] = s;
		for (i = 1; i < LAST; i++)
			p[i] = fill(k, i);
		p[LAST] = ~s;
	}
}

static void setup(size_t mib)
{
	size_t size = mib << 20;
	unsigned long npages = size / PAGE_SIZE / nr_writers;
	volatile uint64_t *ring;

	int flags = (procs ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
	char path[PATH_MAX];
	int fd = -1;

	if (file) {
		test_path(path, sizeof(path), "ring");
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, size))
			fail("%s: %m", path);
	}
	rings = mmap(NULL, MAX_WRITERS * sizeof(*rings), PROT_READ | PROT_WRITE, flags, -1, 0);
	ring = mmap(NULL, size, PROT_READ | PROT_WRITE, file ? MAP_PRIVATE : flags, fd, 0);
	if (rings == MAP_FAILED || ring == MAP_FAILED)
		fail("mmap %zu MiB: %m", mib);
	if (fd >= 0)
		close(fd);
	madvise((void *)ring, size, MADV_POPULATE_WRITE);	/* only faster, not needed */
	for (int w = 0; w < nr_writers; w++) {
		rings[w].base = ring + w * npages * WORDS;
		rings[w].npages = npages;
		setup_ring(&rings[w]);
	}
}

static int all_lapped(void)
{
	for (int w = 0; w < nr_writers; w++)
		if (!rings[w].lapped)
			return 0;
	return 1;
}

/* Write until SIGTERM or a violation; the next sequence number goes to r->next. */
static void write_ring(struct ring *r)
{
	uint64_t n = r->npages, s = n + n / 2, ready_at = s + n;
	int ready = 0;

	while (!test_sigterm) {
		/*
		 * Ready once every writer has done a lap: the dump then meets
		 * them at full speed. The main thread's writer says so.
		 */
		if (s == ready_at)
			r->lapped = 1;
		if (!ready && r == rings && r->lapped && all_lapped()) {
			test_ready();
			ready = 1;
		}
		volatile uint64_t *p = page(r, s), *prev = page(r, s - 1);
		uint64_t head = p[0], tail = p[LAST], before = prev[0];

		if (head != s - n || tail != ~(s - n)) {
			test_record("ring %ld, before seq %llu: page %lu holds %llu and ~%#llx, "
				    "expected %llu",
				    (long)(r - rings), (unsigned long long)s, (unsigned long)(s % n),
				    (unsigned long long)head, (unsigned long long)~tail,
				    (unsigned long long)(s - n));
			break;
		}
		if (before != s - 1) {
			test_record("ring %ld, before seq %llu: the previous page %lu holds %llu",
				    (long)(r - rings), (unsigned long long)s,
				    (unsigned long)((s - 1) % n), (unsigned long long)before);
			break;
		}
		p[0] = s;
		p[LAST] = ~s;
		s++;
	}
	r->next = s;
}

static void *writer(void *arg)
{
	write_ring(arg);
	return NULL;
}

/* Every page k holds the last s < next with s = k mod N: one cut, at next. */
static void check_ring(const struct ring *r)
{
	uint64_t next = r->next, n = r->npages;
	unsigned long k, i;

	for (k = 0; k < n; k++) {
		volatile uint64_t *p = r->base + k * WORDS;
		uint64_t want = next - 1 - (next - 1 - k) % n;

		if (p[0] != want || p[LAST] != ~want)
			fail("ring %ld: page %lu holds %llu and ~%#llx, expected %llu (next %llu, "
			     "lap %llu)",
			     (long)(r - rings), k, (unsigned long long)p[0],
			     (unsigned long long)~p[LAST], (unsigned long long)want,
			     (unsigned long long)next, (unsigned long long)(next / n));
		for (i = 1; i < LAST; i++)
			if (p[i] != fill(k, i))
				fail("ring %ld: page %lu word %lu is %#llx, expected %#llx",
				     (long)(r - rings), k, i, (unsigned long long)p[i],
				     (unsigned long long)fill(k, i));
	}
}

/* The other writers, threads that leave SIGTERM to the main thread. */
static void start_writers(void)
{
	sigset_t m, old;

	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &m, &old);
	for (int w = 1; w < nr_writers; w++)
		if (pthread_create(&rings[w].th, NULL, writer, &rings[w]))
			fail("pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Split the mapping around writer @w's slice (a flag change splits a VMA):
 * each process then maps the object in pieces at different offsets.
 */
static void split_at(int w)
{
	if (madvise((void *)rings[w].base, rings[w].npages * PAGE_SIZE, MADV_NOHUGEPAGE))
		fail("madvise(MADV_NOHUGEPAGE): %m");
}

/* Or child processes, which get SIGTERM from the main one. */
static void start_procs(void)
{
	for (int w = 1; w < nr_writers; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			fail("fork: %m");
		if (pids[w])
			continue;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		split_at(w);
		write_ring(&rings[w]);
		if (test_recorded())
			snprintf(rings[w].err, sizeof(rings[w].err), "%s", test_recorded());
		_exit(0);
	}
}

static void stop_procs(void)
{
	for (int w = 1; w < nr_writers; w++) {
		int status, tries = 0;

		kill(pids[w], SIGTERM);
		while (waitpid(pids[w], &status, WNOHANG) != pids[w])
			if (++tries > 5000)
				fail("writer %d (pid %d) did not stop", w, pids[w]);
			else
				usleep(1000);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("writer %d (pid %d) ended with status %#x", w, pids[w], status);
		if (rings[w].err[0])
			fail("writer %d: %s", w, rings[w].err);
	}
}

static void stop_threads(void)
{
	for (int w = 1; w < nr_writers; w++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_timedjoin_np(rings[w].th, NULL, &ts))
			fail("writer %d did not stop", w);
	}
}

int main(int argc, char **argv)
{
	size_t mib = DEFAULT_MIB;
	uint64_t writes = 0;

	test_init(argc, argv);
	if (test_argc > 1)
		mib = strtoul(test_argv[1], NULL, 0);
	if (test_argc > 2)
		nr_writers = strtol(test_argv[2], NULL, 0);
	if (!mib)
		fail("bad ring size '%s' (MiB)", test_argv[1]);
	if (nr_writers < 1 || nr_writers > MAX_WRITERS)
		fail("bad number of writers '%s' (1..%d)", test_argv[2], MAX_WRITERS);
	if (test_argc > 3 && strcmp(test_argv[3], "procs") && strcmp(test_argv[3], "file"))
		fail("bad ring kind '%s' (procs, file)", test_argv[3]);
	procs = test_argc > 3 && !strcmp(test_argv[3], "procs");
	file = test_argc > 3 && !strcmp(test_argv[3], "file");
	setup(mib);

	test_daemon();
	if (procs) {
		start_procs();
		split_at(0);
	} else {
		start_writers();
	}
	write_ring(&rings[0]);
	test_waitsig();
	if (procs)
		stop_procs();
	else
		stop_threads();

	if (test_recorded())
		fail("%s", test_recorded());
	for (int w = 0; w < nr_writers; w++) {
		check_ring(&rings[w]);
		writes += rings[w].next - rings[w].npages;
	}
	test_msg("%llu writes by %d writers\n", (unsigned long long)writes, nr_writers);
	pass();
	return 0;
}
