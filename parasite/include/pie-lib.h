/* SPDX-License-Identifier: GPL-2.0 */
/* The few libc-like helpers the freestanding blobs need (parasite/pie/lib.c). */
#ifndef SNAP_PIE_LIB_H
#define SNAP_PIE_LIB_H

#include <stddef.h>

/* Everything in a blob is resolved inside it: no GOT, only PC-relative. */
#pragma GCC visibility push(hidden)

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#pragma GCC visibility pop

/* A function the blob's own assembly calls or defines: resolved inside it too. */
#define HIDDEN __attribute__((visibility("hidden")))

#endif
