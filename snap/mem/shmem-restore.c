// SPDX-License-Identifier: GPL-2.0
/* Shared memory objects, restore side (see shmem.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mem/ghost.h"
#include "mem/huge-data.h"
#include "mem/shmem.h"
#include "ns/ns.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 2U
#endif

#define SHM_NEXT_ID "/proc/sys/kernel/shm_next_id"

static uint64_t page_align(uint64_t v)
{
	return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

int shmem_index(const struct restore_ctx *ctx, uint32_t id, const char *what)
{
	if (!id || id > ctx->shmem->nr) {
		pr_err("%s: refers to shared memory object %u, not in shmem.img", what, id);
		return -1;
	}
	return id - 1;
}

/* A hugetlbfs object: in a power-of-two page size this machine has. */
static int check_huge(const ShmemEntry *e)
{
	char what[64];

	if (!e->has_huge_page_size)
		return 0;
	snprintf(what, sizeof(what), "image shmem.img: object %u", e->id);
	return huge_size_check(e->huge_page_size, what);
}

/* Ranges in order, inside the object; the page file exactly as long. */
static int check_obj(struct restore_ctx *ctx, const ShmemEntry *e, size_t idx)
{
	uint64_t end = 0, pages = 0;
	struct stat st;
	size_t i;
	int fd;

	if (e->id != idx + 1 || (e->kind == SHMEM_KIND__SHMEM_SYSV && !e->has_sysv_id) ||
	    ((e->kind == SHMEM_KIND__SHMEM_MEMFD || e->kind == SHMEM_KIND__SHMEM_FILE) &&
	     !e->name) ||
	    (e->kind == SHMEM_KIND__SHMEM_FILE &&
	     ((strncmp(e->name, "/dev/shm/", 9) && !(e->has_huge_page_size && e->name[0] == '/')) ||
	      strstr(e->name, "/../")))) {
		pr_err("image shmem.img: object %zu: inconsistent contents", idx + 1);
		return -1;
	}
	for (i = 0; i < e->n_pages; i++) {
		const PagemapEntry *p = e->pages[i];

		if (!p->nr_pages || p->vaddr % PAGE_SIZE || p->vaddr < end ||
		    p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE > page_align(e->size)) {
			pr_err("image shmem.img: object %u: pages at offset %llu are outside it",
			       e->id, (unsigned long long)p->vaddr);
			return -1;
		}
		end = p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE;
		pages += p->nr_pages;
	}
	if (check_huge(e))
		return -1;
	if (e->ipc_ns) {
		if (e->kind != SHMEM_KIND__SHMEM_SYSV || e->n_pages) {
			pr_err("image shmem.img: object %u: inconsistent contents", e->id);
			return -1;
		}
		return 0;
	}
	fd = img_open_raw(ctx->dirfd, "shmem-pages-%u.img", e->id, O_RDONLY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		pr_perror("image shmem-pages-%u.img", e->id);
		close(fd);
		return -1;
	}
	close(fd);
	if ((uint64_t)st.st_size != pages * PAGE_SIZE) {
		pr_err("image shmem-pages-%u.img: %s (%lld bytes, shmem.img describes %llu)", e->id,
		       (uint64_t)st.st_size < pages * PAGE_SIZE ? "truncated" : "too long",
		       (long long)st.st_size, (unsigned long long)(pages * PAGE_SIZE));
		return -1;
	}
	return 0;
}

int shmem_load(struct restore_ctx *ctx)
{
	struct shmem_restore *sr = calloc(1, sizeof(*sr));
	size_t i;

	if (!sr) {
		pr_err("out of memory");
		return -1;
	}
	ctx->shmem = sr;
	if (img_load_all(ctx->dirfd, IMG_SHMEM, 0, true, (void ***)&sr->objs, &sr->nr))
		return -1;
	sr->fds = malloc((sr->nr + 1) * sizeof(*sr->fds));
	sr->made = calloc(sr->nr + 1, sizeof(*sr->made));
	if (!sr->fds || !sr->made) {
		pr_err("out of memory");
		return -1;
	}
	for (i = 0; i < sr->nr; i++)
		sr->fds[i] = -1;
	for (i = 0; i < sr->nr; i++)
		if (check_obj(ctx, sr->objs[i], i))
			return -1;
	return 0;
}

