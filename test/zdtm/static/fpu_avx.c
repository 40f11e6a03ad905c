/* All 256 bits of ymm0-15 keep their values across checkpoint/restore. */
#include <cpuid.h>
#include <string.h>
#include <sys/syscall.h>

#include "zdtmtst.h"

static unsigned char in[16][32], out[16][32];

static int have_avx(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_AVX) || !(c & bit_OSXSAVE))
		return 0;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;	/* the OS saves SSE and AVX state */
}

int main(int argc, char **argv)
{
	sigset_t mask;
	int i;

	test_init(argc, argv);
	if (!have_avx())
		skip("no AVX");
	datagen(in, sizeof(in), 0xa7a7);

	test_daemon();
	test_ready();
	test_block_sigterm(&mask);
	asm volatile("vmovdqu 0x000(%[in]), %%ymm0\n\t"
		     "vmovdqu 0x020(%[in]), %%ymm1\n\t"
		     "vmovdqu 0x040(%[in]), %%ymm2\n\t"
		     "vmovdqu 0x060(%[in]), %%ymm3\n\t"
		     "vmovdqu 0x080(%[in]), %%ymm4\n\t"
		     "vmovdqu 0x0a0(%[in]), %%ymm5\n\t"
		     "vmovdqu 0x0c0(%[in]), %%ymm6\n\t"
		     "vmovdqu 0x0e0(%[in]), %%ymm7\n\t"
		     "vmovdqu 0x100(%[in]), %%ymm8\n\t"
		     "vmovdqu 0x120(%[in]), %%ymm9\n\t"
		     "vmovdqu 0x140(%[in]), %%ymm10\n\t"
		     "vmovdqu 0x160(%[in]), %%ymm11\n\t"
		     "vmovdqu 0x180(%[in]), %%ymm12\n\t"
		     "vmovdqu 0x1a0(%[in]), %%ymm13\n\t"
		     "vmovdqu 0x1c0(%[in]), %%ymm14\n\t"
		     "vmovdqu 0x1e0(%[in]), %%ymm15\n\t"
		     "1:\n\t"
		     "mov %[nr], %%eax\n\t"
		     "syscall\n\t"
		     "cmpl $0, %[flag]\n\t"
		     "je 1b\n\t"
		     "vmovdqu %%ymm0, 0x000(%[out])\n\t"
		     "vmovdqu %%ymm1, 0x020(%[out])\n\t"
		     "vmovdqu %%ymm2, 0x040(%[out])\n\t"
		     "vmovdqu %%ymm3, 0x060(%[out])\n\t"
		     "vmovdqu %%ymm4, 0x080(%[out])\n\t"
		     "vmovdqu %%ymm5, 0x0a0(%[out])\n\t"
		     "vmovdqu %%ymm6, 0x0c0(%[out])\n\t"
		     "vmovdqu %%ymm7, 0x0e0(%[out])\n\t"
		     "vmovdqu %%ymm8, 0x100(%[out])\n\t"
		     "vmovdqu %%ymm9, 0x120(%[out])\n\t"
		     "vmovdqu %%ymm10, 0x140(%[out])\n\t"
		     "vmovdqu %%ymm11, 0x160(%[out])\n\t"
		     "vmovdqu %%ymm12, 0x180(%[out])\n\t"
		     "vmovdqu %%ymm13, 0x1a0(%[out])\n\t"
		     "vmovdqu %%ymm14, 0x1c0(%[out])\n\t"
		     "vmovdqu %%ymm15, 0x1e0(%[out])\n\t"
		     "vzeroupper\n\t"
		     :
		     : [in] "r"(in), [out] "r"(out), [nr] "i"(SYS_rt_sigsuspend),
		       [flag] "m"(test_sigterm), "D"(&mask), "S"(8UL)
		     : "rax", "rcx", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		       "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		       "xmm14", "xmm15");
	test_unblock_sigterm();

	for (i = 0; i < 16; i++) {
		if (memcmp(out[i], in[i], 16))
			fail("ymm%d: low 128 bits changed", i);
		if (memcmp(out[i] + 16, in[i] + 16, 16))
			fail("ymm%d: high 128 bits changed", i);
	}
	pass();
	return 0;
}
