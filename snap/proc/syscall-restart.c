// SPDX-License-Identifier: GPL-2.0
/* A poll() the kernel resumes through restart_syscall() (see syscall-restart.h). */
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

bool restart_is_poll(pid_t tid)
{
	char buf[128];

	return read_tid_file(tid, "syscall", buf, sizeof(buf)) &&
	       atol(buf) == __NR_restart_syscall && read_tid_file(tid, "wchan", buf, sizeof(buf)) &&
	       !strncmp(buf, "poll_schedule_timeout", 21);
}

void restart_name_poll(pid_t tid)
{
	struct user_regs_struct r;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) || r.orig_rax != __NR_restart_syscall ||
	    (long)r.rax != -K_ERESTART_RESTARTBLOCK)
		return;
	r.orig_rax = __NR_poll;
	ptrace(PTRACE_SETREGS, tid, NULL, &r);
}
