/* PIDFD_GET_INFO (Linux 6.13), which the userspace headers here lack: its first version. */
#ifndef ZDTM_PIDFD_INFO_H
#define ZDTM_PIDFD_INFO_H

#include <stdint.h>
#include <sys/ioctl.h>

struct pidfd_info_v0 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_INFO_EXIT	(1UL << 3)
#define GET_INFO	_IOWR(0xFF, 11, struct pidfd_info_v0)

#endif
