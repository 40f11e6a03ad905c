/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes. Run once per command; the resulting struct kfeat is
 * passed down in the dump/restore context, never re-probed.
 */
#ifndef SNAP_KERNDAT_H
#define SNAP_KERNDAT_H

#include "ctx.h"

/*
 * Fill @kf. A feature whose probe fails is left false (or 0); the reason is
 * logged at debug level only. Returns 0.
 */
int kerndat_probe(struct kfeat *kf);

#endif
