// SPDX-License-Identifier: GPL-2.0
/* /proc/PID parsers: stat, status, smaps, small files and links. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "proc/proc.h"

#define STOP_WAIT_MS 10000

ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	ssize_t n = 0, off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)off < size - 1 && (n = read(fd, buf + off, size - 1 - off)) > 0)
		off += n;
	close(fd);
	if (n < 0)
		return -1;
	buf[off] = '\0';
	return off;
}

ssize_t proc_read_file(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	n = read_small_file(path, buf, size);
	if (n < 0)
		pr_perror("cannot read %s", path);
	return n;
}

int proc_readlink(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	n = readlink(path, buf, size - 1);
	if (n < 0) {
		pr_perror("cannot read link %s", path);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

int proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char buf[4096], path[64], *p, *e;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: it ends at the last ')'. */
	p = strchr(buf, '(');
	e = strrchr(buf, ')');
	if (!p || !e || e - p - 1 >= (long)sizeof(st->comm)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(st->comm, p + 1, e - p - 1);
	st->comm[e - p - 1] = '\0';
	if (sscanf(e + 2,
		   "%c %d %d %d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
		   "%*u %*u %*d %*u %lu %lu %lu %*u %*u %*u %*u %*u %*u %*u %*u %*u %*d %*d %*u "
		   "%*u %*u %*u %*d %lu %lu %lu %lu %lu %lu %lu %d",
		   &st->state, &st->ppid, &st->pgid, &st->sid, &st->flags, &st->start_code,
		   &st->end_code, &st->start_stack, &st->start_data, &st->end_data,
		   &st->start_brk, &st->arg_start, &st->arg_end, &st->env_start,
		   &st->env_end, &st->exit_code) != 16) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void proc_wait_stopped(pid_t pid, pid_t tid)
{
	struct proc_stat st;

	for (int waited = 0; !proc_read_stat(tid, &st) && st.state != 'T'; waited++) {
		if (waited == STOP_WAIT_MS) {
			pr_warn("pid %d: thread %d is not in its stop after %d ms (state %c)", pid,
				tid, STOP_WAIT_MS, st.state);
			return;
		}
		usleep(1000);
	}
}

int parse_stat(pid_t pid, struct proc_stat *st)
{
	if (proc_read_stat(pid, st)) {
		pr_perror("cannot parse /proc/%d/stat", pid);
		return -1;
	}
	return 0;
}

static uint64_t hex64(const char *s)
{
	return strtoull(s, NULL, 16);
}

bool proc_same_creds(const struct proc_status *a, const struct proc_status *b)
{
	return !memcmp(a->uid, b->uid, sizeof(a->uid)) && !memcmp(a->gid, b->gid, sizeof(a->gid)) &&
	       a->ngroups == b->ngroups &&
	       !memcmp(a->groups, b->groups, a->ngroups * sizeof(a->groups[0])) &&
	       a->cap_inh == b->cap_inh && a->cap_prm == b->cap_prm && a->cap_eff == b->cap_eff &&
	       a->cap_bnd == b->cap_bnd && a->cap_amb == b->cap_amb;
}

int parse_status(pid_t pid, struct proc_status *st)
{
	char buf[8192], *line, *save;

	if (proc_read_file(pid, "status", buf, sizeof(buf)) < 0)
		return -1;
	memset(st, 0, sizeof(*st));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "Uid"))
			sscanf(v, "%u %u %u %u", &st->uid[0], &st->uid[1], &st->uid[2], &st->uid[3]);
		else if (!strcmp(line, "Gid"))
			sscanf(v, "%u %u %u %u", &st->gid[0], &st->gid[1], &st->gid[2], &st->gid[3]);
		else if (!strcmp(line, "Groups")) {
			char *tok, *s2;

			for (tok = strtok_r(v, " \t", &s2); tok && st->ngroups < 64;
			     tok = strtok_r(NULL, " \t", &s2))
				st->groups[st->ngroups++] = strtoul(tok, NULL, 10);
		} else if (!strcmp(line, "CapInh"))
			st->cap_inh = hex64(v);
		else if (!strcmp(line, "CapPrm"))
			st->cap_prm = hex64(v);
		else if (!strcmp(line, "CapEff"))
			st->cap_eff = hex64(v);
		else if (!strcmp(line, "CapBnd"))
			st->cap_bnd = hex64(v);
		else if (!strcmp(line, "CapAmb"))
			st->cap_amb = hex64(v);
		else if (!strcmp(line, "Seccomp"))
			st->seccomp = strtoul(v, NULL, 10);
		else if (!strcmp(line, "Seccomp_filters"))
			st->seccomp_filters = strtoul(v, NULL, 10);
	}
	return 0;
}

