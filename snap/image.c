// SPDX-License-Identifier: GPL-2.0
/*
 * Image files: the img_descs[] table and the generic, buffered reader and
 * writer over it (see image.h for the on-disk format). Every other part of
 * snap reads and writes images only through here, so all checks on damaged
 * files (magic, record length, crc, decoding) live in this one place and
 * name the file and offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.pb-c.h"
#include "core.pb-c.h"
#include "fd-notify.pb-c.h"
#include "files.pb-c.h"
#include "image.h"
#include "inventory.pb-c.h"
#include "ipc.pb-c.h"
#include "log.h"
#include "mm.pb-c.h"
#include "mnt.pb-c.h"
#include "netlock.pb-c.h"
#include "netns.pb-c.h"
#include "ns.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"
#include "sk-inet.pb-c.h"
#include "sk-unix.pb-c.h"
#include "timens.pb-c.h"
#include "track.pb-c.h"
#include "utsns.pb-c.h"

/* Magics read "SNP" + a letter in a hexdump of the file. */
#define IMG_MAGIC(c) (0x00504e53U | ((uint32_t)(c) << 24))

const struct img_desc img_descs[IMG_NR] = {
	[IMG_INVENTORY] = {"inventory.img", IMG_MAGIC('I'), &inventory_entry__descriptor},
	[IMG_PSTREE] = {"pstree.img", IMG_MAGIC('T'), &pstree_entry__descriptor},
	[IMG_CORE] = {"core-%u.img", IMG_MAGIC('C'), &core_entry__descriptor},
	[IMG_MM] = {"mm-%u.img", IMG_MAGIC('M'), &mm_entry__descriptor},
	[IMG_PAGEMAP] = {"pagemap-%u.img", IMG_MAGIC('P'), &pagemap_entry__descriptor},
	[IMG_FILES] = {"files.img", IMG_MAGIC('F'), &file_entry__descriptor},
	[IMG_FDINFO] = {"fdinfo-%u.img", IMG_MAGIC('D'), &fdinfo_entry__descriptor},
	[IMG_PIPES_DATA] = {"pipes-data.img", IMG_MAGIC('p'), &pipe_data_entry__descriptor},
	[IMG_GHOST] = {"ghost-%u.img", IMG_MAGIC('G'), &ghost_file_entry__descriptor},
	[IMG_SHMEM] = {"shmem.img", IMG_MAGIC('S'), &shmem_entry__descriptor},
	[IMG_NS] = {"ns.img", IMG_MAGIC('N'), &ns_entry__descriptor},
	[IMG_FILE_LOCKS] = {"file-locks.img", IMG_MAGIC('L'), &file_lock_entry__descriptor},
	[IMG_UNIX_QUEUES] = {"unix-queues.img", IMG_MAGIC('U'), &unix_queue_entry__descriptor},
	[IMG_EPOLL_TFDS] = {"epoll-tfds.img", IMG_MAGIC('E'), &epoll_tfd_entry__descriptor},
	[IMG_FIFO_DATA] = {"fifo-data.img", IMG_MAGIC('Q'), &pipe_data_entry__descriptor},
	[IMG_TTY_DATA] = {"tty-data.img", IMG_MAGIC('Y'), &tty_data_entry__descriptor},
	[IMG_NETLOCK] = {"netlock.img", IMG_MAGIC('K'), &netlock_entry__descriptor},
	[IMG_INET_QUEUES] = {"inet-queues.img", IMG_MAGIC('i'), &inet_queue_entry__descriptor},
	[IMG_TRACK] = {"track.img", IMG_MAGIC('W'), &track_entry__descriptor},
	[IMG_MNT] = {"mnt-%u.img", IMG_MAGIC('m'), &mnt_entry__descriptor},
	[IMG_TMPFS] = {"tmpfs-%u.img", IMG_MAGIC('t'), &tmpfs_entry__descriptor},
	[IMG_UTSNS] = {"utsns-%u.img", IMG_MAGIC('u'), &uts_ns_entry__descriptor},
	[IMG_NETNS] = {"netns-%u.img", IMG_MAGIC('n'), &netns_entry__descriptor},
	[IMG_TIMENS] = {"timens-%u.img", IMG_MAGIC('o'), &time_ns_entry__descriptor},
	[IMG_IPCNS] = {"ipcns-%u.img", IMG_MAGIC('V'), &ipc_ns_entry__descriptor},
	[IMG_CGROUP] = {"cgroup.img", IMG_MAGIC('c'), &cgroup_entry__descriptor},
	[IMG_CGNS] = {"cgns-%u.img", IMG_MAGIC('z'), &cgns_entry__descriptor},
};

