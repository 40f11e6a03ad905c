// SPDX-License-Identifier: GPL-2.0
/*
 * A task's saved registers made ready to run again: a syscall the freeze
 * interrupted set up to restart, and the signal frame (with its XSAVE
 * area) that the parasite's and the restorer's rt_sigreturn go through
 * (see infect.h).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <time.h>

#include "infect.h"
#include "log.h"

/*
 * Whether a syscall the kernel would resume from a restart block is the same
 * wait run again from its arguments, still in their registers: poll(),
 * which turns any interruption into a restart block, with no timeout too (a
 * timeout starts over), and a clock_nanosleep() to an absolute time. A
 * restored task has no restart block; one left running is put back in the
 * syscall itself rather than in restart_syscall(), so that a later dump of
 * it still knows what it waits in. Other syscalls restart from the block
 * (left running) or get EINTR (restored): which a program with no signal
 * handler does not expect (util-linux's script kills its child on it from
 * poll()).
 */
static bool rerun_from_args(const struct user_regs_struct *regs)
{
	return regs->orig_rax == __NR_poll ||
	       (regs->orig_rax == __NR_clock_nanosleep && (regs->rsi & TIMER_ABSTIME));
}

/*
 * With no restart block (a restored task): a relative sleep given somewhere
 * to put the time left had the kernel write it there when the freeze
 * interrupted it (nanosleep_copyout()), so it sleeps that time again from
 * there. glibc's sleep() passes one timespec for both; when the two
 * differ, the request register is pointed at the time left, which only a
 * caller reading that register back after the syscall could tell. Without
 * one (usleep()), the sleep still ends with EINTR.
 */
static bool rerun_for_rest(struct user_regs_struct *regs)
{
	if (regs->orig_rax == __NR_nanosleep && regs->rsi) {
		regs->rdi = regs->rsi;
		return true;
	}
	if (regs->orig_rax == __NR_clock_nanosleep && !(regs->rsi & TIMER_ABSTIME) && regs->r10) {
		regs->rdx = regs->r10;
		return true;
	}
	return false;
}

void regs_restart_syscall(struct user_regs_struct *regs, bool keep_restart_block)
{
	if ((long)regs->orig_rax < 0)
		return;
	switch ((long)regs->rax) {
	case -K_ERESTARTSYS:
	case -K_ERESTARTNOINTR:
	case -K_ERESTARTNOHAND:
		regs->rax = regs->orig_rax;
		regs->rip -= 2;
		break;
	case -K_ERESTART_RESTARTBLOCK:
		if (rerun_from_args(regs) || (!keep_restart_block && rerun_for_rest(regs))) {
			regs->rax = regs->orig_rax;
			regs->rip -= 2;
		} else if (keep_restart_block) {
			/* The restart block lives in the kernel: only the same task has it. */
			regs->rax = __NR_restart_syscall;
			regs->rip -= 2;
		} else {
			regs->rax = -EINTR;
		}
		break;
	}
	regs->orig_rax = -1;
}

#define XFEATURE_MASK_XTILE_DATA (1ULL << 18)

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * The features and size a signal frame of an ordinary task has: what XCR0
 * enables, less AMX tile data, which a task only gets on request
 * (ARCH_REQ_XCOMP_PERM). rt_sigreturn refuses a larger frame and falls back
 * to the legacy FXSAVE part — AVX state would be lost.
 */
static void sigframe_xstate(uint64_t *features, uint32_t *size)
{
	uint32_t eax, ebx, ecx, edx, end = 576;
	int i;

	*features = xgetbv0() & ~XFEATURE_MASK_XTILE_DATA;
	for (i = 2; i < 63; i++) {
		if (!(*features & (1ULL << i)))
			continue;
		__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
				 : "a"(0xd), "c"(i));
		if (ebx + eax > end)
			end = ebx + eax;
	}
	*size = end;
}

int sigframe_build(struct sigframe_area *area, uint64_t frame_addr,
		   const struct user_regs_struct *regs, const uint8_t *xsave, size_t xsave_len,
		   uint64_t sigmask, const struct k_stack *altstack)
{
	struct k_sigcontext *sc = &area->frame.uc.uc_mcontext;
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	struct fpx_sw {
		uint32_t magic1, extended_size;
		uint64_t xfeatures;
		uint32_t xstate_size;
	} __attribute__((packed)) sw;
	uint64_t features;
	uint32_t size;

	if (xsave_len + sizeof(magic2) > sizeof(area->xsave) || xsave_len < 576) {
		pr_err("XSAVE area of %zu bytes does not fit a signal frame", xsave_len);
		return -1;
	}
	memset(&area->frame, 0, sizeof(area->frame));
	area->frame.uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	if (altstack)
		memcpy(&area->frame.uc.uc_stack, altstack, sizeof(*altstack));
	else
		area->frame.uc.uc_stack.ss_flags = SS_DISABLE;
	area->frame.uc.uc_sigmask = sigmask;

	sc->r8 = regs->r8;
	sc->r9 = regs->r9;
	sc->r10 = regs->r10;
	sc->r11 = regs->r11;
	sc->r12 = regs->r12;
	sc->r13 = regs->r13;
	sc->r14 = regs->r14;
	sc->r15 = regs->r15;
	sc->rdi = regs->rdi;
	sc->rsi = regs->rsi;
	sc->rbp = regs->rbp;
	sc->rbx = regs->rbx;
	sc->rdx = regs->rdx;
	sc->rax = regs->rax;
	sc->rcx = regs->rcx;
	sc->rsp = regs->rsp;
	sc->rip = regs->rip;
	sc->eflags = regs->eflags;
	sc->cs = regs->cs;
	sc->ss = regs->ss;
	sc->fpstate = frame_addr + offsetof(struct sigframe_area, xsave);

	/*
	 * ptrace hands out the XSAVE area without the fx_sw_bytes that tell
	 * rt_sigreturn an extended state follows; write them as the kernel does
	 * for a signal frame: the enabled features (XCR0) and the sizes.
	 */
	memcpy(area->xsave, xsave, xsave_len);
	sigframe_xstate(&features, &size);
	sw.xfeatures = features;
	sw.xstate_size = size < xsave_len ? size : xsave_len;
	sw.magic1 = FP_XSTATE_MAGIC1;
	sw.extended_size = sw.xstate_size + sizeof(magic2);
	memcpy(area->xsave + FPX_SW_OFFSET, &sw, sizeof(sw));
	xsave_len = sw.xstate_size;
	memcpy(area->xsave + xsave_len, &magic2, sizeof(magic2));
	return 0;
}
