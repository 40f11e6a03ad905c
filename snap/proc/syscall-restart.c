// SPDX-License-Identifier: GPL-2.0
/* A poll() or sleep the kernel resumes through restart_syscall() (see syscall-restart.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "proc/proc.h"
#include "proc/syscall-restart.h"

/* /proc/TID/@name, quietly: a thread may be gone. */
static bool read_tid_file(pid_t tid, const char *name, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", tid, name);
	return read_small_file(path, buf, size) > 0;
}

long restart_resumes(pid_t tid)
{
	char buf[128];

	if (!read_tid_file(tid, "syscall", buf, sizeof(buf)) ||
	    atol(buf) != __NR_restart_syscall || !read_tid_file(tid, "wchan", buf, sizeof(buf)))
		return 0;
	if (!strncmp(buf, "poll_schedule_timeout", 21))
		return __NR_poll;
	/* Sleeps resume in functions the unwinder skips: no other wait leaves only the entry. */
	if (!strncmp(buf, "do_syscall_64", 13))
		return __NR_nanosleep;
	return 0;
}

void restart_name(pid_t tid, long nr)
{
	struct user_regs_struct r;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) || r.orig_rax != __NR_restart_syscall ||
	    (long)r.rax != -K_ERESTART_RESTARTBLOCK)
		return;
	/* A clock id, small or a negative CPU clock, or nanosleep()'s request pointer. */
	if (nr == __NR_nanosleep && (long)r.rdi < 4096)
		nr = __NR_clock_nanosleep;
	r.orig_rax = nr;
	ptrace(PTRACE_SETREGS, tid, NULL, &r);
}