#define IMG_BUF_SIZE (64U << 10)
/* Larger records can only come from a damaged length field. */
#define IMG_MAX_RECORD (256U << 20)
#define IMG_NAME_MAX   64

struct image {
	const struct img_desc *d;
	int fd;
	bool writing;
	bool failed;	 /* an error was logged; later calls fail quietly */
	long long off;	 /* file offset of the next byte read or appended */
	size_t pos, len; /* read: buf[pos, len) not consumed; write: buf[0, len) pending */
	char name[IMG_NAME_MAX];
	uint8_t buf[IMG_BUF_SIZE];
};

struct rec_hdr {
	uint32_t len;
	uint32_t crc;
};

static const uint32_t crc32_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535,
	0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd,
	0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d,
	0x6ddde4eb, 0xf4d4b551, 0x83d385c7, 0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4,
	0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
	0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59, 0x26d930ac,
	0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab,
	0xb6662d3d, 0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f,
	0x9fbfe4a5, 0xe8b8d433, 0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb,
	0x086d3d2d, 0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea,
	0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65, 0x4db26158, 0x3ab551ce,
	0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a,
	0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409,
	0xce61e49f, 0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
	0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739,
	0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1, 0xf00f9344, 0x8708a3d2, 0x1e01f268,
	0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0,
	0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8,
	0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef,
	0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703,
	0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7,
	0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d, 0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae,
	0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
	0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777, 0x88085ae6,
	0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d,
	0x3e6e77db, 0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5,
	0x47b2cf7f, 0x30b5ffe9, 0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605,
	0xcdd70693, 0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

/*
 * CRC-32 as zlib computes it (IEEE, reflected, poly 0xEDB88320): start with
 * crc 0; feeding a buffer in pieces gives the same result as in one go.
 */
