// SPDX-License-Identifier: GPL-2.0
/* Shared memory objects, dump side (see shmem.h). */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "files/files.h"
#include "image.h"
#include "log.h"
#include "mem/huge-data.h"
#include "mem/page-sink.h"
#include "mem/shmem.h"
#include "ns/ns.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

struct shmem_obj {
	ShmemEntry e;		/* what goes into shmem.img, pages excepted */
	dev_t dev;		/* identity: (sysv, dev, ino); SysV: ino = shmid */
	ino_t ino;
	bool sysv;
	int fd;			/* the object, opened while the tree is frozen */
	char what[96];		/* how errors name it */
};

/* An object snap mapped and faulted in before the freeze (shmem_prewarm()). */
struct shmem_warm {
	dev_t dev;
	ino_t ino;
	char *map;
	uint64_t len;
};

/* A deleted file's inode: ghost id = index + 1. */
struct ghost_seen {
	dev_t dev;
	ino_t ino;
};

struct shmem_table {
	struct shmem_obj *o;
	size_t nr;
	struct shmem_warm *warm;
	size_t nr_warm;
	struct ghost_seen *ghosts;
	size_t nr_ghosts;
};

struct shmem_table *shmem_table_new(void)
{
	struct shmem_table *st = calloc(1, sizeof(*st));

	if (!st)
		pr_err("out of memory");
	return st;
}

void shmem_table_free(struct shmem_table *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nr; i++) {
		if (st->o[i].fd >= 0)
			close(st->o[i].fd);
		free(st->o[i].e.name);
	}
	for (i = 0; i < st->nr_warm; i++)
		if (st->warm[i].map)
			munmap(st->warm[i].map, st->warm[i].len);
	free(st->o);
	free(st->warm);
	free(st->ghosts);
	free(st);
}

static struct shmem_obj *find_obj(struct shmem_table *st, bool sysv, dev_t dev, ino_t ino)
{
	size_t i;

	/* A SysV segment is its id, whichever way it was found. */
	for (i = 0; i < st->nr; i++)
		if (st->o[i].sysv == sysv && st->o[i].ino == ino && (sysv || st->o[i].dev == dev))
			return &st->o[i];
	return NULL;
}

/* A new entry of @st, ids from 1; the caller fills it. */
static struct shmem_obj *add_obj(struct shmem_table *st, bool sysv, dev_t dev, ino_t ino)
{
	struct shmem_obj *o = realloc(st->o, (st->nr + 1) * sizeof(*o));

	if (!o) {
		pr_err("out of memory");
		return NULL;
	}
	st->o = o;
	o = &st->o[st->nr++];
	memset(o, 0, sizeof(*o));
	shmem_entry__init(&o->e);
	o->e.id = st->nr;
	o->sysv = sysv;
	o->dev = dev;
	o->ino = ino;
	o->fd = -1;
	return o;
}

/* Drop the entry add_obj() just made: its object could not be read. */
static void drop_last(struct shmem_table *st)
{
	struct shmem_obj *o = &st->o[--st->nr];

	if (o->fd >= 0)
		close(o->fd);
	free(o->e.name);
}

/* Size, owner, mode and (memfd) seals from the object's fd. */
static int obj_stat(struct shmem_obj *o)
{
	struct statfs sf;
	struct stat st;

	if (fstat(o->fd, &st) || fstatfs(o->fd, &sf)) {
		pr_perror("%s: cannot stat it", o->what);
		return -1;
	}
	if (sf.f_type == HUGETLBFS_MAGIC) {
		/* statfs() of hugetlbfs gives its page size as the block size. */
		o->e.has_huge_page_size = true;
		o->e.huge_page_size = sf.f_bsize;
	} else if (sf.f_type != TMPFS_MAGIC) {
		pr_err("%s: not on tmpfs (filesystem magic %#lx)", o->what, (long)sf.f_type);
		return -1;
	}
	o->e.size = st.st_size;
	o->e.has_mode = o->e.has_uid = o->e.has_gid = true;
	o->e.mode = st.st_mode & 07777;
	o->e.uid = st.st_uid;
	o->e.gid = st.st_gid;
	if (o->e.kind == SHMEM_KIND__SHMEM_MEMFD) {
		int seals = fcntl(o->fd, F_GET_SEALS);

		if (seals < 0) {
			pr_perror("%s: F_GET_SEALS", o->what);
			return -1;
		}
		o->e.has_seals = true;
		o->e.seals = seals;
	}
	return 0;
}

