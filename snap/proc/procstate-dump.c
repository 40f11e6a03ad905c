// SPDX-License-Identifier: GPL-2.0
/* prctl() settings, and the glue that puts them and the timers into core-PID.img. */
#include <stdlib.h>

#include "proc/procstate.h"

static void prctl_fill(PrctlEntry *e, const struct parasite_misc *m)
{
	prctl_entry__init(e);
	e->no_new_privs = m->no_new_privs;
	e->child_subreaper = m->child_subreaper;
	e->thp_disable = m->thp_disable;
	e->pdeath_signal = m->pdeath_signal;
	e->timerslack_ns = m->timerslack_ns;
}

int procstate_fill(struct procstate_dump *d, const struct parasite_misc *m, CoreEntry *core)
{
	prctl_fill(&d->prctl, m);
	core->prctl = &d->prctl;
	return timers_fill(d, m, core);
}

void procstate_free(struct procstate_dump *d)
{
	free(d->timers);
	free(d->timerp);
}
