// SPDX-License-Identifier: GPL-2.0
/* --display-stats: what a dump or restore cost, on stdout. */
#include <stdio.h>

#include "cr/stats.h"
#include "mem/dump-mode.h"

static double us(uint64_t from, uint64_t to)
{
	return to > from ? (to - from) / 1000.0 : 0;
}

void print_dump_stats(const struct dump_ctx *ctx)
{
	const struct dump_stats *s = &ctx->st;
	bool live = ctx->mode->live;

	printf("Dump stats:\n");
	printf("  freezing time:     %12.0f us\n", us(s->t_start, s->t_frozen));
	printf("  frozen time:       %12.0f us\n", us(s->t_frozen, s->t_unfrozen));
	/* Where it went: the rest is seizing the threads, files, core, shared memory. */
	printf("  frozen parasite:   %12.0f us\n", s->parasite_ns / 1000.0);
	printf("  frozen page scan:  %12.0f us\n", s->scan_ns / 1000.0);
	printf("  frozen page read:  %12.0f us\n", s->read_ns / 1000.0);
	printf("  frozen page write: %12.0f us\n", s->write_ns / 1000.0);
	printf("  frozen release:    %12.0f us\n", us(s->t_release, s->t_unfrozen));
	/*
	 * A killed tree: the frozen time ends with the SIGKILL (CRIU's too);
	 * waiting for the kernel to tear the tree down comes after, counted here.
	 */
	if (s->kill_wait_ns)
		printf("  kill wait:         %12.0f us\n", s->kill_wait_ns / 1000.0);
	/* An incremental dump that kills: written after the kill, not frozen. */
	if (s->pages_held) {
		printf("  pages held:        %12llu\n", (unsigned long long)s->pages_held);
		printf("  held write time:   %12.0f us\n", s->held_write_ns / 1000.0);
	}
	/* A dump on a parent: pages copied before the freeze, the tree running. */
	if (s->catchup_rounds) {
		printf("  catch up rounds:   %12llu\n", (unsigned long long)s->catchup_rounds);
		printf("  catch up time:     %12.0f us\n", s->catchup_ns / 1000.0);
		printf("  catch up copied:   %12llu\n", (unsigned long long)s->catchup_copied);
		printf("  pages caught up:   %12llu\n", (unsigned long long)s->pages_caught_up);
	}
	/* Live: the pages streamed while the task ran; else all while frozen. */
	printf("  memory dump time:  %12.0f us\n", us(s->t_mem_start, s->t_mem_end));
	/* -R: handing swapped pages back to swap, the target running. */
	printf("  pageout time:      %12.0f us\n", s->pageout_ns / 1000.0);
	printf("  total time:        %12.0f us\n", us(s->t_start, s->t_end));
	printf("  pages scanned:     %12llu\n", (unsigned long long)s->pages_scanned);
	printf("  pages written:     %12llu\n", (unsigned long long)s->pages_written);
	/* Stop-the-world: of those, vmspliced by the parasite and spliced in (one copy). */
	printf("  pages spliced:     %12llu\n", (unsigned long long)s->pages_spliced);
	if (ctx->parent)
		printf("  pages in parent:   %12llu\n", (unsigned long long)s->pages_in_parent);
	printf("  pages swapped:     %12llu\n", (unsigned long long)s->pages_swapped);
	printf("  pages paged out:   %12llu\n", (unsigned long long)s->pages_paged_out);
	printf("  shmem objects:     %12llu\n", (unsigned long long)s->shmem_objects);
	printf("  shmem pages:       %12llu\n", (unsigned long long)s->shmem_pages);
	printf("  shmem swapped:     %12llu\n", (unsigned long long)s->shmem_swapped);
	/* Live: of the shmem pages, those streamed rather than saved frozen. */
	if (live)
		printf("  shmem streamed:    %12llu\n", (unsigned long long)s->shmem_streamed);
	printf("  live:              %12s\n", live ? "yes" : "no");
	if (live) {
		printf("  live holders:      %12llu\n", (unsigned long long)s->live_holders);
		/* Of the frozen parasite time: what redis's BGSAVE pays too, compared. */
		printf("  holder fork time:  %12.0f us\n", s->hold_fork_ns / 1000.0);
		printf("  cow faults:        %12llu\n", (unsigned long long)s->cow_faults);
		printf("  cow peak memory:   %12llu KiB\n", (unsigned long long)s->cow_peak / 1024);
		printf("  writers waited:    %12.0f us\n", s->cow_wait_ns / 1000.0);
		printf("  stream yielded:    %12.0f us\n", s->stream_yield_ns / 1000.0);
	}
	/*
	 * snap's own peak resident memory (VmHWM). Not getrusage()'s
	 * ru_maxrss: that keeps the peak of the process snap was exec'd from
	 * (a big script that forked it, say).
	 */
	printf("  snap peak memory:  %12lld KiB\n", file_field("/proc/self/status", "VmHWM"));
	fflush(stdout);
}

void print_restore_stats(const struct restore_ctx *ctx)
{
	const struct restore_stats *s = &ctx->st;

	printf("Restore stats:\n");
	printf("  restore time:      %12.0f us\n", us(s->t_start, s->t_end));
	printf("  forking time:      %12.0f us\n", us(s->t_start, s->t_forked));
	printf("  memory fill time:  %12.0f us\n", s->mem_ns / 1000.0);
	printf("  pages moved:       %12llu\n", (unsigned long long)s->pages_moved);
	printf("  pages in place:    %12llu\n", (unsigned long long)s->pages_in_place);
	fflush(stdout);
}
