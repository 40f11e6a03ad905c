/* __thread variables, the fs base (ARCH_GET_FS) and a gs base set with ARCH_SET_GS survive. */
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static __thread uint64_t tls_val = 0x1234;
static __thread unsigned char tls_buf[300];
static uint64_t gs_area[4] = { 0x6a6a6a6a12345678ULL, 1, 2, 3 };

static unsigned long get_base(int code)
{
	unsigned long base;

	if (syscall(SYS_arch_prctl, code, &base))
		fail("arch_prctl(%#x): %m", code);
	return base;
}

int main(int argc, char **argv)
{
	unsigned long fs, gs, fs_self, gs_word;
	void *val_addr;

	test_init(argc, argv);
	tls_val = 0xfeedfacecafebeefULL;
	datagen(tls_buf, sizeof(tls_buf), 77);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)gs_area))
		fail("ARCH_SET_GS: %m");

	test_daemon();
	fs = get_base(ARCH_GET_FS);
	gs = get_base(ARCH_GET_GS);
	val_addr = (void *)&tls_val;

	test_waitsig();

	CHECK_EQ(get_base(ARCH_GET_FS), fs);
	CHECK_EQ(get_base(ARCH_GET_GS), gs);
	CHECK_EQ(gs, (unsigned long)gs_area);
	/* The bases are live, not just reported: read through the segments. */
	asm volatile("mov %%fs:0, %0" : "=r"(fs_self));
	asm volatile("mov %%gs:0, %0" : "=r"(gs_word));
	CHECK_EQ(fs_self, fs);	/* the TCB points to itself */
	CHECK_EQ(gs_word, gs_area[0]);
	if ((void *)&tls_val != val_addr)
		fail("&tls_val moved from %p to %p", val_addr, (void *)&tls_val);
	CHECK_EQ(tls_val, 0xfeedfacecafebeefULL);
	CHECK_DATA(tls_buf, sizeof(tls_buf), 77);
	pass();
	return 0;
}
