// SPDX-License-Identifier: GPL-2.0
/*
 * snap show DIR|FILE: decode images to JSON on stdout, for people and for
 * tests. Nothing here knows a message type: the output is driven by
 * img_descs[] and the protobuf-c descriptors, so a new image or field shows up
 * without touching this file.
 *
 * A file gives {"file", "magic", "entries": [...]}; pages-PID.img (raw pages)
 * gives {"file", "size", "pages"}; a directory gives an array of those for
 * every file name it recognises, in name order (core-2 before core-10).
 * A file that fails to read is reported on stderr and left out, so the output
 * stays valid JSON and the other files are still shown.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "image.h"
#include "log.h"

/* Hex digits shown of one bytes field: enough to eyeball, bounded for xsave/pipe data. */
#define HEX_CAP (64U << 10)

static void indent(FILE *f, int lvl)
{
	fprintf(f, "%*s", 2 * lvl, "");
}

/* Length of the valid UTF-8 multi-byte sequence at @p, or 1. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t cp;
	size_t n, i;

	if (*p < 0xc2 || *p > 0xf4)
		return 1;
	n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
	if ((size_t)(end - p) < n)
		return 1;
	cp = *p & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 1;
	return n;
}

/*
 * Paths are arbitrary bytes but JSON is UTF-8: a byte that is not part of
 * valid UTF-8 is shown as \u00XX, so the output always parses.
 */
static void put_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	size_t n;

	if (!s) {
		fputs("null", f);
		return;
	}
	end = p + strlen(s);
	fputc('"', f);
	while (p < end) {
		n = utf8_len(p, end);
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else if (*p < 0x20 || *p >= 0x80)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
		p++;
	}
	fputc('"', f);
}

static void put_bytes(FILE *f, const ProtobufCBinaryData *b)
{
	size_t shown = b->len, i;

	if (shown > HEX_CAP / 2)
		shown = HEX_CAP / 2;
	fputc('"', f);
	for (i = 0; i < shown; i++)
		fprintf(f, "%02x", b->data[i]);
	if (shown < b->len)
		fprintf(f, "...(%zu bytes)", b->len);
	fputc('"', f);
}

static void put_double(FILE *f, double d)
{
	/* JSON has no NaN or infinity. */
	if (isfinite(d))
		fprintf(f, "%.17g", d);
	else
		fputs("null", f);
}

static void put_enum(FILE *f, const ProtobufCEnumDescriptor *ed, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);

	if (ev)
		put_str(f, ev->name);
	else
		fprintf(f, "%d", v);
}

static void put_msg(FILE *f, const ProtobufCMessage *m, int lvl);

/* One value of field @fd stored at @p (the field itself or an array element). */
static void put_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p, int lvl)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		put_double(f, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		put_double(f, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		put_enum(f, fd->descriptor, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		put_str(f, *(char *const *)p);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		put_bytes(f, p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		put_msg(f, *(ProtobufCMessage *const *)p, lvl);
		break;
	default:
		fputs("null", f);
		break;
	}
}

static size_t elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		/* 32-bit integers, float, enum */
		return sizeof(uint32_t);
	}
}

static void put_repeated(FILE *f, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
			 int lvl)
{
	const char *base = (const char *)m;
	size_t n = *(const size_t *)(base + fd->quantifier_offset);
	const char *arr = *(const char *const *)(base + fd->offset);
	size_t sz = elem_size(fd->type), i;
	/* Numbers go on one line; anything bulky gets a line per element. */
	bool bulky = fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_BYTES ||
		     fd->type == PROTOBUF_C_TYPE_STRING;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		if (bulky) {
			fputs(i ? ",\n" : "\n", f);
			indent(f, lvl + 1);
		} else if (i) {
			fputs(", ", f);
		}
		put_value(f, fd, arr + i * sz, lvl + 1);
	}
	if (bulky && n) {
		fputc('\n', f);
		indent(f, lvl);
	}
	fputc(']', f);
}

/* Absent optional fields are left out; repeated fields are always shown. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)m;

	if (fd->label == PROTOBUF_C_LABEL_REQUIRED || fd->label == PROTOBUF_C_LABEL_REPEATED)
		return true;
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
	/* protobuf-c keeps no has_ flag for these: absent is NULL. */
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_STRING)
		return *(void *const *)(base + fd->offset) != NULL;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base + fd->quantifier_offset);
	return true;
}

static void put_msg(FILE *f, const ProtobufCMessage *m, int lvl)
{
	const ProtobufCMessageDescriptor *md = m->descriptor;
	const ProtobufCFieldDescriptor *fd;
	bool first = true;
	unsigned int i;

	fputc('{', f);
	for (i = 0; i < md->n_fields; i++) {
		fd = &md->fields[i];
		if (!field_present(m, fd))
			continue;
		fputs(first ? "\n" : ",\n", f);
		first = false;
		indent(f, lvl + 1);
		put_str(f, fd->name);
		fputs(": ", f);
		if (fd->label == PROTOBUF_C_LABEL_REPEATED)
			put_repeated(f, m, fd, lvl + 1);
		else
			put_value(f, fd, (const char *)m + fd->offset, lvl + 1);
	}
	/* Written by a newer snap: say so rather than hide it. */
	if (m->n_unknown_fields) {
		fputs(first ? "\n" : ",\n", f);
		first = false;
		indent(f, lvl + 1);
		fprintf(f, "\"_unknown_fields\": %u", m->n_unknown_fields);
	}
	if (!first) {
		fputc('\n', f);
		indent(f, lvl);
	}
	fputc('}', f);
}

