/* x87 stack and control word, xmm0-15 and MXCSR keep their values across checkpoint/restore. */
#include <string.h>
#include <sys/syscall.h>

#include "zdtmtst.h"

struct fpu_state {
	unsigned char xmm[16][16];
	unsigned char st[8][10];	/* fstpt images, top of stack first */
	uint32_t mxcsr;
	uint16_t fcw;
};

static struct fpu_state in, out;
static const double st_in[8] = {
	3.14159265358979, -2.718281828, 1e300, -1e-300, 42.0, 0.1, 1.0 / 3, -0.0,
};
static const uint32_t mxcsr_in = 0xffc0;	/* masks, DAZ, round to zero, FTZ */
static const uint16_t fcw_in = 0x0f7f;		/* masks, 64-bit precision, truncate */

/*
 * Load everything, optionally wait for SIGTERM in rt_sigsuspend (no C code in
 * between that could touch the registers), store everything into @out, and
 * put the default control words back.
 */
static void load_wait_store(int wait, sigset_t *mask)
{
	static const uint32_t mxcsr_default = 0x1f80;
	static const uint16_t fcw_default = 0x037f;

	asm volatile("fldcw %[fcw]\n\t"
		     "fldl 56(%[st])\n\t"
		     "fldl 48(%[st])\n\t"
		     "fldl 40(%[st])\n\t"
		     "fldl 32(%[st])\n\t"
		     "fldl 24(%[st])\n\t"
		     "fldl 16(%[st])\n\t"
		     "fldl 8(%[st])\n\t"
		     "fldl 0(%[st])\n\t"
		     "ldmxcsr %[mxcsr]\n\t"
		     "movdqu 0x00(%[x]), %%xmm0\n\t"
		     "movdqu 0x10(%[x]), %%xmm1\n\t"
		     "movdqu 0x20(%[x]), %%xmm2\n\t"
		     "movdqu 0x30(%[x]), %%xmm3\n\t"
		     "movdqu 0x40(%[x]), %%xmm4\n\t"
		     "movdqu 0x50(%[x]), %%xmm5\n\t"
		     "movdqu 0x60(%[x]), %%xmm6\n\t"
		     "movdqu 0x70(%[x]), %%xmm7\n\t"
		     "movdqu 0x80(%[x]), %%xmm8\n\t"
		     "movdqu 0x90(%[x]), %%xmm9\n\t"
		     "movdqu 0xa0(%[x]), %%xmm10\n\t"
		     "movdqu 0xb0(%[x]), %%xmm11\n\t"
		     "movdqu 0xc0(%[x]), %%xmm12\n\t"
		     "movdqu 0xd0(%[x]), %%xmm13\n\t"
		     "movdqu 0xe0(%[x]), %%xmm14\n\t"
		     "movdqu 0xf0(%[x]), %%xmm15\n\t"
		     "test %[wait], %[wait]\n\t"
		     "jz 2f\n\t"
		     "1:\n\t"
		     "mov %[nr], %%eax\n\t"
		     "syscall\n\t"
		     "cmpl $0, %[flag]\n\t"
		     "je 1b\n\t"
		     "2:\n\t"
		     "movdqu %%xmm0, 0x00(%[ox])\n\t"
		     "movdqu %%xmm1, 0x10(%[ox])\n\t"
		     "movdqu %%xmm2, 0x20(%[ox])\n\t"
		     "movdqu %%xmm3, 0x30(%[ox])\n\t"
		     "movdqu %%xmm4, 0x40(%[ox])\n\t"
		     "movdqu %%xmm5, 0x50(%[ox])\n\t"
		     "movdqu %%xmm6, 0x60(%[ox])\n\t"
		     "movdqu %%xmm7, 0x70(%[ox])\n\t"
		     "movdqu %%xmm8, 0x80(%[ox])\n\t"
		     "movdqu %%xmm9, 0x90(%[ox])\n\t"
		     "movdqu %%xmm10, 0xa0(%[ox])\n\t"
		     "movdqu %%xmm11, 0xb0(%[ox])\n\t"
		     "movdqu %%xmm12, 0xc0(%[ox])\n\t"
		     "movdqu %%xmm13, 0xd0(%[ox])\n\t"
		     "movdqu %%xmm14, 0xe0(%[ox])\n\t"
		     "movdqu %%xmm15, 0xf0(%[ox])\n\t"
		     "stmxcsr %[omxcsr]\n\t"
		     "fnstcw %[ofcw]\n\t"
		     "fstpt 0(%[ost])\n\t"
		     "fstpt 10(%[ost])\n\t"
		     "fstpt 20(%[ost])\n\t"
		     "fstpt 30(%[ost])\n\t"
		     "fstpt 40(%[ost])\n\t"
		     "fstpt 50(%[ost])\n\t"
		     "fstpt 60(%[ost])\n\t"
		     "fstpt 70(%[ost])\n\t"
		     "ldmxcsr %[mxcsr_def]\n\t"
		     "fldcw %[fcw_def]\n\t"
		     : [omxcsr] "=m"(out.mxcsr), [ofcw] "=m"(out.fcw)
		     : [x] "r"(in.xmm), [ox] "r"(out.xmm), [st] "r"(st_in), [ost] "r"(out.st),
		       [mxcsr] "m"(mxcsr_in), [fcw] "m"(fcw_in), [mxcsr_def] "m"(mxcsr_default),
		       [fcw_def] "m"(fcw_default), [wait] "r"(wait), [nr] "i"(SYS_rt_sigsuspend),
		       [flag] "m"(test_sigterm), "D"(mask), "S"(8UL)
		     : "rax", "rcx", "r11", "memory", "cc", "st", "st(1)", "st(2)", "st(3)",
		       "st(4)", "st(5)", "st(6)", "st(7)", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		       "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		       "xmm14", "xmm15");
}

int main(int argc, char **argv)
{
	struct fpu_state ref;
	sigset_t mask;
	int i;

	test_init(argc, argv);
	datagen(in.xmm, sizeof(in.xmm), 0x5e5e);

	/* A run without the wait gives the x87 images to expect. */
	sigemptyset(&mask);
	load_wait_store(0, &mask);
	ref = out;
	if (memcmp(ref.xmm, in.xmm, sizeof(in.xmm)) || ref.mxcsr != mxcsr_in || ref.fcw != fcw_in)
		fail("reference run does not read back what it loaded");
	memset(&out, 0, sizeof(out));

	test_daemon();
	test_ready();
	test_block_sigterm(&mask);
	load_wait_store(1, &mask);
	test_unblock_sigterm();

	for (i = 0; i < 16; i++)
		if (memcmp(out.xmm[i], ref.xmm[i], 16))
			fail("xmm%d changed", i);
	for (i = 0; i < 8; i++)
		if (memcmp(out.st[i], ref.st[i], 10))
			fail("st(%d) changed", i);
	if (out.mxcsr != ref.mxcsr)
		fail("mxcsr is %#x, expected %#x", out.mxcsr, ref.mxcsr);
	if (out.fcw != ref.fcw)
		fail("x87 control word is %#x, expected %#x", out.fcw, ref.fcw);
	pass();
	return 0;
}