/*
 * Whether @pid's ipc namespace is snap's own: 1 yes, 0 no, -1 logged. In
 * another, its segments are the ipc namespace module's (ns/ipc.h).
 */
static int ipc_ns_own(pid_t pid)
{
	struct stat mine, its;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	if (stat("/proc/self/ns/ipc", &mine) || stat(path, &its)) {
		pr_perror("pid %d: cannot tell its ipc namespace", pid);
		return -1;
	}
	return mine.st_dev == its.st_dev && mine.st_ino == its.st_ino;
}

/* In a child in the segment's ipc namespace (ns_call()): its IPC_STAT back through @fd. */
static int stat_in_ns(void *arg, int fd)
{
	struct shmid_ds ds;
	int shmid = *(int *)arg;

	if (shmctl(shmid, IPC_STAT, &ds)) {
		pr_perror("SysV segment %d: IPC_STAT in its ipc namespace", shmid);
		return -1;
	}
	return write_full(fd, &ds, sizeof(ds));
}

/* IPC_STAT of segment @shmid, in the ipc namespace of @pid. */
static int stat_sysv(struct shmem_obj *o, pid_t pid, int shmid, struct shmid_ds *ds)
{
	int own = ipc_ns_own(pid);
	ssize_t n;

	if (own < 0)
		return -1;
	if (own) {
		if (shmctl(shmid, IPC_STAT, ds)) {
			pr_perror("%s: IPC_STAT", o->what);
			return -1;
		}
		return 0;
	}
	o->e.has_ipc_ns = o->e.ipc_ns = true;
	n = ns_call(pid, NS_KIND__NS_IPC, stat_in_ns, &shmid, ds, sizeof(*ds));
	if (n >= 0 && n != sizeof(*ds))
		pr_err("%s: its IPC_STAT came back short", o->what);
	return n == sizeof(*ds) ? 0 : -1;
}

/* Key, owner and mode of a SysV segment of @pid: what shmget and IPC_SET take. */
static int obj_sysv(struct shmem_obj *o, pid_t pid, int shmid)
{
	struct shmid_ds ds;

	if (stat_sysv(o, pid, shmid, &ds))
		return -1;
	o->e.has_sysv_key = o->e.has_sysv_id = o->e.has_sysv_removed = true;
	o->e.sysv_key = ds.shm_perm.__key;
	o->e.sysv_id = shmid;
	o->e.sysv_removed = ds.shm_perm.mode & SHM_DEST;
	o->e.size = ds.shm_segsz;
	o->e.mode = ds.shm_perm.mode & 0777;
	o->e.uid = ds.shm_perm.uid;
	o->e.gid = ds.shm_perm.gid;
	return 0;
}

static int open_map_file(struct shmem_obj *o, pid_t pid, const struct vma *v)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
		 (unsigned long)v->end);
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0) {
		pr_perror("%s: cannot open %s", o->what, path);
		return -1;
	}
	return 0;
}

static ShmemKind vma_shmem_kind(const struct vma *v)
{
	if (!strncmp(v->path, "/SYSV", 5))
		return SHMEM_KIND__SHMEM_SYSV;
	if (!strncmp(v->path, "/memfd:", 7))
		return SHMEM_KIND__SHMEM_MEMFD;
	/* A file in /dev/shm, or on a hugetlbfs mount (not its internal file). */
	if (!strncmp(v->path, "/dev/shm/", 9) ||
	    ((v->flags & MAP_HUGETLB) && strcmp(v->path, "/anon_hugepage")))
		return SHMEM_KIND__SHMEM_FILE;
	return SHMEM_KIND__SHMEM_ANON;
}

