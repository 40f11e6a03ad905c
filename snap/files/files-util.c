// SPDX-License-Identifier: GPL-2.0
/* Small helpers the fd kinds share: how devices and open flags are saved and reused. */
#include <fcntl.h>
#include <sys/sysmacros.h>

#include "files/files-kind.h"

uint32_t files_encode_dev(dev_t dev)
{
	unsigned int ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

int files_reopen_flags(unsigned int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
	/* An O_TMPFILE file is reopened as the plain file it has become. */
	if ((flags & O_TMPFILE) == O_TMPFILE)
		flags &= ~O_TMPFILE;
	/* A terminal must never become our controlling tty by being opened. */
	return flags | O_NOCTTY;
}
