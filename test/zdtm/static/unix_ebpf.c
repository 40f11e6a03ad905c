/*
 * For bad/dump_unix_ebpf: a unix socket with an eBPF socket filter
 * (SO_ATTACH_BPF), which snap cannot read back and refuses. The test checks
 * the filter is still attached after the refused dump.
 */
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>

#include "zdtmtst.h"
#include "unix-util.h"

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif

int main(int argc, char **argv)
{
	/* r0 = 0xffffffff (keep the whole packet); exit */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int sv[2], prog;
	socklen_t len = 0;

	test_init(argc, argv);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	prog = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (prog < 0)
		skip("cannot load an eBPF socket filter: %m");
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ||
	    setsockopt(sv[1], SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)))
		fail("SO_ATTACH_BPF: %m");
	/* The socket holds the program; an fd of it would be refused first. */
	close(prog);
	sk_send(sv[0], 10, 1);

	test_daemon();
	test_waitsig();

	if (!getsockopt(sv[1], SOL_SOCKET, SO_GET_FILTER, NULL, &len) || errno != EACCES)
		fail("the eBPF filter is gone");
	sk_expect_msg(sv[1], 10, 1);
	pass();
	return 0;
}