static int vma_add(struct vma_list *vl)
{
	struct vma *v;

	/* Capacity is implied by nr: 64, then doubling at each power of two. */
	if (vl->nr >= 64 ? !(vl->nr & (vl->nr - 1)) : vl->nr == 0) {
		size_t cap = vl->nr ? vl->nr * 2 : 64;

		v = realloc(vl->v, cap * sizeof(*v));
		if (!v)
			return -1;
		vl->v = v;
	}
	memset(&vl->v[vl->nr], 0, sizeof(vl->v[0]));
	vl->nr++;
	return 0;
}

static bool is_vvar(const char *name)
{
	return !strcmp(name, "[vvar]") || !strcmp(name, "[vvar_vclock]");
}

/*
 * A parasite area left behind by a snap killed mid-dump: shared anonymous,
 * rwx, starting with our blob. The next dump unmaps it instead of failing.
 */
static bool stale_parasite(pid_t pid, const struct vma *v)
{
	extern const char parasite_blob[], parasite_blob_end[];
	char path[64], buf[256];
	size_t n = parasite_blob_end - parasite_blob;
	bool ret = false;
	int fd;

	if (v->prot != (PROT_READ | PROT_WRITE | PROT_EXEC) || strncmp(v->path, "/dev/zero", 9))
		return false;
	if (n > sizeof(buf))
		n = sizeof(buf);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ret = pread(fd, buf, n, v->start) == (ssize_t)n && !memcmp(buf, parasite_blob, n);
	close(fd);
	return ret;
}

/* MAP_PRIVATE | MAP_HUGETLB anonymous memory: hugetlbfs' internal file. */
static bool anon_hugetlb(const struct vma *v, bool shared)
{
	return !shared && (v->flags & MAP_HUGETLB) && v->deleted &&
	       !strcmp(v->path, "/anon_hugepage");
}

/*
 * A mapping of a shared memory object (shmem.h), dumped with its pages: shared
 * anonymous memory shows as "/dev/zero (deleted)" ("/anon_hugepage (deleted)"
 * in huge pages); memfds, SysV segments, /dev/shm files and files on a
 * hugetlbfs mount by name. Those files are saved too, as their data is as
 * volatile as the task's own memory. A private mapping of one (its COWed
 * pages are the task's) is backed by the object only when the object has no
 * name left to map it by: shared anonymous memory, a memfd, an unlinked
 * /dev/shm file; SysV segments and hugetlbfs files only when shared.
 */
static bool vma_is_shmem(const struct vma *v, bool shared)
{
	const char *p = v->path;

	if (((!strcmp(p, "/dev/zero") || !strcmp(p, "/anon_hugepage")) && v->deleted) ||
	    !strncmp(p, "/memfd:", 7))
		return true;
	if (!strncmp(p, "/dev/shm/", 9))
		return shared || v->deleted;
	return shared && (!strncmp(p, "/SYSV", 5) || ((v->flags & MAP_HUGETLB) && p[0] == '/'));
}

/* Decide how a VMA is dumped; an error names what we cannot handle yet. */
static int vma_classify(pid_t pid, struct vma *v)
{
	bool shared = v->flags & MAP_SHARED;
	const char *p = v->path;

	if (shared && stale_parasite(pid, v)) {
		v->stale_parasite = true;
		return 0;
	}

	if (!strcmp(p, "[vdso]")) {
		v->kind = VMA_KIND__VMA_VDSO;
		return 0;
	}
	if (is_vvar(p)) {
		v->kind = VMA_KIND__VMA_VVAR;
		return 0;
	}
	if ((v->ino == 0 && !shared) || anon_hugetlb(v, shared)) {
		v->kind = VMA_KIND__VMA_ANON;
		v->flags |= MAP_ANONYMOUS;
		return 0;
	}
	if ((v->flags & MAP_HUGETLB) && (shared || v->deleted) &&
	    !(shared && vma_is_shmem(v, shared))) {
		pr_err("pid %d mapping %lx-%lx (%s): %s is not supported yet", pid,
		       (unsigned long)v->start, (unsigned long)v->end, p,
		       shared ? "this hugetlb memory" : "a private mapping of a deleted hugetlb file");
		return -1;
	}
	if (vma_is_shmem(v, shared)) {
		v->kind = VMA_KIND__VMA_SHMEM;
		return 0;
	}
	if (shared && !strncmp(p, "socket:[", 8)) {
		v->kind = VMA_KIND__VMA_PACKET_RING;
		return vma_socket_check(pid, v);
	}
	if (p[0] != '/') {
		pr_err("pid %d mapping %lx-%lx (%s): unknown special mapping", pid,
		       (unsigned long)v->start, (unsigned long)v->end, p);
		return -1;
	}
	/* A deleted file is saved as a ghost (mem-dump.c), once for all its users. */
	v->kind = shared ? VMA_KIND__VMA_FILE_SHARED : VMA_KIND__VMA_FILE_PRIVATE;
	return 0;
}

