/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRIU's options, as snap takes them on its command line (main.c) and over
 * RPC (rpc/rpc-opts.c). Each is mapped to a snap option, ignored (it
 * changes nothing snap does; said why at -v 3) or refused by name (ignoring
 * it would change the result), the same way under both names, so that
 * snap installed as criu answers a script and a runtime alike.
 */
#ifndef SNAP_CRIU_OPTS_H
#define SNAP_CRIU_OPTS_H

#include <stddef.h>
#include <stdint.h>

struct option;

enum criu_opt_kind { CRIU_OPT_MAPPED, CRIU_OPT_IGNORED, CRIU_OPT_REFUSED };

struct criu_opt {
	const char *rpc;  /* the criu_opts field, or NULL: command line only */
	const char *cli;  /* the long option, or NULL: RPC only, or main.c's own */
	char short_opt;	  /* CRIU's one-letter form, or 0 */
	int has_arg;	  /* of the long option: no_argument... (getopt.h) */
	enum criu_opt_kind kind;
	const char *why;  /* ignored: why that is harmless; refused: what is missing */
};

extern const struct criu_opt criu_opts[];
extern const size_t nr_criu_opts;

/* The rule of criu_opts field @name, or NULL: one nobody listed. */
const struct criu_opt *criu_opt_rpc(const char *name);

/* The command line's ignored ones, by index in criu_opts[], for after log_init(). */
struct criu_opts_seen {
	uint64_t ignored[2];
};

/*
 * The command line's options: @own (@nr_own, no end entry), then each
 * ignored or refused one of the list, getopt value @base + its index; ends
 * with a zero entry. NULL (said) when out of memory.
 */
struct option *criu_opts_longopts(const struct option *own, size_t nr_own, int base);
/* The one-letter ones of the list, for getopt's optstring. */
#define CRIU_OPTS_SHORT "L:"

/*
 * getopt's @c: 0 if no option of the list (its @base + index, or a letter);
 * 1 for an ignored one, noted in @seen; -1 for a refused one, said on stderr.
 */
int criu_opt_take(int c, int base, struct criu_opts_seen *seen);
/* Once the log is open: each ignored option, at -v 3, with why. */
void criu_opts_say_ignored(const struct criu_opts_seen *seen);

#endif