static bool is_raw_name(const char *name, const char *prefix)
{
	const char *p = name + strlen(prefix);
	size_t ndig = strspn(p, "0123456789");

	return !strncmp(name, prefix, strlen(prefix)) && ndig && !strcmp(p + ndig, ".img");
}

/* pages-PID.img, shmem-pages-ID.img, ipcns-shm-pages-ID.img are not in img_descs[]: raw pages. */
static bool is_pages_name(const char *name)
{
	return is_raw_name(name, "pages-") || is_raw_name(name, "shmem-pages-") ||
	       is_raw_name(name, "ipcns-shm-pages-");
}

static int show_pages(FILE *f, int dirfd, const char *name, const char *sep, int lvl)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, 0)) {
		pr_err("image %s: %s", name, strerror(errno));
		return -1;
	}
	fputs(sep, f);
	indent(f, lvl);
	fputs("{\n", f);
	indent(f, lvl + 1);
	fputs("\"file\": ", f);
	put_str(f, name);
	fputs(",\n", f);
	indent(f, lvl + 1);
	fprintf(f, "\"size\": %lld,\n", (long long)st.st_size);
	indent(f, lvl + 1);
	fprintf(f, "\"pages\": %lld", (long long)(st.st_size / PAGE_SIZE));
	if (st.st_size % PAGE_SIZE) {
		fputs(",\n", f);
		indent(f, lvl + 1);
		fprintf(f, "\"trailing_bytes\": %lld", (long long)(st.st_size % PAGE_SIZE));
	}
	fputc('\n', f);
	indent(f, lvl);
	fputc('}', f);
	return 0;
}

/*
 * Print @sep, then one file as a JSON object at indent @lvl (no trailing
 * newline). The file is read whole before anything is printed, so a damaged
 * file prints nothing, not even @sep.
 */
static int show_one(FILE *f, int dirfd, const char *name, const char *sep, int lvl)
{
	const struct img_desc *d;
	unsigned int id = 0;
	void **msgs;
	size_t nr, i;
	int t;

	if (is_pages_name(name))
		return show_pages(f, dirfd, name, sep, lvl);
	t = img_type_by_name(name);
	if (t < 0) {
		pr_err("%s: not a snap image (unknown file name)", name);
		return -1;
	}
	d = &img_descs[t];
	/* img_type_by_name() accepted only canonical digits where the fmt has %u. */
	if (strchr(d->fmt, '%'))
		id = strtoul(name + (strchr(d->fmt, '%') - d->fmt), NULL, 10);
	if (img_load_all(dirfd, t, id, false, &msgs, &nr))
		return -1;

	fputs(sep, f);
	indent(f, lvl);
	fputs("{\n", f);
	indent(f, lvl + 1);
	fputs("\"file\": ", f);
	put_str(f, name);
	fputs(",\n", f);
	indent(f, lvl + 1);
	fprintf(f, "\"magic\": \"0x%08" PRIx32 "\",\n", d->magic);
	indent(f, lvl + 1);
	fputs("\"entries\": [", f);
	for (i = 0; i < nr; i++) {
		fputs(i ? ",\n" : "\n", f);
		indent(f, lvl + 2);
		put_msg(f, msgs[i], lvl + 2);
		protobuf_c_message_free_unpacked(msgs[i], NULL);
	}
	free(msgs);
	if (nr) {
		fputc('\n', f);
		indent(f, lvl + 1);
	}
	fputs("]\n", f);
	indent(f, lvl);
	fputc('}', f);
	return 0;
}

static int known_name(const struct dirent *de)
{
	return is_pages_name(de->d_name) || img_type_by_name(de->d_name) >= 0;
}

static int show_dir(FILE *f, const char *path)
{
	struct dirent **list = NULL;
	int dirfd, n, i, ret = 0;
	bool first = true;

	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_err("%s: %s", path, strerror(errno));
		return -1;
	}
	n = scandirat(dirfd, ".", &list, known_name, versionsort);
	if (n < 0) {
		pr_err("%s: %s", path, strerror(errno));
		close(dirfd);
		return -1;
	}
	fputc('[', f);
	for (i = 0; i < n; i++) {
		if (show_one(f, dirfd, list[i]->d_name, first ? "\n" : ",\n", 1) == 0)
			first = false;
		else
			ret = -1;
		free(list[i]);
	}
	fputs(first ? "]\n" : "\n]\n", f);
	free(list);
	close(dirfd);
	return ret;
}

static int show_file(FILE *f, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dirfd, ret;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, slash - path);
	if (!dir) {
		pr_err("out of memory");
		return -1;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_err("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	ret = show_one(f, dirfd, slash ? slash + 1 : path, "", 0);
	if (!ret)
		fputc('\n', f);
	close(dirfd);
	free(dir);
	return ret;
}

int cmd_show(const char *path)
{
	struct stat st;
	int ret;

	if (stat(path, &st)) {
		pr_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		ret = show_dir(stdout, path);
	else
		ret = show_file(stdout, path);
	if (fflush(stdout) || ferror(stdout)) {
		pr_err("writing output: %s", strerror(errno));
		ret = -1;
	}
	return ret;
}
