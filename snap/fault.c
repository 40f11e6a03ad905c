// SPDX-License-Identifier: GPL-2.0
/* SNAP_FAULT: stalls at named points, for the tests (fault.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "log.h"

/* The milliseconds SNAP_FAULT gives @point, or 0. */
static unsigned long stall_ms(const char *point)
{
	const char *s = getenv("SNAP_FAULT");
	size_t len = strlen(point);

	while (s && *s) {
		if (!strncmp(s, point, len) && s[len] == ':')
			return strtoul(s + len + 1, NULL, 10);
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
	return 0;
}

void fault_stall(const char *point)
{
	unsigned long ms = stall_ms(point);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	if (!ms)
		return;
	pr_warn("SNAP_FAULT: stalling %lu ms at %s", ms, point);
	while (nanosleep(&ts, &ts))
		;
}