uint32_t crc32_buf(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *img_name(const struct image *img)
{
	return img->name;
}

static void format_name(char *buf, size_t size, const char *fmt, unsigned int id)
{
	/* A fmt without "%u" ignores @id. */
	snprintf(buf, size, fmt, id);
}

static bool name_matches(const char *fmt, const char *name)
{
	const char *pct = strstr(fmt, "%u");
	size_t pre, suf, len, ndig, i;
	unsigned long long v = 0;
	const char *dig;

	if (!pct)
		return !strcmp(fmt, name);
	pre = pct - fmt;
	suf = strlen(pct + 2);
	len = strlen(name);
	if (len <= pre + suf || strncmp(name, fmt, pre) || strcmp(name + len - suf, pct + 2))
		return false;
	dig = name + pre;
	ndig = len - pre - suf;
	/* Only the canonical spelling, so that formatting the id gives back the name. */
	if (ndig > 10 || (ndig > 1 && dig[0] == '0'))
		return false;
	for (i = 0; i < ndig; i++) {
		if (dig[i] < '0' || dig[i] > '9')
			return false;
		v = v * 10 + (dig[i] - '0');
	}
	return v <= UINT_MAX;
}

int img_type_by_name(const char *name)
{
	int t;

	for (t = 0; t < IMG_NR; t++)
		if (name_matches(img_descs[t].fmt, name))
			return t;
	return -1;
}

int img_open_raw(int dirfd, const char *fmt, unsigned int id, int flags)
{
	char name[IMG_NAME_MAX];
	int fd;

	format_name(name, sizeof(name), fmt, id);
	fd = openat(dirfd, name, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		pr_err("image %s: %s", name, strerror(errno));
	return fd;
}

static struct image *img_alloc(enum img_type t, unsigned int id, bool writing)
{
	struct image *img;

	img = calloc(1, sizeof(*img));
	if (!img) {
		pr_err("out of memory opening an image");
		return NULL;
	}
	img->d = &img_descs[t];
	img->fd = -1;
	img->writing = writing;
	format_name(img->name, sizeof(img->name), img->d->fmt, id);
	return img;
}

static int write_all(struct image *img, const void *p, size_t n)
{
	ssize_t ret;

	while (n) {
		ret = write(img->fd, p, n);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			if (ret == 0)
				errno = ENOSPC;
			pr_err("writing image %s: %s", img->name, strerror(errno));
			img->failed = true;
			return -1;
		}
		p = (const uint8_t *)p + ret;
		n -= ret;
	}
	return 0;
}

static int img_flush(struct image *img)
{
	size_t n = img->len;

	img->len = 0;
	return n ? write_all(img, img->buf, n) : 0;
}

struct image *img_open_write(int dirfd, enum img_type t, unsigned int id)
{
	struct image *img;
	uint32_t magic;

	img = img_alloc(t, id, true);
	if (!img)
		return NULL;
	img->fd = openat(dirfd, img->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (img->fd < 0) {
		pr_err("image %s: %s", img->name, strerror(errno));
		free(img);
		return NULL;
	}
	magic = img->d->magic;
	memcpy(img->buf, &magic, sizeof(magic));
	img->len = img->off = sizeof(magic);
	return img;
}

int img_write(struct image *img, const ProtobufCMessage *msg)
{
	struct rec_hdr h;
	uint8_t *big = NULL, *p;
	size_t size;
	int ret = -1;

	if (img->failed) {
		errno = EIO;
		return -1;
	}
	if (msg->descriptor != img->d->md) {
		pr_err("image %s: holds %s, not %s", img->name, img->d->md->name,
		       msg->descriptor->name);
		errno = EINVAL;
		return -1;
	}
	size = protobuf_c_message_get_packed_size(msg);
	if (size > IMG_MAX_RECORD) {
		pr_err("image %s: a %s of %zu bytes is over the %u byte record limit", img->name,
		       img->d->md->name, size, IMG_MAX_RECORD);
		img->failed = true;
		errno = EFBIG;
		return -1;
	}
	if (sizeof(h) + size > IMG_BUF_SIZE - img->len && img_flush(img))
		return -1;

	if (sizeof(h) + size <= IMG_BUF_SIZE) {
		p = img->buf + img->len + sizeof(h);
	} else {
		/* Too big for the buffer (pipe data, ghost files): straight to the file. */
		big = malloc(size);
		if (!big) {
			pr_err("image %s: out of memory packing %zu bytes", img->name, size);
			img->failed = true;
			errno = ENOMEM;
			return -1;
		}
		p = big;
	}
	protobuf_c_message_pack(msg, p);
	h.len = size;
	h.crc = crc32_buf(0, p, size);
	memcpy(img->buf + img->len, &h, sizeof(h));
	img->len += sizeof(h);
	if (big) {
		if (img_flush(img) || write_all(img, big, size))
			goto out;
	} else {
		img->len += size;
	}
	img->off += sizeof(h) + size;
	ret = 0;
out:
	free(big);
	return ret;
}

/*
 * Copy up to @n bytes of the file into @dst; fewer only at the end of the
 * file. -1 on a read error, logged.
 */
static ssize_t img_fill(struct image *img, void *dst, size_t n)
{
	uint8_t *d = dst;
	size_t got = 0, k;
	ssize_t ret;

	while (got < n) {
		if (img->pos < img->len) {
			k = img->len - img->pos;
			if (k > n - got)
				k = n - got;
			memcpy(d + got, img->buf + img->pos, k);
			img->pos += k;
			got += k;
			continue;
		}
		if (n - got >= IMG_BUF_SIZE) {
			ret = read(img->fd, d + got, n - got);
			if (ret > 0)
				got += ret;
		} else {
			ret = read(img->fd, img->buf, IMG_BUF_SIZE);
			img->pos = 0;
			img->len = ret > 0 ? ret : 0;
		}
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			pr_err("reading image %s: %s", img->name, strerror(errno));
			img->failed = true;
			return -1;
		}
		if (ret == 0)
			break;
	}
	img->off += got;
	return got;
}

struct image *img_open_read(int dirfd, enum img_type t, unsigned int id, bool optional)
{
	struct image *img;
	uint32_t magic;
	ssize_t n;
	int err;

	img = img_alloc(t, id, false);
	if (!img)
		return NULL;
	img->fd = openat(dirfd, img->name, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		err = errno;
		if (!(optional && err == ENOENT))
			pr_err("image %s: %s", img->name, strerror(err));
		goto fail;
	}
	n = img_fill(img, &magic, sizeof(magic));
	if (n < 0) {
		err = errno;
		goto fail;
	}
	err = EBADMSG;
	if ((size_t)n < sizeof(magic)) {
		pr_err("image %s: truncated at offset 0", img->name);
		goto fail;
	}
	if (magic != img->d->magic) {
		pr_err("image %s: bad magic, not a snap image", img->name);
		goto fail;
	}
	return img;
fail:
	if (img->fd >= 0)
		close(img->fd);
	free(img);
	errno = err;
	return NULL;
}

int img_read(struct image *img, ProtobufCMessage **msg)
{
	long long at = img->off;
	uint8_t *payload = NULL;
	struct rec_hdr h;
	ssize_t n;

	*msg = NULL;
	if (img->failed) {
		errno = EIO;
		return -1;
	}
	n = img_fill(img, &h, sizeof(h));
	if (n <= 0)
		return n;
	if ((size_t)n < sizeof(h))
		goto truncated;
	if (h.len > IMG_MAX_RECORD) {
		pr_err("image %s: corrupted (record of %u bytes at offset %lld)", img->name, h.len,
		       at);
		goto corrupted;
	}
	/* malloc(0) may give NULL; unpack wants a buffer even for an empty message. */
	payload = malloc(h.len ? h.len : 1);
	if (!payload) {
		pr_err("image %s: out of memory reading %u bytes at offset %lld", img->name, h.len,
		       at);
		img->failed = true;
		errno = ENOMEM;
		return -1;
	}
	n = img_fill(img, payload, h.len);
	if (n < 0)
		goto fail;
	if ((size_t)n < h.len)
		goto truncated;
	if (crc32_buf(0, payload, h.len) != h.crc) {
		pr_err("image %s: corrupted (checksum mismatch at offset %lld)", img->name, at);
		goto corrupted;
	}
	*msg = protobuf_c_message_unpack(img->d->md, NULL, h.len, payload);
	if (!*msg) {
		pr_err("image %s: corrupted (cannot decode %s at offset %lld)", img->name,
		       img->d->md->name, at);
		goto corrupted;
	}
	free(payload);
	return 1;

truncated:
	pr_err("image %s: truncated at offset %lld", img->name, at);
corrupted:
	img->failed = true;
	errno = EBADMSG;
fail:
	free(payload);
	return -1;
}

int img_read_one(struct image *img, ProtobufCMessage **msg)
{
	uint8_t extra;
	ssize_t n;
	int ret;

	ret = img_read(img, msg);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		pr_err("image %s: corrupted (no %s in it)", img->name, img->d->md->name);
		goto corrupted;
	}
	n = img_fill(img, &extra, 1);
	if (n == 0)
		return 0;
	if (n > 0)
		pr_err("image %s: corrupted (data after the %s, at offset %lld)", img->name,
		       img->d->md->name, img->off - 1);
	protobuf_c_message_free_unpacked(*msg, NULL);
	*msg = NULL;
	if (n < 0)
		return -1;
corrupted:
	img->failed = true;
	errno = EBADMSG;
	return -1;
}