/* The mmap flags that only VmFlags shows: parse_vmas() takes them from the hint. */
#define VMFLAGS_MAP (MAP_GROWSDOWN | MAP_NORESERVE | MAP_HUGETLB)

/*
 * VmFlags mnemonics (fs/proc/task_mmu.c) that are state to restore: an mmap
 * flag to create the mapping with, or a madvise() to apply to it.
 */
static const struct {
	char name[3];
	uint32_t map;	/* MAP_*, or 0 */
	int madv;	/* MADV_*, or -1 */
} vmflags[] = {
	{ "gd", MAP_GROWSDOWN, -1 },
	{ "nr", MAP_NORESERVE, -1 },
	{ "ht", MAP_HUGETLB, -1 },
	{ "dc", 0, MADV_DONTFORK },
	{ "wf", 0, MADV_WIPEONFORK },
	{ "dd", 0, MADV_DONTDUMP },
	{ "hg", 0, MADV_HUGEPAGE },
	{ "nh", 0, MADV_NOHUGEPAGE },
	{ "sr", 0, MADV_SEQUENTIAL },
	{ "rr", 0, MADV_RANDOM },
	{ "mg", 0, MADV_MERGEABLE },
};

/*
 * MAP_DROPPABLE ("dp") is a mapping type of its own; it implies wipe on fork,
 * no core dump and no reservation, which restore need not ask for again.
 */
static void set_droppable(struct vma *v)
{
	v->flags = (v->flags & ~(MAP_TYPE | MAP_NORESERVE)) | MAP_DROPPABLE;
	v->madv &= ~(1ULL << MADV_WIPEONFORK | 1ULL << MADV_DONTDUMP);
}

