/* All 512 bits of zmm0-31 and all 64 bits of k0-7 keep their values. */
#include <cpuid.h>
#include <string.h>
#include <sys/syscall.h>

#include "zdtmtst.h"

static unsigned char in[32][64], out[32][64];
static uint64_t kin[8], kout[8];

static int have_avx512(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX512F) ||
	    !(b & bit_AVX512BW))	/* kmovq */
		return 0;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 0xe6) == 0xe6;	/* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
}

#define LD(n)	"vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n\t"
#define ST(n)	"vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n\t"
#define KLD(n)	"kmovq " #n "*8(%[kin]), %%k" #n "\n\t"
#define KST(n)	"kmovq %%k" #n ", " #n "*8(%[kout])\n\t"

int main(int argc, char **argv)
{
	sigset_t mask;
	int i;

	test_init(argc, argv);
	if (!have_avx512())
		skip("no AVX-512F/BW");
	datagen(in, sizeof(in), 0x512);
	datagen(kin, sizeof(kin), 0x4b4b);

	test_daemon();
	test_ready();
	test_block_sigterm(&mask);
	asm volatile(LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7)
		     LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)
		     LD(16) LD(17) LD(18) LD(19) LD(20) LD(21) LD(22) LD(23)
		     LD(24) LD(25) LD(26) LD(27) LD(28) LD(29) LD(30) LD(31)
		     KLD(0) KLD(1) KLD(2) KLD(3) KLD(4) KLD(5) KLD(6) KLD(7)
		     "1:\n\t"
		     "mov %[nr], %%eax\n\t"
		     "syscall\n\t"
		     "cmpl $0, %[flag]\n\t"
		     "je 1b\n\t"
		     ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7)
		     ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
		     ST(16) ST(17) ST(18) ST(19) ST(20) ST(21) ST(22) ST(23)
		     ST(24) ST(25) ST(26) ST(27) ST(28) ST(29) ST(30) ST(31)
		     KST(0) KST(1) KST(2) KST(3) KST(4) KST(5) KST(6) KST(7)
		     "vzeroupper\n\t"
		     :
		     : [in] "r"(in), [out] "r"(out), [kin] "r"(kin), [kout] "r"(kout),
		       [nr] "i"(SYS_rt_sigsuspend), [flag] "m"(test_sigterm), "D"(&mask), "S"(8UL)
		     : "rax", "rcx", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		       "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		       "xmm14", "xmm15");
	test_unblock_sigterm();

	for (i = 0; i < 32; i++)
		if (memcmp(out[i], in[i], 64))
			fail("zmm%d changed", i);
	for (i = 0; i < 8; i++)
		if (kout[i] != kin[i])
			fail("k%d is %#llx, expected %#llx", i, (unsigned long long)kout[i],
			     (unsigned long long)kin[i]);
	pass();
	return 0;
}
