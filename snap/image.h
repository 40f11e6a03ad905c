/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image files. Each image type is one entry in img_descs[]: a file name
 * pattern, a magic number and the protobuf-c descriptor of its messages.
 * Reading, writing, validation and `snap show` are generic over that table.
 *
 * On disk: u32 magic, then records of { u32 len, u32 crc32(payload), payload }.
 * A short record, a bad crc or a message that does not unpack is reported as
 * a corrupted image naming the file and offset.
 *
 * pages-PID.img is the exception: raw 4 KiB pages, described by
 * pagemap-PID.img, opened with img_open_raw(); so is shmem-pages-ID.img,
 * described by its shmem.img entry.
 */
#ifndef SNAP_IMAGE_H
#define SNAP_IMAGE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

enum img_type {
	IMG_INVENTORY,		/* inventory.img */
	IMG_PSTREE,		/* pstree.img */
	IMG_CORE,		/* core-%u.img */
	IMG_MM,			/* mm-%u.img */
	IMG_PAGEMAP,		/* pagemap-%u.img */
	IMG_FILES,		/* files.img */
	IMG_FDINFO,		/* fdinfo-%u.img */
	IMG_PIPES_DATA,		/* pipes-data.img */
	IMG_GHOST,		/* ghost-%u.img */
	IMG_SHMEM,		/* shmem.img */
	IMG_NS,			/* ns.img */
	IMG_FILE_LOCKS,		/* file-locks.img */
	IMG_UNIX_QUEUES,	/* unix-queues.img */
	IMG_EPOLL_TFDS,		/* epoll-tfds.img */
	IMG_FIFO_DATA,		/* fifo-data.img */
	IMG_TTY_DATA,		/* tty-data.img */
	IMG_NETLOCK,		/* netlock.img */
	IMG_INET_QUEUES,	/* inet-queues.img */
	IMG_TRACK,		/* track.img */
	IMG_MNT,		/* mnt-%u.img */
	IMG_TMPFS,		/* tmpfs-%u.img */
	IMG_UTSNS,		/* utsns-%u.img */
	IMG_NETNS,		/* netns-%u.img */
	IMG_TIMENS,		/* timens-%u.img */
	IMG_IPCNS,		/* ipcns-%u.img */
	IMG_CGROUP,		/* cgroup.img */
	IMG_CGNS,		/* cgns-%u.img */
	IMG_NR,
};

struct img_desc {
	const char *fmt;	/* file name; "%u" takes the id (pid, file id) */
	uint32_t magic;
	const ProtobufCMessageDescriptor *md;
};

extern const struct img_desc img_descs[IMG_NR];

struct image;

/* Open for writing (created, truncated). NULL on error, logged. */
struct image *img_open_write(int dirfd, enum img_type t, unsigned int id);
/*
 * Open for reading and check the magic. NULL on error, logged — except a
 * missing file when @optional: NULL with errno == ENOENT, nothing logged.
 */
struct image *img_open_read(int dirfd, enum img_type t, unsigned int id, bool optional);
/* Append one message. 0 or -1 (logged, e.g. ENOSPC naming the file). */
int img_write(struct image *img, const ProtobufCMessage *msg);
/* Read the next message: 1 and *msg set, 0 at a clean end, -1 on error (logged). */
int img_read(struct image *img, ProtobufCMessage **msg);
/* Read exactly one message; a missing or extra message is an error. */
int img_read_one(struct image *img, ProtobufCMessage **msg);
/* Flush and close. For written images a failed flush is an error (logged). */
int img_close(struct image *img);
/* Close without flushing: the dump failed already and its error is logged. */
void img_abort(struct image *img);
const char *img_name(const struct image *img);

/* Convenience: open, write one message, close. */
int img_write_one(int dirfd, enum img_type t, unsigned int id, const ProtobufCMessage *msg);
/* Convenience: open, read exactly one message, close. */
int img_load_one(int dirfd, enum img_type t, unsigned int id, ProtobufCMessage **msg);
/*
 * Read every message of an image into a malloc'd array of pointers.
 * Missing file with @optional gives 0 entries.
 */
int img_load_all(int dirfd, enum img_type t, unsigned int id, bool optional, void ***msgs,
		 size_t *nr);

/* pages-%u.img: raw fd, O_CLOEXEC added. Errors logged. */
int img_open_raw(int dirfd, const char *fmt, unsigned int id, int flags);

/* Match a file name against the table; returns the type or -1. */
int img_type_by_name(const char *name);

uint32_t crc32_buf(uint32_t crc, const void *buf, size_t len);

#endif