static int read_full(int fd, char *buf, size_t len, uint32_t id)
{
	ssize_t n;

	while (len) {
		n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("image shmem-pages-%u.img: %s", id,
			       n ? strerror(errno) : "ends early");
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* The object's pages into @map, its mapping in snap. */
static int fill(struct restore_ctx *ctx, const ShmemEntry *e, char *map)
{
	int fd = img_open_raw(ctx->dirfd, "shmem-pages-%u.img", e->id, O_RDONLY);
	size_t i;
	int ret = 0;

	if (fd < 0)
		return -1;
	for (i = 0; i < e->n_pages && !ret; i++)
		ret = read_full(fd, map + e->pages[i]->vaddr, e->pages[i]->nr_pages * PAGE_SIZE,
				e->id);
	close(fd);
	return ret;
}

/*
 * @why failed for object @e (@what): for hugetlb, ENOMEM means the pool of
 * huge pages has too few free ones (reserved as the object is mapped).
 */
static void huge_perror(const ShmemEntry *e, const char *what, const char *why)
{
	if (errno == ENOMEM && e->has_huge_page_size)
		pr_err("%s: %s: its %llu bytes need free %llu kB huge pages "
		       "(/proc/sys/vm/nr_hugepages)",
		       what, why, (unsigned long long)e->size,
		       (unsigned long long)e->huge_page_size >> 10);
	else
		pr_perror("%s: %s", what, why);
}

static int map_and_fill(struct restore_ctx *ctx, const ShmemEntry *e, int fd)
{
	uint64_t len = page_align(e->size);
	char *map, what[64];
	int ret;

	if (!len)
		return 0;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		if (e->kind == SHMEM_KIND__SHMEM_MEMFD)
			snprintf(what, sizeof(what), "memfd %s", e->name);
		else
			snprintf(what, sizeof(what), "shared memory object %u", e->id);
		huge_perror(e, what, "cannot map it to fill it");
		return -1;
	}
	ret = fill(ctx, e, map);
	munmap(map, len);
	return ret;
}

/* Shared anonymous memory: ours, opened through map_files to pass it on. */
static int create_anon(const ShmemEntry *e)
{
	int huge = e->has_huge_page_size ? MAP_HUGETLB | huge_size_flags(e->huge_page_size) : 0;
	uint64_t len = page_align(e->size);
	char path[96];
	void *p;
	int fd;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | huge, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(path, sizeof(path), "shared memory object %u", e->id);
		huge_perror(e, path, "cannot create it");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + len);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		pr_perror("shared memory object %u: cannot open %s", e->id, path);
	munmap(p, len);
	return fd;
}

static int create_memfd(const ShmemEntry *e)
{
	unsigned int huge =
		e->has_huge_page_size ? MFD_HUGETLB | huge_size_flags(e->huge_page_size) : 0;
	int fd = memfd_create(e->name, MFD_CLOEXEC | MFD_ALLOW_SEALING | huge);

	if (fd < 0)
		pr_perror("memfd %s: cannot create it", e->name);
	return fd;
}

/*
 * An unlinked /dev/shm file: made under its name if free (its mappings then
 * read "NAME (deleted)"), else under a temporary one, and unlinked at once:
 * snap's fd keeps it.
 */
