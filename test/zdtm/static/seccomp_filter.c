/*
 * Two stacked seccomp filters survive and still act: the older one makes
 * getppid() fail with errno 1234, the newer one (installed with the LOG flag)
 * makes uname() fail with 2345 and kills the process on socket(), which the
 * dump's parasite calls: snap must keep its own syscalls out of the filter.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "zdtmtst.h"

#define GETPPID_ERRNO 1234
#define UNAME_ERRNO   2345

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(val)    BPF_STMT(BPF_RET | BPF_K, (val))
/* if nr == @nr return @val, else go on */
#define ON(nr, val) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(val)

static void install(struct sock_filter *insns, unsigned short len, unsigned int flags)
{
	struct sock_fprog prog = {.len = len, .filter = insns};

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog))
		fail("seccomp: %m");
}

int main(int argc, char **argv)
{
	struct sock_filter older[] = {
		LOAD(arch),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_ALLOW),
		LOAD(nr),
		ON(__NR_getppid, SECCOMP_RET_ERRNO | GETPPID_ERRNO),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_filter newer[] = {
		LOAD(arch),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_ALLOW),
		LOAD(nr),
		ON(__NR_uname, SECCOMP_RET_ERRNO | UNAME_ERRNO),
		ON(__NR_socket, SECCOMP_RET_KILL_PROCESS),
		RET(SECCOMP_RET_ALLOW),
	};
	struct utsname u;

	test_init(argc, argv);
	test_daemon();

	install(older, ARRAY_SIZE(older), 0);
	install(newer, ARRAY_SIZE(newer), SECCOMP_FILTER_FLAG_LOG);

	test_waitsig();

	CHECK_EQ(test_status_long("Seccomp"), SECCOMP_MODE_FILTER);
	CHECK_EQ(test_status_long("Seccomp_filters"), 2);
	errno = 0;
	CHECK_EQ(syscall(SYS_getppid), -1);
	CHECK_EQ(errno, GETPPID_ERRNO);
	errno = 0;
	CHECK_EQ(uname(&u), -1);
	CHECK_EQ(errno, UNAME_ERRNO);
	CHECK_EQ(syscall(SYS_getpid), getpid());
	pass();
	return 0;
}
