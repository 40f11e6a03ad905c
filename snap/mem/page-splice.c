// SPDX-License-Identifier: GPL-2.0
/*
 * The stop-the-world copy of private anonymous pages in one copy
 * (page_splice(), mem-dump.h): the parasite vmsplice()s batches of ranges
 * into pipes - page references, no copy - and snap splice()s each pipe into
 * the image at its pages' offsets, the only copy. The copy path
 * (page-copy.c) reads into a buffer and writes it: two copies.
 *
 * Two sets of pipes take turns: while the parasite fills one, snap empties
 * the other, so on two CPUs the vmsplice and the splice overlap. Pipes are
 * sized past pipe-max-size where we may (CAP_SYS_RESOURCE): fewer parasite
 * round trips.
 *
 * What stays on the copy path, and why: pages vma_spliceable() refuses
 * (unreadable, hugetlb, file-private); the pages of the word the
 * parasite poked into the task's code when it had no vDSO (they would be
 * saved with the poke, the copy path reads them once it is undone); and
 * every page when the sink cannot take pipes (page_sink_can_splice(): a
 * page server, or the incremental dump's held pages). The parasite does
 * not write to the task's pages: what it vmsplices is what the task had.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infect.h"
#include "log.h"
#include "mem/mem-dump.h"
#include "mem/page-sink.h"

#define PIPE_BYTES (16UL << 20)	/* past pipe-max-size with CAP_SYS_RESOURCE */
#define NR_SETS 2

/* One batch: what one PARASITE_CMD_VMSPLICE puts into the pipes of a set. */
struct pipe_set {
	int rfd[PARASITE_MAX_PIPES], wfd[PARASITE_MAX_PIPES];
	struct parasite_iov iov[PARASITE_MAX_IOV];
	uint64_t idx[PARASITE_MAX_IOV];	/* page index in the layout of iov[i]'s first page */
	uint32_t pipe_end[PARASITE_MAX_PIPES];
	uint32_t nr_iov, nr_pipes;
};

struct splicer {
	struct dump_task *t;
	struct page_sink *ps;
	struct page_list *pl;
	uint64_t pipe_pages;
	uint64_t write_ns;	/* spent splicing into the image */
	/* Where the next batch starts: run, pages of it done, page index. */
	size_t run;
	uint64_t done, idx;
	struct pipe_set set[NR_SETS];
};

static int make_pipes(struct splicer *sp)
{
	long size = 0, want = PIPE_BYTES;

	for (int s = 0; s < NR_SETS; s++) {
		for (int p = 0; p < PARASITE_MAX_PIPES; p++) {
			int fds[2];

			if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
				pr_perror("pid %d: cannot make a pipe to splice its pages",
					  sp->t->pid);
				return -1;
			}
			sp->set[s].rfd[p] = fds[0];
			sp->set[s].wfd[p] = fds[1];
			/* Past pipe-max-size only with CAP_SYS_RESOURCE: halve until allowed. */
			while (want > (long)PAGE_SIZE && fcntl(fds[1], F_SETPIPE_SZ, want) < 0 &&
			       errno == EPERM)
				want /= 2;
			size = fcntl(fds[1], F_GETPIPE_SZ);
			if (size < (long)PAGE_SIZE) {
				pr_perror("pid %d: cannot size a pipe to splice its pages",
					  sp->t->pid);
				return -1;
			}
			if (!sp->pipe_pages || (uint64_t)size / PAGE_SIZE < sp->pipe_pages)
				sp->pipe_pages = size / PAGE_SIZE;
		}
	}
	return 0;
}

static void close_pipes(struct splicer *sp)
{
	for (int s = 0; s < NR_SETS; s++)
		for (int p = 0; p < PARASITE_MAX_PIPES; p++) {
			if (sp->set[s].rfd[p] >= 0)
				close(sp->set[s].rfd[p]);
			if (sp->set[s].wfd[p] >= 0)
				close(sp->set[s].wfd[p]);
		}
}

