// SPDX-License-Identifier: GPL-2.0
/*
 * SysV shared memory segments of an ipc namespace, both ways (see ipc.h).
 * Dump, in the namespace: each segment's owner, size and flags, and its data
 * - only the ranges SEEK_DATA finds, read through a short read-only
 * attachment - appended to ipcns-shm-pages-ID.img. Restore, in the new
 * namespace: each segment made with its id and creator, filled, locked; the
 * tasks attach it later by id (mem/shmem.h: its shmem.img entry is ipc_ns).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/shm.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "mem/huge-data.h"
#include "mem/shmem.h"
#include "ns/ipc.h"
#include "image.h"

static uint64_t page_align(uint64_t v)
{
	return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

void ipc_shm_entry_free(IpcShmEntry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_pages; i++)
		free(e->pages[i]);
	free(e->pages);
	ipc_perm_free(e->perm);
	free(e);
}

/*
 * Bytes [@off, @off + @len) of the segment into the pages file: from the
 * segment's file in the kernel (no page of it faulted into our mapping), or
 * through the mapping where sendfile() cannot.
 */
static int copy_range(struct ipc_dump *d, const char *map, int fd, off_t off, size_t len)
{
	while (len) {
		ssize_t n = sendfile(d->pages_fd, fd, &off, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len -= n;
	}
	if (len && write_full(d->pages_fd, map + off, len)) {
		pr_perror("image ipcns-shm-pages-%u.img", d->id);
		return -1;
	}
	return 0;
}

/* What the ranges of one segment's data go with. */
struct seg_save {
	struct ipc_dump *d;
	IpcShmEntry *e;
	const char *map;	/* its read-only attachment */
	int fd;			/* opened from it */
};

/* Pages [@first, @last) of the segment are data: into the entry and the pages file. */
static int save_range(struct seg_save *s, uint64_t first, uint64_t last)
{
	IpcShmEntry *e = s->e;

	if (pagemap_append(&e->pages, &e->n_pages, first * PAGE_SIZE, last - first)) {
		pr_err("out of memory for a shm segment's page list");
		return -1;
	}
	if (copy_range(s->d, s->map, s->fd, first * PAGE_SIZE, (last - first) * PAGE_SIZE))
		return -1;
	s->d->nr_pages += last - first;
	return 0;
}

static int save_huge_run(void *arg, uint64_t off, uint64_t len)
{
	return save_range(arg, off / PAGE_SIZE, (off + len) / PAGE_SIZE);
}

/*
 * The data of the segment: every range with data (swapped pages are data,
 * holes are not); for huge pages, what huge-data.h finds.
 */
static int save_data(struct seg_save *s)
{
	uint64_t npages = page_align(s->e->size) / PAGE_SIZE;
	off_t pos = 0, data, hole;

	if (s->e->has_huge_page_size)
		return huge_data_runs(s->fd, s->e->size, s->e->huge_page_size,
				      "ipc namespace: a SysV segment", save_huge_run, s);
	while ((uint64_t)pos < npages * PAGE_SIZE) {
		uint64_t first, last;

		data = lseek(s->fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(s->fd, data, SEEK_HOLE);
		if (hole < 0) {
			pr_perror("ipc namespace: SysV segment %d: SEEK_DATA/SEEK_HOLE",
				  s->e->perm->id);
			return -1;
		}
		first = data / PAGE_SIZE;
		last = (hole + PAGE_SIZE - 1) / PAGE_SIZE;
		if (last > npages)
			last = npages;
		pos = hole;
		if (first < last && save_range(s, first, last))
			return -1;
	}
	return 0;
}

/*
 * Attach @e's segment read-only for as long as it is read, and open it from
 * the mapping to find its data. On hugetlbfs, statfs() gives the page size.
 */
static int read_segment(struct ipc_dump *d, IpcShmEntry *e)
{
	struct seg_save s = { d, e, NULL, -1 };
	int id = e->perm->id, ret = -1;
	struct statfs sfs;
	void *p;

	p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		pr_perror("ipc namespace: SysV segment %d: cannot attach it to read it", id);
		return -1;
	}
	s.map = p;
	s.fd = open_own_mapping(p, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0 || fstatfs(s.fd, &sfs)) {
		pr_perror("ipc namespace: SysV segment %d: cannot open it from its attachment", id);
	} else {
		if (sfs.f_type == HUGETLBFS_MAGIC) {
			e->has_huge_page_size = true;
			e->huge_page_size = sfs.f_bsize;
		}
		ret = save_data(&s);
	}
	if (s.fd >= 0)
		close(s.fd);
	shmdt(p);
	return ret;
}

static int dump_one(struct ipc_dump *d, int id)
{
	struct shmid_ds ds;
	IpcShmEntry *e, **pp;

	if (shmctl(id, IPC_STAT, &ds)) {
		/* Gone since it was listed (a task outside the tree removed it). */
		if (errno == EINVAL || errno == EIDRM)
			return 0;
		pr_perror("ipc namespace: SysV segment %d: IPC_STAT", id);
		return -1;
	}
	e = calloc(1, sizeof(*e));
	pp = realloc(d->e.shm, (d->e.n_shm + 1) * sizeof(*pp));
	if (pp)
		d->e.shm = pp;
	if (!e || !pp) {
		free(e);
		pr_err("out of memory");
		return -1;
	}
	ipc_shm_entry__init(e);
	d->e.shm[d->e.n_shm++] = e;
	e->perm = ipc_perm_new(&ds.shm_perm, id);
	if (!e->perm) {
		pr_err("out of memory");
		return -1;
	}
	e->size = ds.shm_segsz;
	e->has_locked = e->locked = ds.shm_perm.mode & SHM_LOCKED;
	e->has_removed = e->removed = ds.shm_perm.mode & SHM_DEST;
	return read_segment(d, e);
}

int ipc_shm_dump(struct ipc_dump *d)
{
	size_t nr, i;
	int *ids, ret = 0;

	if (ipc_list_ids("shm", &ids, &nr))
		return -1;
	for (i = 0; i < nr && !ret; i++)
		ret = dump_one(d, ids[i]);
	free(ids);
	return ret;
}

static int huge_check(const struct ipc_restore *r, const IpcShmEntry *e)
{
	char what[64];

	snprintf(what, sizeof(what), "image ipcns-%u.img: SysV segment %d", r->id, e->perm->id);
	return huge_size_check(e->huge_page_size, what);
}

int ipc_shm_check(struct ipc_restore *r)
{
	for (size_t i = 0; i < r->e->n_shm; i++) {
		const IpcShmEntry *e = r->e->shm[i];
		uint64_t end = 0;

		if (ipc_perm_check(e->perm, r->id, "SysV segment", i))
			return -1;
		if (e->has_huge_page_size && huge_check(r, e))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (r->e->shm[j]->perm->id == e->perm->id ||
			    (e->perm->key && r->e->shm[j]->perm->key == e->perm->key)) {
				pr_err("image ipcns-%u.img: SysV segment %d: its id or key twice",
				       r->id, e->perm->id);
				return -1;
			}
		for (size_t j = 0; j < e->n_pages; j++) {
			const PagemapEntry *p = e->pages[j];

			if (!p->nr_pages || p->vaddr % PAGE_SIZE || p->vaddr < end ||
			    p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE > page_align(e->size)) {
				pr_err("image ipcns-%u.img: SysV segment %d: pages at offset %llu "
				       "are "
				       "outside it",
				       r->id, e->perm->id, (unsigned long long)p->vaddr);
				return -1;
			}
			end = p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE;
			r->nr_pages += p->nr_pages;
		}
	}
	return 0;
}

static int make_segment(const IpcPermEntry *perm, void *arg)
{
	const IpcShmEntry *e = arg;
	int huge = e->has_huge_page_size ? SHM_HUGETLB | huge_size_flags(e->huge_page_size) : 0;

	return shmget(perm->key, e->size, IPC_CREAT | IPC_EXCL | perm->mode | huge);
}

static int read_pages(int fd, char *buf, size_t len, off_t off, uint32_t id)
{
	if (!pread_full(fd, buf, len, off))
		return 0;
	pr_err("image ipcns-shm-pages-%u.img: %s", id,
	       errno == ENODATA ? "ends early" : strerror(errno));
	return -1;
}

/*
 * Bytes [@at, @at + @len) of the segment's file @sfd from @off in the pages
 * file @fd, copied in the kernel: how many were.
 */
static size_t copy_in(int sfd, int fd, off_t at, off_t off, size_t len)
{
	size_t done = 0;

	if (lseek(sfd, at, SEEK_SET) != at)
		return 0;
	while (done < len) {
		ssize_t n = sendfile(sfd, fd, &off, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

/*
 * Its pages, from @off in the pages file: copied in the kernel into the
 * segment's file, opened from a mapping of our own (no page faulted in one
 * by one), up to the segment's size - a write past it would grow the file,
 * and shmat() maps as much as the file holds; the rest, and all of it if
 * the kernel cannot, through the mapping.
 */
static int fill_segment(const IpcShmEntry *e, int fd, off_t off, uint32_t ns_id)
{
	char *p = shmat(e->perm->id, NULL, 0);
	int sfd, ret = 0;

	if (p == (void *)-1) {
		pr_perror("SysV segment %d: cannot attach it to fill it", e->perm->id);
		return -1;
	}
	sfd = open_own_mapping(p, O_RDWR | O_CLOEXEC);
	for (size_t i = 0; i < e->n_pages && !ret; i++) {
		uint64_t at = e->pages[i]->vaddr, len = e->pages[i]->nr_pages * PAGE_SIZE;
		uint64_t in = at < e->size ? e->size - at : 0, done = 0;

		if (sfd >= 0)
			done = copy_in(sfd, fd, at, off, in < len ? in : len);
		if (done < len)
			ret = read_pages(fd, p + at + done, len - done, off + done, ns_id);
		off += len;
	}
	if (sfd >= 0)
		close(sfd);
	shmdt(p);
	return ret;
}

/*
 * Whether a task of the tree maps segment @id: a removed one that none
 * does is gone as soon as it is made, and is not made.
 */
static bool tree_maps(const struct restore_ctx *ctx, int id)
{
	const struct shmem_restore *sr = ctx->shmem;

	for (size_t i = 0; sr && i < sr->nr; i++)
		if (sr->objs[i]->kind == SHMEM_KIND__SHMEM_SYSV && sr->objs[i]->sysv_id == id)
			return true;
	return false;
}

static int restore_one(struct restore_ctx *ctx, const IpcShmEntry *e, int fd, off_t off,
		       uint32_t ns_id)
{
	struct shmid_ds ds;
	int id = e->perm->id;

	if (e->removed && !tree_maps(ctx, id)) {
		pr_info("SysV segment %d: removed, and no task of the tree attaches it: not made",
			id);
		return 0;
	}
	if (ipc_create(e->perm, "kernel/shm_next_id", "SysV segment", make_segment, (void *)e) < 0)
		return -1;
	if (shmctl(id, IPC_STAT, &ds)) {
		pr_perror("SysV segment %d: IPC_STAT", id);
		return -1;
	}
	ipc_perm_apply(e->perm, &ds.shm_perm);
	if (shmctl(id, IPC_SET, &ds)) {
		pr_perror("SysV segment %d: IPC_SET", id);
		return -1;
	}
	if (e->locked && shmctl(id, SHM_LOCK, NULL)) {
		pr_perror("SysV segment %d: SHM_LOCK", id);
		return -1;
	}
	return fill_segment(e, fd, off, ns_id);
}

/*
 * Removed segments are removed again by shmem_finish(), once the tasks have
 * attached them.
 */
int ipc_shm_restore(struct restore_ctx *ctx, struct ipc_restore *r)
{
	off_t off = 0;
	int fd, ret = 0;

	if (!r->e->n_shm)
		return 0;
	fd = img_open_raw(ctx->dirfd, "ipcns-shm-pages-%u.img", r->id, O_RDONLY);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < r->e->n_shm && !ret; i++) {
		const IpcShmEntry *e = r->e->shm[i];

		ret = restore_one(ctx, e, fd, off, r->id);
		for (size_t j = 0; j < e->n_pages; j++)
			off += e->pages[j]->nr_pages * PAGE_SIZE;
	}
	close(fd);
	return ret;
}