static void parse_vmflags(struct vma *v, char *flags)
{
	bool locked = false, onfault = false, droppable = false;
	char *tok, *save;
	size_t i;

	for (tok = strtok_r(flags, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		/* VM_LOCKONFAULT is "lf" (since 4.4), always next to "lo". */
		locked |= !strcmp(tok, "lo");
		onfault |= !strcmp(tok, "lf");
		droppable |= !strcmp(tok, "dp");
		/* VM_MAYWRITE: of a shared mapping, whether its file was open for writing. */
		if (!strcmp(tok, "mw"))
			v->may_write = v->flags & MAP_SHARED;
		for (i = 0; i < ARRAY_SIZE(vmflags); i++) {
			if (strcmp(tok, vmflags[i].name))
				continue;
			v->flags |= vmflags[i].map;
			if (vmflags[i].madv >= 0)
				v->madv |= 1ULL << vmflags[i].madv;
		}
	}
	if (locked)
		v->lock = onfault ? VMA_LOCK__VMA_LOCKED_ONFAULT : VMA_LOCK__VMA_LOCKED;
	if (droppable)
		set_droppable(v);
}

static int ilog2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/* Settle what needs all of a VMA's lines, then classify it. */
static int vma_finish(pid_t pid, struct vma *v)
{
	if (!v->page_size)
		v->page_size = PAGE_SIZE;
	/* Restore must ask for the same huge page size: MAP_HUGE_2MB, MAP_HUGE_1GB. */
	if (v->flags & MAP_HUGETLB)
		v->flags |= ilog2(v->page_size) << MAP_HUGE_SHIFT;
	return vma_classify(pid, v);
}

static int vma_finish_all(pid_t pid, struct vma_list *vl)
{
	for (size_t i = 0; i < vl->nr; i++)
		if (vma_finish(pid, &vl->v[i])) {
			vma_list_free(vl);
			return -1;
		}
	return 0;
}

static int parse_vma_file(pid_t pid, const char *file, struct vma_list *vl)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int ret = -1;
	struct vma *cur = NULL;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	vl->v = NULL;
	vl->nr = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned long start, end, pgoff, ino;
		unsigned int maj, min;
		char perms[5];
		int name_off = 0;
		size_t len;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &start, &end, perms, &pgoff, &maj,
			   &min, &ino, &name_off) >= 7 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			bool shared = perms[3] == 's';

			if (!strcmp(line + name_off, "[vsyscall]")) {
				cur = NULL; /* above TASK_SIZE, the same everywhere */
				continue;
			}
			if (vma_add(vl))
				goto out;
			cur = &vl->v[vl->nr - 1];
			cur->start = start;
			cur->end = end;
			cur->pgoff = pgoff / PAGE_SIZE;
			cur->dev = makedev(maj, min);
			cur->ino = ino;
			cur->prot = (perms[0] == 'r' ? PROT_READ : 0) |
				    (perms[1] == 'w' ? PROT_WRITE : 0) |
				    (perms[2] == 'x' ? PROT_EXEC : 0);
			cur->flags = shared ? MAP_SHARED : MAP_PRIVATE;
			len = strlen(line + name_off);
			if (len > 10 && !strcmp(line + name_off + len - 10, " (deleted)")) {
				cur->deleted = true;
				line[name_off + len - 10] = '\0';
			}
			cur->path = strdup(line + name_off);
			if (!cur->path)
				goto out;
			continue;
		}
		if (cur && !strncmp(line, "VmFlags:", 8))
			parse_vmflags(cur, line + 8);
		else if (cur && !strncmp(line, "Anonymous:", 10))
			cur->anon_kb = strtoull(line + 10, NULL, 10);
		else if (cur && !strncmp(line, "KernelPageSize:", 15))
			cur->page_size = strtoull(line + 15, NULL, 10) << 10;
	}
	ret = 0;
out:
	free(line);
	fclose(f);
	if (ret)
		vma_list_free(vl);
	return ret;
}

int parse_smaps(pid_t pid, struct vma_list *vl)
{
	if (parse_vma_file(pid, "smaps", vl))
		return -1;
	return vma_finish_all(pid, vl);
}

/* The hint's VMA for @v if it is the same mapping, else NULL. */
static const struct vma *hint_vma(const struct vma_list *hint, const struct vma *v)
{
	size_t lo = 0, hi = hint->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct vma *h = &hint->v[mid];

		if (h->start < v->start) {
			lo = mid + 1;
		} else if (h->start > v->start) {
			hi = mid;
		} else {
			if (h->end == v->end && h->ino == v->ino && h->prot == v->prot &&
			    !strcmp(h->path, v->path))
				return h;
			return NULL;
		}
	}
	return NULL;
}

int parse_vmas(pid_t pid, const struct vma_list *hint, struct vma_list *vl)
{
	size_t i;

	if (!hint->nr || parse_vma_file(pid, "maps", vl))
		return parse_smaps(pid, vl);
	for (i = 0; i < vl->nr; i++) {
		const struct vma *h = hint_vma(hint, &vl->v[i]);

		if (!h) {
			/* Something changed since the hint: read it all again. */
			vma_list_free(vl);
			return parse_smaps(pid, vl);
		}
		vl->v[i].flags |= h->flags & VMFLAGS_MAP;
		if ((h->flags & MAP_TYPE) == MAP_DROPPABLE)
			vl->v[i].flags = (vl->v[i].flags & ~MAP_TYPE) | MAP_DROPPABLE;
		vl->v[i].may_write = h->may_write;
		vl->v[i].madv = h->madv;
		vl->v[i].lock = h->lock;
		vl->v[i].page_size = h->page_size;
	}
	return vma_finish_all(pid, vl);
}

void vma_list_free(struct vma_list *vl)
{
	size_t i;

	for (i = 0; i < vl->nr; i++) {
		free(vl->v[i].path);
		free(vl->v[i].guards);
		free(vl->v[i].inherited);
	}
	free(vl->v);
	vl->v = NULL;
	vl->nr = 0;
}