static int fill_new(struct shmem_obj *o, pid_t pid, const struct vma *v)
{
	o->e.kind = vma_shmem_kind(v);
	snprintf(o->what, sizeof(o->what), "pid %d shared memory %lx-%lx (%s)", pid,
		 (unsigned long)v->start, (unsigned long)v->end, v->path);
	/* Unlinked: recreated, then unlinked again (shmem-restore.c). */
	if (o->e.kind == SHMEM_KIND__SHMEM_FILE && v->deleted)
		o->e.has_deleted = o->e.deleted = true;
	if (o->e.kind == SHMEM_KIND__SHMEM_MEMFD || o->e.kind == SHMEM_KIND__SHMEM_FILE) {
		/* memfd: "/memfd:NAME"; a file: its path. */
		o->e.name = strdup(o->e.kind == SHMEM_KIND__SHMEM_MEMFD ? v->path + 7 : v->path);
		if (!o->e.name) {
			pr_err("%s: out of memory", o->what);
			return -1;
		}
	}
	if (open_map_file(o, pid, v) || obj_stat(o))
		return -1;
	if (o->e.kind == SHMEM_KIND__SHMEM_SYSV)
		return obj_sysv(o, pid, v->ino);
	return 0;
}

/*
 * The next data range of the object @fd (@npages pages) at or after byte
 * *@pos, as pages [*@first, *@last): 1, or 0 past the last, or -1 (errno).
 * Swapped-out pages are data; holes are not.
 */