static int create_deleted_file(const ShmemEntry *e)
{
	char name[4096 + 32], dir[4096];
	int fd = open(e->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, e->mode);

	snprintf(dir, sizeof(dir), "%s", e->name);
	if (fd >= 0) {
		snprintf(name, sizeof(name), "%s", e->name);
	} else if (errno == EEXIST) {
		/* Next to it: on its file system (a hugetlbfs mount's, say). */
		snprintf(name, sizeof(name), "%s/.snap-shm-XXXXXX", dirname(dir));
		fd = mkostemp(name, O_CLOEXEC);
	}
	if (fd < 0 || unlink(name)) {
		pr_perror("shared memory file %s (deleted): cannot recreate it", e->name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * The file (/dev/shm/NAME, or one on a hugetlbfs mount) gets the dumped
 * contents, whether it still exists or not.
 */
static int create_file(const ShmemEntry *e, bool *made)
{
	int fd;

	if (e->deleted)
		return create_deleted_file(e);
	fd = open(e->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, e->mode);
	*made = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(e->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0)) {
		pr_perror("shared memory file %s: cannot create it", e->name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A file made again in huge pages must be where they are: on a hugetlbfs mount of its size. */
static int check_hugetlbfs(int fd, const ShmemEntry *e)
{
	struct statfs sf;

	if (fstatfs(fd, &sf)) {
		pr_perror("shared memory file %s: statfs", e->name);
		return -1;
	}
	if (sf.f_type != HUGETLBFS_MAGIC || (uint64_t)sf.f_bsize != e->huge_page_size) {
		pr_err("shared memory file %s: not on a hugetlbfs mount of %llu kB pages, as it "
		       "was",
		       e->name, (unsigned long long)e->huge_page_size >> 10);
		return -1;
	}
	return 0;
}

static int set_owner(int fd, const ShmemEntry *e, const char *what)
{
	if (ftruncate(fd, e->size) || fchmod(fd, e->mode) || fchown(fd, e->uid, e->gid)) {
		pr_perror("%s: cannot set its size, mode and owner", what);
		return -1;
	}
	return 0;
}

static int write_next_id(int id)
{
	char buf[16];
	int fd = open(SHM_NEXT_ID, O_WRONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%d", id);
	n = write(fd, buf, n) == n ? 0 : -1;
	close(fd);
	return n;
}

/* A new segment with the dumped id, through shm_next_id. */
static int sysv_new(const ShmemEntry *e)
{
	char what[64];
	int id, huge;

	if (write_next_id(e->sysv_id)) {
		pr_perror("SysV segment %d: cannot ask for its id through %s", e->sysv_id,
			  SHM_NEXT_ID);
		return -1;
	}
	huge = e->has_huge_page_size ? SHM_HUGETLB | huge_size_flags(e->huge_page_size) : 0;
	id = shmget(e->sysv_key, e->size, IPC_CREAT | IPC_EXCL | e->mode | huge);
	write_next_id(-1);
	if (id < 0) {
		snprintf(what, sizeof(what), "SysV segment %d (key %#x)", e->sysv_id, e->sysv_key);
		huge_perror(e, what, "shmget");
		return -1;
	}
	if (id != e->sysv_id) {
		pr_err("SysV segment %d (key %#x): created as %d", e->sysv_id, e->sysv_key, id);
		shmctl(id, IPC_RMID, NULL);
		return -1;
	}
	return 0;
}

/*
 * A segment that was still there has data of its own where the image has
 * holes: punched out, or zeroed if it cannot be. Only there: a huge page
 * punched out loses its reservation, and filling it again could find none.
 */
static void clear_holes(const ShmemEntry *e, char *p)
{
	uint64_t align = e->has_huge_page_size ? e->huge_page_size : PAGE_SIZE;
	uint64_t end = (e->size + align - 1) & ~(align - 1), at = 0;

	for (size_t i = 0; i <= e->n_pages; i++) {
		uint64_t next = i < e->n_pages ? e->pages[i]->vaddr : end;
		uint64_t stop = next < e->size ? next : e->size;

		if (next > at && madvise(p + at, next - at, MADV_REMOVE) && stop > at)
			memset(p + at, 0, stop - at);
		if (i < e->n_pages)
			at = next + e->pages[i]->nr_pages * PAGE_SIZE;
	}
}

/*
 * A segment outlives its processes: after a dump that killed them, it is
 * still there with its id and key, and the restore takes it back.
 */
static int create_sysv(struct restore_ctx *ctx, const ShmemEntry *e, bool *made)
{
	struct shmid_ds ds;
	void *p;
	int ret;

	if (!shmctl(e->sysv_id, IPC_STAT, &ds)) {
		if (ds.shm_perm.__key != e->sysv_key || ds.shm_segsz != e->size) {
			pr_err("SysV segment %d: the id is taken by another segment (key %#x, %zu "
			       "bytes; dumped: key %#x, %llu bytes)",
			       e->sysv_id, ds.shm_perm.__key, (size_t)ds.shm_segsz, e->sysv_key,
			       (unsigned long long)e->size);
			return -1;
		}
	} else if (sysv_new(e)) {
		return -1;
	} else {
		*made = true;
	}
	if (shmctl(e->sysv_id, IPC_STAT, &ds)) {
		pr_perror("SysV segment %d: IPC_STAT", e->sysv_id);
		return -1;
	}
	ds.shm_perm.uid = e->uid;
	ds.shm_perm.gid = e->gid;
	ds.shm_perm.mode = e->mode;
	if (shmctl(e->sysv_id, IPC_SET, &ds)) {
		pr_perror("SysV segment %d: IPC_SET", e->sysv_id);
		return -1;
	}
	p = shmat(e->sysv_id, NULL, 0);
	if (p == (void *)-1) {
		pr_perror("SysV segment %d: cannot attach it to fill it", e->sysv_id);
		return -1;
	}
	if (!*made)
		clear_holes(e, p);
	ret = fill(ctx, e, p);
	shmdt(p);
	return ret;
}

static int create_one(struct restore_ctx *ctx, const ShmemEntry *e, int *fdp, bool *made)
{
	char what[64];
	int fd;

	switch (e->kind) {
	case SHMEM_KIND__SHMEM_SYSV:
		/* In the tree's own ipc namespace: made there, filled, by ns/ipc-shm.c. */
		return e->ipc_ns ? 0 : create_sysv(ctx, e, made);
	case SHMEM_KIND__SHMEM_ANON:
		fd = create_anon(e);
		break;
	case SHMEM_KIND__SHMEM_MEMFD:
		fd = create_memfd(e);
		break;
	default:
		fd = create_file(e, made);
		break;
	}
	if (fd < 0)
		return -1;
	*fdp = fd;
	if (e->kind == SHMEM_KIND__SHMEM_FILE && e->has_huge_page_size && check_hugetlbfs(fd, e))
		return -1;
	snprintf(what, sizeof(what), "shared memory object %u", e->id);
	if (e->kind != SHMEM_KIND__SHMEM_ANON && set_owner(fd, e, what))
		return -1;
	return map_and_fill(ctx, e, fd);
}

/* A file at a path: of the tree's own mount namespace, when it has one. */
static bool at_path(const ShmemEntry *e)
{
	return e->kind != SHMEM_KIND__SHMEM_SYSV && e->kind != SHMEM_KIND__SHMEM_ANON &&
	       e->kind != SHMEM_KIND__SHMEM_MEMFD;
}

static int create_some(struct restore_ctx *ctx, bool paths)
{
	struct shmem_restore *sr = ctx->shmem;

	for (size_t i = 0; i < sr->nr; i++)
		if (at_path(sr->objs[i]) == paths &&
		    create_one(ctx, sr->objs[i], &sr->fds[i], &sr->made[i]))
			return -1;
	return paths ? ghost_create_all(ctx) : 0;
}

int shmem_create(struct restore_ctx *ctx, bool paths_in_root)
{
	ctx->shmem->paths_in_root = paths_in_root;
	return create_some(ctx, false) || (!paths_in_root && create_some(ctx, true)) ? -1 : 0;
}

int shmem_create_in_root(struct restore_ctx *ctx)
{
	return ctx->shmem->paths_in_root ? create_some(ctx, true) : 0;
}

int shmem_move_fds(struct restore_ctx *ctx, int base)
{
	struct shmem_restore *sr = ctx->shmem;

	for (size_t i = 0; i < sr->nr; i++) {
		int fd;

		if (sr->fds[i] < 0)
			continue;
		fd = fcntl(sr->fds[i], F_DUPFD_CLOEXEC, base);
		if (fd < 0) {
			pr_perror("cannot move the fd of shared memory object %zu", i + 1);
			return -1;
		}
		close(sr->fds[i]);
		sr->fds[i] = fd;
	}
	return ghost_move_fds(ctx, base);
}

/* In a child in the tree's ipc namespace (ns_call()). */
static int rmid_in_ns(void *arg, int fd)
{
	int id = *(int *)arg;

	(void)fd;
	if (shmctl(id, IPC_RMID, NULL)) {
		pr_perror("SysV segment %d: IPC_RMID in the tree's ipc namespace", id);
		return -1;
	}
	return 0;
}

/* Remove segment @id again, in the tree's ipc namespace if it has its own (@ipc_ns). */
static int rmid(struct restore_ctx *ctx, int id, bool ipc_ns)
{
	if (ipc_ns)
		return ns_call(ctx->tasks[0].real, NS_KIND__NS_IPC, rmid_in_ns, &id, NULL, 0) < 0
			       ? -1
			       : 0;
	if (shmctl(id, IPC_RMID, NULL)) {
		pr_perror("SysV segment %d: IPC_RMID", id);
		return -1;
	}
	return 0;
}

int shmem_finish(struct restore_ctx *ctx)
{
	struct shmem_restore *sr = ctx->shmem;

	for (size_t i = 0; i < sr->nr; i++) {
		const ShmemEntry *e = sr->objs[i];

		/* Seals last: a write seal would have kept the mappings out. */
		if (e->has_seals && e->seals && fcntl(sr->fds[i], F_ADD_SEALS, e->seals)) {
			pr_perror("memfd %s: cannot seal it (%#x)", e->name, e->seals);
			return -1;
		}
		if (e->kind == SHMEM_KIND__SHMEM_SYSV && e->sysv_removed &&
		    rmid(ctx, e->sysv_id, e->ipc_ns))
			return -1;
	}
	return 0;
}

void shmem_undo(struct restore_ctx *ctx)
{
	struct shmem_restore *sr = ctx->shmem;

	for (size_t i = 0; sr && i < sr->nr; i++) {
		const ShmemEntry *e = sr->objs[i];

		if (!sr->made[i])
			continue;
		if (e->kind == SHMEM_KIND__SHMEM_SYSV)
			shmctl(e->sysv_id, IPC_RMID, NULL);
		else
			unlink(e->name);
		sr->made[i] = false;
	}
}

void shmem_restore_free(struct restore_ctx *ctx)
{
	struct shmem_restore *sr = ctx->shmem;

	if (!sr)
		return;
	ghost_restore_free(ctx);
	for (size_t i = 0; i < sr->nr; i++) {
		if (sr->fds && sr->fds[i] >= 0)
			close(sr->fds[i]);
		protobuf_c_message_free_unpacked(&sr->objs[i]->base, NULL);
	}
	free(sr->objs);
	free(sr->fds);
	free(sr->made);
	free(sr);
	ctx->shmem = NULL;
}
