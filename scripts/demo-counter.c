// SPDX-License-Identifier: GPL-2.0
/*
 * The program `make demo` checkpoints: it counts, keeping its state in
 * memory (a counter and a running checksum over a 64 MiB buffer it fills),
 * and prints one line a second.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	size_t n = 64 << 20, i;
	uint8_t *buf = malloc(n);
	uint64_t sum = 0;
	unsigned long tick;

	if (!buf)
		return 1;
	for (i = 0; i < n; i++)
		buf[i] = (i * 2654435761u) >> 24;
	for (tick = 0;; tick++) {
		sum = 0;
		for (i = 0; i < n; i += 64)
			sum += buf[i];
		buf[tick % n]++;
		printf("tick %lu, checksum %llu\n", tick, (unsigned long long)sum);
		fflush(stdout);
		sleep(1);
	}
}