int img_close(struct image *img)
{
	int ret = 0, err = 0;

	if (!img)
		return 0;
	if (img->writing) {
		if (img->failed || img_flush(img)) {
			ret = -1;
			err = errno;
		}
		/* Some filesystems (NFS) report a failed write only at close. */
		if (close(img->fd) && !ret) {
			err = errno;
			pr_err("writing image %s: %s", img->name, strerror(err));
			ret = -1;
		}
	} else {
		close(img->fd);
	}
	free(img);
	if (ret)
		errno = err;
	return ret;
}

void img_abort(struct image *img)
{
	if (!img)
		return;
	close(img->fd);
	free(img);
}

int img_write_one(int dirfd, enum img_type t, unsigned int id, const ProtobufCMessage *msg)
{
	struct image *img;
	int ret;

	img = img_open_write(dirfd, t, id);
	if (!img)
		return -1;
	ret = img_write(img, msg);
	if (img_close(img))
		ret = -1;
	return ret;
}

int img_load_one(int dirfd, enum img_type t, unsigned int id, ProtobufCMessage **msg)
{
	struct image *img;
	int ret;

	*msg = NULL;
	img = img_open_read(dirfd, t, id, false);
	if (!img)
		return -1;
	ret = img_read_one(img, msg);
	img_close(img);
	return ret;
}

int img_load_all(int dirfd, enum img_type t, unsigned int id, bool optional, void ***msgs,
		 size_t *nr)
{
	size_t n = 0, cap = 0, i;
	ProtobufCMessage *m;
	struct image *img;
	void **v = NULL, **nv;
	int ret;

	*msgs = NULL;
	*nr = 0;
	img = img_open_read(dirfd, t, id, optional);
	if (!img)
		return optional && errno == ENOENT ? 0 : -1;
	while ((ret = img_read(img, &m)) > 0) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				pr_err("image %s: out of memory after %zu entries", img->name, n);
				protobuf_c_message_free_unpacked(m, NULL);
				ret = -1;
				break;
			}
			v = nv;
		}
		v[n++] = m;
	}
	img_close(img);
	if (ret < 0) {
		for (i = 0; i < n; i++)
			protobuf_c_message_free_unpacked(v[i], NULL);
		free(v);
		return -1;
	}
	*msgs = v;
	*nr = n;
	return 0;
}
