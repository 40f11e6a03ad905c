/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network namespaces. Two jobs:
 *
 * - The ns kind module of NS_KIND__NS_NET (ns_net_ops, ns-kind.h): dump saves
 *   the loopback interface (up, MTU, addresses) and a few sysctls the
 *   sockets depend on in netns-ID.img, and refuses any other interface by
 *   name (--empty-ns net leaves the namespace to the caller and saves
 *   nothing); restore makes the namespace in snap, before any file is
 *   opened, puts lo and the sysctls back there, and the tree's root joins it.
 *
 * - The scope (net-ns-scope.c): where the tree lives is not snap's own
 *   network namespace, so snap's thread steps into the tree's to look at its
 *   sockets (sock_diag, /proc/net, the network lock) at dump, and to make
 *   them at restore, then steps back. ctx->netns is NULL for a tree in
 *   snap's own: nothing moves.
 */
#ifndef SNAP_NS_NET_NS_H
#define SNAP_NS_NET_NS_H

#include <sys/types.h>

struct net_ns_scope;

/*
 * Dump: the network namespace of @pid (the tree's root, frozen) in *@out, or
 * NULL there when it is snap's own. 0, or -1 logged.
 */
int net_ns_scope_open(pid_t pid, struct net_ns_scope **out);
/* A scope over the network namespace @fd refers to (taken, even on error). 0 or -1 logged. */
int net_ns_scope_from_fd(int fd, const char *what, struct net_ns_scope **out);
/*
 * The calling thread into @s's namespace, and back to where it was. Calls
 * nest: only the outermost pair moves. NULL @s: nothing to do. 0 or -1
 * logged; a failed leave leaves the thread where it was and says so.
 */
int net_ns_enter(struct net_ns_scope *s);
int net_ns_leave(struct net_ns_scope *s);
/* The namespace's fd (for a restored root to setns() into). */
int net_ns_scope_fd(const struct net_ns_scope *s);
void net_ns_scope_free(struct net_ns_scope *s);

#endif
