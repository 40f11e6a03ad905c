/* General-purpose registers (rbx, rdx, r8-r10, r12-r15) keep their values. */
#include <stdio.h>
#include <sys/syscall.h>

#include "zdtmtst.h"

#define NREGS 9

static const char *const names[NREGS] = {
	"rbx", "rdx", "r8", "r9", "r10", "r12", "r13", "r14", "r15",
};

static const uint64_t want[NREGS] = {
	0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x8000000000000001ULL,
	0x5555aaaa5555aaaaULL, 0xdeadbeefcafef00dULL, 0x1111222233334444ULL,
	0xa5a5a5a55a5a5a5aULL, 0x7fffffffffffffffULL, 0x0000000100000002ULL,
};

static uint64_t got[NREGS];

int main(int argc, char **argv)
{
	sigset_t mask;
	int i;

	test_init(argc, argv);
	test_daemon();
	test_ready();
	test_block_sigterm(&mask);

	/*
	 * Load the registers, wait for SIGTERM with rt_sigsuspend (the kernel
	 * preserves everything but rax, rcx and r11 across a syscall), store.
	 */
	asm volatile("movabs $0x0123456789abcdef, %%rbx\n\t"
		     "movabs $0xfedcba9876543210, %%rdx\n\t"
		     "movabs $0x8000000000000001, %%r8\n\t"
		     "movabs $0x5555aaaa5555aaaa, %%r9\n\t"
		     "movabs $0xdeadbeefcafef00d, %%r10\n\t"
		     "movabs $0x1111222233334444, %%r12\n\t"
		     "movabs $0xa5a5a5a55a5a5a5a, %%r13\n\t"
		     "movabs $0x7fffffffffffffff, %%r14\n\t"
		     "movabs $0x0000000100000002, %%r15\n\t"
		     "1:\n\t"
		     "mov %[nr], %%eax\n\t"
		     "syscall\n\t"
		     "cmpl $0, %[flag]\n\t"
		     "je 1b\n\t"
		     "mov %%rbx, %[o0]\n\t"
		     "mov %%rdx, %[o1]\n\t"
		     "mov %%r8, %[o2]\n\t"
		     "mov %%r9, %[o3]\n\t"
		     "mov %%r10, %[o4]\n\t"
		     "mov %%r12, %[o5]\n\t"
		     "mov %%r13, %[o6]\n\t"
		     "mov %%r14, %[o7]\n\t"
		     "mov %%r15, %[o8]\n\t"
		     : [o0] "=m"(got[0]), [o1] "=m"(got[1]), [o2] "=m"(got[2]),
		       [o3] "=m"(got[3]), [o4] "=m"(got[4]), [o5] "=m"(got[5]),
		       [o6] "=m"(got[6]), [o7] "=m"(got[7]), [o8] "=m"(got[8])
		     : [nr] "i"(SYS_rt_sigsuspend), [flag] "m"(test_sigterm), "D"(&mask),
		       "S"(8UL)
		     : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
		       "r15", "memory", "cc");
	test_unblock_sigterm();

	for (i = 0; i < NREGS; i++)
		if (got[i] != want[i])
			fail("%s is %#llx, expected %#llx", names[i], (unsigned long long)got[i],
			     (unsigned long long)want[i]);
	pass();
	return 0;
}
