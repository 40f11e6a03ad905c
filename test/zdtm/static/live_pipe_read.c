/* Live dump while read() from a pipe fills a big buffer: the kernel's writes to it get through. */
/*
 * The buffer (256 MiB) is a ring of 32 KiB slots. Until SIGTERM the test
 * writes the data of sequence number s into a pipe of its own and reads it
 * back into slot s mod N with read() or readv() (alternately), at an odd
 * offset so that the copy starts and ends inside a page. In a live dump the
 * pages it reads into are write-protected: the kernel's copy must wait for
 * snap like a user-space store would, not fail with EFAULT or come back
 * short. Before each read the slot must still hold the data of s - N, after
 * it the data of s; the bytes around the data keep their filler. A violation
 * is recorded and reported at SIGTERM, when every slot is checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BUF_SIZE	(256UL << 20)
#define SLOT		(32UL << 10)
#define NSLOTS		(BUF_SIZE / SLOT)
#define OFF		45		/* the data's offset in its slot */
#define LEN		(SLOT - 96)	/* bytes per read: fits an empty pipe */
#define FILLER		0xa5

static unsigned char *buf;
static uint64_t src[LEN / 8];
static int pfd[2];

/* The data of sequence number @s into src[]. */
static void gen(uint64_t s)
{
	unsigned long i;

	for (i = 0; i < ARRAY_SIZE(src); i++)
		src[i] = (s << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static unsigned char *slot(uint64_t s)
{
	return buf + (s % NSLOTS) * SLOT;
}

/* Slot of @s holds the data of @s and its filler; src[] is left holding that data. */
static int check_slot(uint64_t s, const char *when)
{
	unsigned char *p = slot(s);
	unsigned long i;

	gen(s);
	if (memcmp(p + OFF, src, LEN)) {
		for (i = 0; p[OFF + i] == ((unsigned char *)src)[i]; i++)
			;
		test_record("%s: slot %lu differs from the data of seq %llu at byte %lu",
		       when, (unsigned long)(s % NSLOTS), (unsigned long long)s, OFF + i);
		return 0;
	}
	for (i = 0; i < SLOT; i++) {
		if (i == OFF)
			i += LEN;
		if (p[i] != FILLER) {
			test_record("%s: slot %lu byte %lu is %#x, expected the filler", when,
			       (unsigned long)(s % NSLOTS), i, p[i]);
			return 0;
		}
	}
	return 1;
}

static void setup(void)
{
	uint64_t s;

	if (pipe(pfd))
		fail("pipe: %m");
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		fail("mmap: %m");
	madvise(buf, BUF_SIZE, MADV_POPULATE_WRITE);	/* only faster, not needed */
	memset(buf, FILLER, BUF_SIZE);
	/* As if seqs 0..N-1 had been read: the first lap reads N.. */
	for (s = 0; s < NSLOTS; s++) {
		gen(s);
		memcpy(slot(s) + OFF, src, LEN);
	}
}

/* Move the data of @s through the pipe into its slot. */
static int transfer(uint64_t s)
{
	unsigned char *dst = slot(s) + OFF;
	size_t done = 0;
	ssize_t n;

	gen(s);
	n = write(pfd[1], src, LEN);
	if (n != (ssize_t)LEN) {
		test_record("write %lu bytes to the pipe: %s", LEN, n < 0 ? strerror(errno) : "short");
		return 0;
	}
	while (done < LEN) {
		if (s & 1) {
			struct iovec iov[2] = {
				{ dst + done, (LEN - done) / 3 },
				{ dst + done + (LEN - done) / 3, LEN - done - (LEN - done) / 3 },
			};

			n = readv(pfd[0], iov, 2);
		} else {
			n = read(pfd[0], dst + done, LEN - done);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			test_record("%s into slot %lu at byte %zu (seq %llu): %s",
			       s & 1 ? "readv" : "read", (unsigned long)(s % NSLOTS), OFF + done,
			       (unsigned long long)s, n < 0 ? strerror(errno) : "end of file");
			return 0;
		}
		done += n;
	}
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t s, next;
	int avail;

	test_init(argc, argv);
	setup();

	test_daemon();
	test_ready();
	for (next = NSLOTS; !test_sigterm; next++)
		if (!check_slot(next - NSLOTS, "before the read") || !transfer(next) ||
		    !check_slot(next, "after the read"))
			break;
	test_waitsig();

	if (test_recorded())
		fail("%s", test_recorded());
	if (ioctl(pfd[0], FIONREAD, &avail) || avail)
		fail("%d bytes left in the pipe", avail);
	for (s = next - NSLOTS; s < next; s++)
		if (!check_slot(s, "at the end"))
			fail("%s", test_recorded());
	test_msg("%llu reads, %llu laps\n", (unsigned long long)(next - NSLOTS),
		 (unsigned long long)(next / NSLOTS - 1));
	pass();
	return 0;
}
