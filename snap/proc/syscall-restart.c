// SPDX-License-Identifier: GPL-2.0
/* A poll() the kernel resumes through restart_syscall() (see syscall-restart.h). */
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "proc/syscall-restart.h"

#define K_ERESTART_RESTARTBLOCK 516

/* The first line of /proc/TID/@name into @buf; false if it cannot be read. */
static bool read_line(pid_t tid, const char *name, char *buf, size_t size)
{
	char path[64];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", tid, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	return ok;
}

bool restart_is_poll(pid_t tid)
{
	char buf[128];

	return read_line(tid, "syscall", buf, sizeof(buf)) && !strncmp(buf, "219 ", 4) &&
	       read_line(tid, "wchan", buf, sizeof(buf)) &&
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
