/* malloc'd buffers of many sizes (brk and mmap'd chunks) keep contents; malloc still works. */
#include <stdlib.h>
#include <string.h>

#include "zdtmtst.h"

static const size_t sizes[] = {
	1, 24, 100, 1000, 4096, 4097, 65536, 100000, 131072 + 1, 200000, 3 << 20, 777,
};

#define ROUNDS 3
#define NBUF (ARRAY_SIZE(sizes) * ROUNDS)

int main(int argc, char **argv)
{
	unsigned char *buf[NBUF];
	void *more[64];
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < NBUF; i++) {
		buf[i] = malloc(sizes[i % ARRAY_SIZE(sizes)]);
		if (!buf[i])
			fail("malloc: %m");
		datagen(buf[i], sizes[i % ARRAY_SIZE(sizes)], 1000 + i);
	}
	/* Holes in the heap: free every third buffer. */
	for (i = 0; i < NBUF; i += 3) {
		free(buf[i]);
		buf[i] = NULL;
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < NBUF; i++) {
		size_t off;

		if (!buf[i])
			continue;
		off = datachk(buf[i], sizes[i % ARRAY_SIZE(sizes)], 1000 + i);
		if (off != (size_t)-1)
			fail("buffer %zu (%zu bytes at %p) differs at offset %zu", i,
			     sizes[i % ARRAY_SIZE(sizes)], (void *)buf[i], off);
	}
	/* The allocator's own state came back too: use it hard. */
	for (i = 0; i < ARRAY_SIZE(more); i++) {
		more[i] = malloc(sizes[i % ARRAY_SIZE(sizes)]);
		if (!more[i])
			fail("malloc after restore: %m");
		memset(more[i], 0x5a, sizes[i % ARRAY_SIZE(sizes)]);
	}
	for (i = 0; i < ARRAY_SIZE(more); i++)
		free(more[i]);
	for (i = 0; i < NBUF; i++)
		free(buf[i]);
	pass();
	return 0;
}
