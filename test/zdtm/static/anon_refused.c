/*
 * A process holding, at fd 77, an fd snap refuses: argv[1] is io_uring,
 * bpf_map, perf_event or userfaultfd. The bad-input tests dump it and
 * expect one line naming pid, fd and kind; afterwards the fd must be
 * untouched: still there, the same file, and working.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "anon-fdinfo.h"

#define FD 77

static int make(const char *kind)
{
	if (!strcmp(kind, "io_uring")) {
		struct io_uring_params p = { 0 };

		return syscall(__NR_io_uring_setup, 4, &p);
	}
	if (!strcmp(kind, "bpf_map")) {
		union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
				     .value_size = 8, .max_entries = 1 };

		return syscall(__NR_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	}
	if (!strcmp(kind, "perf_event")) {
		struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a),
					     .config = PERF_COUNT_SW_TASK_CLOCK,
					     .exclude_kernel = 1, .exclude_hv = 1 };

		return syscall(__NR_perf_event_open, &a, 0, -1, -1, 0);
	}
	if (!strcmp(kind, "userfaultfd")) {
		struct uffdio_api api = { .api = UFFD_API };
		int fd = syscall(__NR_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

		if (fd >= 0 && ioctl(fd, UFFDIO_API, &api))
			fail("UFFDIO_API: %m");
		return fd;
	}
	fail("unknown kind %s", kind);
}

/* The fd still does its job. */
static void works(const char *kind)
{
	if (!strcmp(kind, "perf_event")) {
		uint64_t v;

		if (read(FD, &v, sizeof(v)) != sizeof(v))
			fail("read perf counter: %m");
	} else if (!strcmp(kind, "bpf_map")) {
		uint32_t key = 0;
		uint64_t val = 0;
		union bpf_attr a = { .map_fd = FD, .key = (uintptr_t)&key,
				     .value = (uintptr_t)&val };

		if (syscall(__NR_bpf, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)))
			fail("bpf map lookup: %m");
		CHECK_EQ(val, 0x5eed);
	} else if (!strcmp(kind, "io_uring")) {
		if (syscall(__NR_io_uring_enter, FD, 0, 0, 0, NULL, 0) < 0)
			fail("io_uring_enter: %m");
	}
}

int main(int argc, char **argv)
{
	struct stat before, after;
	const char *kind;
	int fd;

	test_init(argc, argv);
	if (test_argc < 2)
		fail("which kind?");
	kind = test_argv[1];
	fd = make(kind);
	if (fd < 0)
		skip("%s: %m", kind);
	if (dup2(fd, FD) != FD)
		fail("dup2: %m");
	close(fd);
	if (!strcmp(kind, "bpf_map")) {
		uint32_t key = 0;
		uint64_t val = 0x5eed;
		union bpf_attr a = { .map_fd = FD, .key = (uintptr_t)&key,
				     .value = (uintptr_t)&val };

		if (syscall(__NR_bpf, BPF_MAP_UPDATE_ELEM, &a, sizeof(a)))
			fail("bpf map update: %m");
	}
	if (fstat(FD, &before))
		fail("fstat: %m");

	test_daemon();
	test_waitsig();

	if (fstat(FD, &after))
		fail("fd %d is gone: %m", FD);
	CHECK(before.st_ino == after.st_ino && before.st_dev == after.st_dev);
	works(kind);
	(void)errno;
	pass();
	return 0;
}
