/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SNAP_FAULT_H
#define SNAP_FAULT_H

/*
 * Fault injection for the tests, as CRIU_FAULT is CRIU's: with
 * SNAP_FAULT=POINT:MS[,POINT:MS...] in the environment, snap stalls MS
 * milliseconds when it reaches POINT, to widen a race the tests must see
 * handled. The points (snap.8, ENVIRONMENT):
 *   tcp-fin-in  a restored connection, after its peer's FIN was fed in and
 *               before its other options are set again
 */
void fault_stall(const char *point);

#endif