/* Fill @set from where the last batch ended; 0 when every spliced run is planned. */
static uint32_t plan(struct splicer *sp, struct pipe_set *set)
{
	set->nr_iov = set->nr_pipes = 0;
	while (set->nr_pipes < PARASITE_MAX_PIPES && set->nr_iov < PARASITE_MAX_IOV) {
		uint64_t room = sp->pipe_pages;

		while (room && set->nr_iov < PARASITE_MAX_IOV && sp->run < sp->pl->nr) {
			const struct page_run *r = &sp->pl->runs[sp->run];
			uint64_t n = r->nr - sp->done < room ? r->nr - sp->done : room;

			if (!r->spliced) {
				/* A parent's run takes no index; a copied one takes its own. */
				sp->idx += r->in_parent ? 0 : r->nr;
				sp->run++;
				continue;
			}
			set->iov[set->nr_iov] = (struct parasite_iov){
				r->vaddr + sp->done * PAGE_SIZE, n * PAGE_SIZE };
			set->idx[set->nr_iov++] = sp->idx + sp->done;
			room -= n;
			sp->done += n;
			if (sp->done == r->nr) {
				sp->idx += r->nr;
				sp->done = 0;
				sp->run++;
			}
		}
		if (room == sp->pipe_pages)
			break;
		set->pipe_end[set->nr_pipes++] = set->nr_iov;
	}
	return set->nr_pipes;
}

/*
 * Empty the pipes of @set into the image, consecutive indexes in one
 * splice. One thread: the image file's inode lock serializes writers, and
 * two draining threads were slower (architecture.md).
 */
static int drain(struct splicer *sp, const struct pipe_set *set)
{
	uint64_t t0 = now_ns();
	uint32_t i = 0, j;

	for (uint32_t p = 0; p < set->nr_pipes; p++) {
		for (; i < set->pipe_end[p]; i = j) {
			uint64_t nr = set->iov[i].len / PAGE_SIZE;

			for (j = i + 1;
			     j < set->pipe_end[p] && set->idx[j] == set->idx[i] + nr; j++)
				nr += set->iov[j].len / PAGE_SIZE;
			if (page_sink_splice(sp->ps, set->idx[i], set->rfd[p], nr))
				return -1;
		}
	}
	sp->write_ns += now_ns() - t0;
	return 0;
}

struct drain_job {
	struct splicer *sp;
	const struct pipe_set *set;
};

static int drain_meanwhile(void *arg)
{
	struct drain_job *j = arg;

	return drain(j->sp, j->set);
}

/*
 * Which runs go through pipes. The poked word is in the task's code, and a
 * run holding it is left to the copy path, which reads it once it is undone.
 */
static uint64_t mark_runs(const struct dump_task *t, struct page_list *pl)
{
	const struct parasite_ctl *ctl = t->ctl;
	uint64_t pages = 0;

	for (size_t i = 0; i < pl->nr; i++) {
		struct page_run *r = &pl->runs[i];
		uint64_t end = r->vaddr + r->nr * PAGE_SIZE;

		r->spliced = !r->in_parent && vma_spliceable(&t->vmas.v[r->vma]) &&
			     !(ctl->code_poked && ctl->syscall_ip + sizeof(long) > r->vaddr &&
			       ctl->syscall_ip < end);
		pages += r->spliced ? r->nr : 0;
	}
	return pages;
}

static int splice_batches(struct dump_ctx *ctx, struct splicer *sp)
{
	struct parasite_live *l = &sp->t->ctl->args->live;
	struct drain_job job = { .sp = sp };
	uint64_t t0 = now_ns();
	int cur = 0, full = -1;
	uint32_t n;

	while ((n = plan(sp, &sp->set[cur]))) {
		const struct pipe_set *set = &sp->set[cur];

		l->nr_iov = set->nr_iov;
		l->nr_pipes = n;
		memcpy(l->iov, set->iov, set->nr_iov * sizeof(*l->iov));
		memcpy(l->pipe_end, set->pipe_end, n * sizeof(*l->pipe_end));
		job.set = full >= 0 ? &sp->set[full] : NULL;
		if (parasite_cmd_during(sp->t->ctl, PARASITE_CMD_VMSPLICE, set->wfd, n, NULL,
					job.set ? drain_meanwhile : NULL, &job))
			return -1;
		full = cur;
		cur = (cur + 1) % NR_SETS;
	}
	if (full >= 0 && drain(sp, &sp->set[full]))
		return -1;
	/* The parasite's vmsplice is the read; the splices, overlapping it, the write. */
	ctx->st.write_ns += sp->write_ns;
	ctx->st.read_ns += now_ns() - t0 - sp->write_ns;
	return 0;
}

int page_splice(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct page_sink *ps)
{
	struct splicer *sp;
	int ret = -1;
	uint64_t pages = mark_runs(t, pl);

	if (!pages)
		return 0;
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		pr_err("pid %d: out of memory to splice its pages", t->pid);
		return -1;
	}
	sp->t = t;
	sp->ps = ps;
	sp->pl = pl;
	memset(sp->set, -1, sizeof(sp->set));
	if (!make_pipes(sp))
		ret = splice_batches(ctx, sp);
	if (!ret)
		ctx->st.pages_spliced += pages;
	close_pipes(sp);
	free(sp);
	return ret;
}
