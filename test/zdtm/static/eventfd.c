/*
 * eventfds keep their counter (beyond 32 bits), EFD_SEMAPHORE and
 * O_NONBLOCK, and a dup of one is still the same eventfd. fdinfo is checked
 * before any read, so that a leave-running dump that read the counter fails.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "anon-fdinfo.h"

#define BIG	((1ULL << 40) + 7)
#define DUP_FD	50

static uint64_t rd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		fail("read eventfd %d: %m", fd);
	return v;
}

static void wr(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		fail("write eventfd %d: %m", fd);
}

static void empty(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) >= 0 || errno != EAGAIN)
		fail("eventfd %d: more to read than expected", fd);
}

int main(int argc, char **argv)
{
	struct pollfd p;
	int big, sem, blk;

	test_init(argc, argv);
	big = eventfd(0, EFD_NONBLOCK);
	sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	blk = eventfd(0, 0);
	if (big < 0 || sem < 0 || blk < 0)
		fail("eventfd: %m");
	wr(big, BIG);
	if (dup2(big, DUP_FD) != DUP_FD)
		fail("dup2: %m");

	test_daemon();
	test_waitsig();

	CHECK_EQ(fdinfo_ull(big, "eventfd-count:", 16), BIG);
	CHECK_EQ(fdinfo_ull(sem, "eventfd-count:", 16), 3);
	CHECK_EQ(fdinfo_ull(blk, "eventfd-count:", 16), 0);
	CHECK_EQ(fdinfo_ull(sem, "eventfd-semaphore:", 10), 1);
	CHECK_EQ(fdinfo_ull(big, "eventfd-semaphore:", 10), 0);
	CHECK(fcntl(big, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(sem, F_GETFL) & O_NONBLOCK);
	CHECK(!(fcntl(blk, F_GETFL) & O_NONBLOCK));
	CHECK(same_file(getpid(), big, getpid(), DUP_FD));
	CHECK(!same_file(getpid(), big, getpid(), sem));

	/* Semaphore: one at a time. */
	CHECK_EQ(rd(sem), 1);
	CHECK_EQ(rd(sem), 1);
	CHECK_EQ(rd(sem), 1);
	empty(sem);
	/* Read through the dup: the whole count, once. */
	CHECK_EQ(rd(DUP_FD), BIG);
	empty(big);
	/* The blocking one is empty, and still an eventfd. */
	p = (struct pollfd){ .fd = blk, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 0), 0);
	wr(blk, 5);
	CHECK_EQ(rd(blk), 5);
	pass();
	return 0;
}
