/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to snap/ns/net-ns*.c: the parts of a network namespace's image.
 * Each runs with the calling thread inside the namespace (net-ns-scope.c):
 * the rtnetlink socket and /proc/sys/net/ are the namespace of the thread
 * that opens them. 0 or -1 logged; @who names the namespace in messages.
 */
#ifndef SNAP_NS_NET_NS_INT_H
#define SNAP_NS_NET_NS_INT_H

#include <stdbool.h>

#include "netns.pb-c.h"

/* lo into @e->links; any other interface is refused by name. */
int net_ns_links_dump(const char *who, NetnsEntry *e);
/* lo as @e says: its MTU, up, then exactly its addresses, in order. */
int net_ns_links_restore(const char *who, const NetnsEntry *e);
/* lo up, nothing else: a namespace made empty (--empty-ns net). */
int net_ns_lo_up(const char *who);
/* Free what net_ns_links_dump() put in @e. */
void net_ns_links_free(NetnsEntry *e);

/* The sysctls snap keeps (a short list) into @e->sysctls; one missing here is left out. */
int net_ns_sysctls_dump(const char *who, NetnsEntry *e);
/* Is @name one of them? The image may name no other file of /proc/sys/net. */
bool net_ns_sysctl_known(const char *name);
int net_ns_sysctls_restore(const char *who, const NetnsEntry *e);
void net_ns_sysctls_free(NetnsEntry *e);

#endif
