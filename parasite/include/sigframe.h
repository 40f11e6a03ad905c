/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86_64 rt_sigframe, as rt_sigreturn(2) reads it. Both blobs end with
 * rt_sigreturn through a frame the host built: the parasite to put the target
 * back exactly as it was (cure), the restorer to enter the dumped registers.
 * Plain kernel uapi types, so the freestanding code can use it too.
 */
#ifndef SNAP_SIGFRAME_H
#define SNAP_SIGFRAME_H

#include <linux/types.h>

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define FPX_SW_OFFSET 464	/* fx_sw_bytes inside the legacy FXSAVE area */

/* Room for the XSAVE area (AVX-512 needs ~2.7 KiB, AMX ~11 KiB) + magic2. */
#define SIGFRAME_XSAVE_MAX (12 * 1024)

/* uapi struct sigcontext (x86_64); our own copy, as glibc's clashes with it. */
struct k_sigcontext {
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	__u16 cs, gs, fs, ss;
	__u64 err, trapno, oldmask, cr2;
	__u64 fpstate;
	__u64 reserved1[8];
};

struct k_stack {
	__u64 ss_sp;
	__s32 ss_flags;
	__s32 __pad;
	__u64 ss_size;
};

struct k_ucontext {
	__u64 uc_flags;
	__u64 uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	__u64 uc_sigmask;
};

struct rt_sigframe {
	__u64 pretcode;		/* rt_sigreturn is entered with %rsp at &uc */
	struct k_ucontext uc;
	__u8 info[128];		/* siginfo, unused */
};

/* A frame followed by its XSAVE area, which must be 64-byte aligned. */
struct sigframe_area {
	struct rt_sigframe frame;
	__u8 __pad[64 - (sizeof(struct rt_sigframe) % 64)];
	__u8 xsave[SIGFRAME_XSAVE_MAX] __attribute__((aligned(64)));
};

#endif