static int next_data(int fd, uint64_t npages, off_t *pos, uint64_t *first, uint64_t *last)
{
	off_t data, hole;

	if ((uint64_t)*pos >= npages * PAGE_SIZE)
		return 0;
	data = lseek(fd, *pos, SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? 0 : -1;
	hole = lseek(fd, data, SEEK_HOLE);
	if (hole < 0)
		return -1;
	*first = data / PAGE_SIZE;
	*last = (hole + PAGE_SIZE - 1) / PAGE_SIZE;
	if (*last > npages)
		*last = npages;
	*pos = hole;
	return *first < *last;
}

/* madvise(@advice) the runs of pages in [@first, @last) whose residency in @vec is @resident. */
static int advise_runs(char *map, const unsigned char *vec, uint64_t first, uint64_t last,
		       bool resident, int advice)
{
	int ret = 0;

	for (uint64_t i = first, j; i < last; i = j) {
		for (j = i + 1; j < last && (vec[j] & 1) == (vec[i] & 1); j++)
			;
		if ((vec[i] & 1) == resident &&
		    madvise(map + i * PAGE_SIZE, (j - i) * PAGE_SIZE, advice))
			ret = -1;
	}
	return ret;
}

void shmem_pageout(const char *what, char *map, const unsigned char *vec, uint64_t first,
		   uint64_t last)
{
	if (advise_runs(map, vec, first, last, false, MADV_PAGEOUT))
		pr_warn("%s: cannot push swapped pages out again: %s", what, strerror(errno));
}

char *shmem_take_warm(struct dump_ctx *ctx, const struct shmem_data *d)
{
	const struct shmem_obj *o = &ctx->shmem->o[d->id - 1];
	struct shmem_table *st = ctx->shmem;
	uint64_t len = (d->size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	dev_t dev = o->dev;
	ino_t ino = o->ino;

	for (size_t i = 0; i < st->nr_warm; i++) {
		struct shmem_warm *w = &st->warm[i];
		char *map = w->map;

		if (w->dev != dev || w->ino != ino || !map || w->len != len)
			continue;
		w->map = NULL;
		return map;
	}
	return NULL;
}

/*
 * Fault in, in snap's own mapping, the resident data pages of anonymous
 * shared object @v (of @pid): at the freeze, holding them is then a fast
 * walk of page tables already there (about 35 ms per GiB instead of 120).
 * Only what was resident is touched: nothing comes back from swap, and no
 * hole is filled. Best effort: the freeze reads the object again anyway.
 */
static void warm_one(struct shmem_table *st, pid_t pid, const struct vma *v)
{
	struct shmem_warm w = { .dev = v->dev, .ino = v->ino, .map = MAP_FAILED };
	unsigned char *vec = NULL;
	char path[96];
	uint64_t first, last;
	struct stat sb;
	off_t pos = 0;
	void *p;
	int fd;

	for (size_t i = 0; i < st->nr_warm; i++)
		if (st->warm[i].dev == v->dev && st->warm[i].ino == v->ino)
			return;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
		 (unsigned long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) || !sb.st_size)
		goto out;
	w.len = (sb.st_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	w.map = mmap(NULL, w.len, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(w.len / PAGE_SIZE);
	if (w.map == MAP_FAILED || !vec || mincore(w.map, w.len, vec))
		goto out;
	while (next_data(fd, w.len / PAGE_SIZE, &pos, &first, &last) > 0)
		advise_runs(w.map, vec, first, last, true, MADV_POPULATE_READ);
	p = realloc(st->warm, (st->nr_warm + 1) * sizeof(w));
	if (p) {
		st->warm = p;
		st->warm[st->nr_warm++] = w;
		w.map = MAP_FAILED;
	}
out:
	if (w.map != MAP_FAILED)
		munmap(w.map, w.len);
	free(vec);
	if (fd >= 0)
		close(fd);
}

void shmem_prewarm(struct dump_ctx *ctx, const struct dump_task *t)
{
	for (size_t i = 0; i < t->vmas_hint.nr; i++) {
		const struct vma *v = &t->vmas_hint.v[i];

		/* hugetlb: mincore() would not find its pages, and they cannot swap. */
		if (v->kind == VMA_KIND__VMA_SHMEM && vma_shmem_kind(v) == SHMEM_KIND__SHMEM_ANON &&
		    !(v->flags & MAP_HUGETLB))
			warm_one(ctx->shmem, t->pid, v);
	}
}

int shmem_kind(const struct dump_ctx *ctx, uint32_t id)
{
	return id && id <= ctx->shmem->nr ? (int)ctx->shmem->o[id - 1].e.kind : -1;
}

bool shmem_huge(const struct dump_ctx *ctx, uint32_t id)
{
	return id && id <= ctx->shmem->nr && ctx->shmem->o[id - 1].e.has_huge_page_size;
}

/*
 * A SysV segment is attached whole (shmat); a part of an attachment is a
 * mapping that continues the one before it, of the same segment, at the
 * next offset. The attachment's first part is at offset 0; a part at the
 * end may be unmapped (restore attaches whole, then unmaps it).
 */
static bool sysv_part_ok(const struct vma *v, const struct vma *prev)
{
	if (!v->pgoff)
		return true;
	return prev && prev->kind == VMA_KIND__VMA_SHMEM && !strncmp(prev->path, "/SYSV", 5) &&
	       prev->ino == v->ino && prev->end == v->start &&
	       prev->pgoff + (prev->end - prev->start) / PAGE_SIZE == v->pgoff;
}

int shmem_note_vma(struct dump_ctx *ctx, pid_t pid, struct vma *v, const struct vma *prev)
{
	bool sysv = !strncmp(v->path, "/SYSV", 5);
	struct shmem_obj *o = find_obj(ctx->shmem, sysv, v->dev, v->ino);

	if (!o) {
		o = add_obj(ctx->shmem, sysv, v->dev, v->ino);
		if (!o)
			return -1;
		if (fill_new(o, pid, v)) {
			drop_last(ctx->shmem);
			return -1;
		}
	}
	if (sysv && !sysv_part_ok(v, prev)) {
		pr_err("%s: a SysV attachment whose start was unmapped is not supported yet",
		       o->what);
		return -1;
	}
	v->shmem_id = o->e.id;
	return 0;
}

int shmem_note_memfd(struct dump_ctx *ctx, pid_t pid, int tfd, int fd, const char *path,
		     uint32_t *id)
{
	struct shmem_obj *o;
	struct stat st;

	if (fstat(fd, &st)) {
		pr_perror("pid %d fd %d: fstat", pid, tfd);
		return -1;
	}
	o = find_obj(ctx->shmem, false, st.st_dev, st.st_ino);
	if (!o) {
		o = add_obj(ctx->shmem, false, st.st_dev, st.st_ino);
		if (!o)
			return -1;
		o->e.kind = SHMEM_KIND__SHMEM_MEMFD;
		snprintf(o->what, sizeof(o->what), "pid %d fd %d (%s)", pid, tfd, path);
		/* Our own open file description: lseek must not move the task's offset. */
		o->fd = reopen_fd(fd, O_RDONLY | O_CLOEXEC);
		o->e.name = strdup(path + strlen("/memfd:"));
		if (o->fd < 0 || !o->e.name) {
			pr_perror("%s: cannot keep it", o->what);
			drop_last(ctx->shmem);
			return -1;
		}
		if (obj_stat(o)) {
			drop_last(ctx->shmem);
			return -1;
		}
	}
	*id = o->e.id;
	return 0;
}

int shmem_note_ghost(struct dump_ctx *ctx, dev_t dev, ino_t ino, uint32_t *id)
{
	struct shmem_table *st = ctx->shmem;
	struct ghost_seen *g;

	for (size_t i = 0; i < st->nr_ghosts; i++)
		if (st->ghosts[i].dev == dev && st->ghosts[i].ino == ino) {
			*id = i + 1;
			return 0;
		}
	g = realloc(st->ghosts, (st->nr_ghosts + 1) * sizeof(*g));
	if (!g) {
		pr_err("out of memory for the list of deleted files");
		return -1;
	}
	st->ghosts = g;
	st->ghosts[st->nr_ghosts++] = (struct ghost_seen){ dev, ino };
	*id = st->nr_ghosts;
	return 1;
}

/* Attach @shmid to open it like a mapping; the attachment goes at once. */
static int open_sysv(struct shmem_obj *o, int shmid)
{
	void *p = shmat(shmid, NULL, SHM_RDONLY);

	if (p == (void *)-1) {
		pr_perror("%s: cannot attach it to read it", o->what);
		return -1;
	}
	o->fd = open_own_mapping(p, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		pr_perror("%s: cannot open it from its attachment", o->what);
	shmdt(p);
	return o->fd < 0 ? -1 : 0;
}

/*
 * /proc/sysvipc/shm: "key shmid perms size cpid lpid nattch ...". A segment
 * a task created or last attached or detached may be detached now and
 * attached again later by its id: it belongs to the dump as much as a mapped
 * one. Segments of other processes do not.
 */
int shmem_note_sysv_created(struct dump_ctx *ctx, pid_t pid)
{
	char line[512];
	int ret = ipc_ns_own(pid);
	FILE *f;

	/* In an ipc namespace of the tree's own, all its segments are saved with it. */
	if (ret <= 0)
		return ret;
	ret = 0;
	f = fopen("/proc/sysvipc/shm", "re");
	if (!f)
		return errno == ENOENT ? 0 : (pr_perror("cannot open /proc/sysvipc/shm"), -1);
	while (!ret && fgets(line, sizeof(line), f)) {
		struct shmem_obj *o;
		int key, shmid, cpid, lpid;

		if (sscanf(line, "%d %d %*o %*u %d %d", &key, &shmid, &cpid, &lpid) != 4 ||
		    (cpid != pid && lpid != pid))
			continue;
		if (find_obj(ctx->shmem, true, 0, shmid))
			continue;
		o = add_obj(ctx->shmem, true, 0, shmid);
		if (!o) {
			ret = -1;
			break;
		}
		o->e.kind = SHMEM_KIND__SHMEM_SYSV;
		snprintf(o->what, sizeof(o->what), "pid %d SysV segment %d (key %#x)", pid, shmid,
			 key);
		if (open_sysv(o, shmid) || obj_stat(o) || obj_sysv(o, pid, shmid)) {
			drop_last(ctx->shmem);
			ret = -1;
		}
	}
	fclose(f);
	return ret;
}

/* Pages [@first, @last) of @o are data: one more range of its entry, counted. */
static int add_range(struct dump_ctx *ctx, struct shmem_obj *o, uint64_t first, uint64_t last)
{
	if (pagemap_append(&o->e.pages, &o->e.n_pages, first * PAGE_SIZE, last - first)) {
		pr_err("%s: out of memory", o->what);
		return -1;
	}
	ctx->st.shmem_pages += last - first;
	return 0;
}

struct huge_find {
	struct dump_ctx *ctx;
	struct shmem_obj *o;
};

static int add_huge_run(void *arg, uint64_t off, uint64_t len)
{
	struct huge_find *f = arg;

	return add_range(f->ctx, f->o, off / PAGE_SIZE, (off + len) / PAGE_SIZE);
}

/*
 * The data ranges of @o into its entry, counted; @vec says what was
 * resident (NULL for hugetlbfs, which has no swap).
 */
static int find_ranges(struct dump_ctx *ctx, struct shmem_obj *o, const unsigned char *vec)
{
	uint64_t npages = (o->e.size + PAGE_SIZE - 1) / PAGE_SIZE, first, last;
	struct huge_find f = { ctx, o };
	off_t pos = 0;
	int ret;

	if (o->e.has_huge_page_size)
		return huge_data_runs(o->fd, o->e.size, o->e.huge_page_size, o->what,
				      add_huge_run, &f);
	while ((ret = next_data(o->fd, npages, &pos, &first, &last)) > 0) {
		if (add_range(ctx, o, first, last))
			return -1;
		for (uint64_t i = first; i < last; i++)
			ctx->st.shmem_swapped += !(vec[i] & 1);
	}
	if (ret < 0)
		pr_perror("%s: SEEK_DATA/SEEK_HOLE", o->what);
	return ret;
}

/* Write the ranges found into shmem-pages-ID.img (made even when empty). */
static int write_ranges(struct dump_ctx *ctx, struct shmem_obj *o, char *map,
			const unsigned char *vec)
{
	struct page_sink *ps = page_sink_open(ctx, PAGE_SINK_SHMEM, o->e.id, o->what);
	uint64_t idx = 0;
	size_t i;

	if (!ps)
		return -1;
	for (i = 0; i < o->e.n_pages; i++)
		if (page_sink_add_run(ps, o->e.pages[i]->vaddr, o->e.pages[i]->nr_pages))
			goto fail;
	if (page_sink_layout_done(ps))
		goto fail;
	for (i = 0; i < o->e.n_pages; i++) {
		uint64_t first = o->e.pages[i]->vaddr / PAGE_SIZE, nr = o->e.pages[i]->nr_pages;

		if (page_sink_write(ps, idx, map + first * PAGE_SIZE, nr))
			goto fail;
		idx += nr;
		if (vec)
			shmem_pageout(o->what, map, vec, first, first + nr);
	}
	return page_sink_close(ps);
fail:
	page_sink_abort(ps);
	return -1;
}

/*
 * The pages of @o: offered to @hold, which may keep them (a live dump holds
 * them, to stream once the tree runs); else written into shmem-pages-ID.img
 * now. Pages the read swaps in go out again after. A hugetlbfs object is
 * mapped without a reservation (it may have none for its holes), and only
 * its data pages are read through the mapping: a hole read there would be
 * allocated.
 */
static int save_pages(struct dump_ctx *ctx, struct shmem_obj *o, shmem_hold_fn *hold)
{
	uint64_t npages = (o->e.size + PAGE_SIZE - 1) / PAGE_SIZE, len = npages * PAGE_SIZE;
	struct shmem_data d = { .id = o->e.id, .kind = o->e.kind, .what = o->what, .fd = o->fd,
				.size = o->e.size, .huge = o->e.has_huge_page_size };
	char *map = MAP_FAILED;
	int ret = -1;

	if (!len)
		return write_ranges(ctx, o, NULL, NULL);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED | (d.huge ? MAP_NORESERVE : 0), o->fd, 0);
	d.resident = d.huge ? NULL : malloc(npages);
	if (map == MAP_FAILED || (!d.huge && (!d.resident || mincore(map, len, d.resident)))) {
		pr_perror("%s: cannot map its %llu bytes to read them", o->what,
			  (unsigned long long)o->e.size);
		goto out;
	}
	if (find_ranges(ctx, o, d.resident))
		goto out;
	d.ranges = o->e.pages;
	d.nr_ranges = o->e.n_pages;
	ret = hold ? hold(ctx, &d) : 0;
	if (!ret)
		ret = write_ranges(ctx, o, map, d.resident);
	else if (ret > 0)
		ret = 0;
out:
	if (map != MAP_FAILED)
		munmap(map, len);
	free(d.resident);
	return ret;
}

int shmem_write(struct dump_ctx *ctx, shmem_hold_fn *hold)
{
	struct shmem_table *st = ctx->shmem;
	struct image *img;
	size_t i;
	int ret = 0;

	if (!st->nr)
		return 0;
	img = img_open_write(ctx->dirfd, IMG_SHMEM, 0);
	if (!img)
		return -1;
	for (i = 0; i < st->nr && !ret; i++) {
		struct shmem_obj *o = &st->o[i];

		/* A segment of the tree's ipc namespace: its data is in ipcns-ID.img's. */
		ret = (!o->e.ipc_ns && save_pages(ctx, o, hold)) || img_write(img, &o->e.base);
		for (size_t j = 0; j < o->e.n_pages; j++)
			free(o->e.pages[j]);
		free(o->e.pages);
		o->e.pages = NULL;
		o->e.n_pages = 0;
	}
	ctx->st.shmem_objects = st->nr;
	if (ret) {
		img_abort(img);
		return -1;
	}
	return img_close(img);
}
