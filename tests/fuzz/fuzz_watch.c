/* libFuzzer target for the watch stream parser (lib/kube/watch.c). The input is fed twice: in
 * one piece and cut at pseudo-random points drawn from the input itself. Both runs must agree
 * on the result and the number of events, whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/watch.h"

#define FUZZ_MAX_LINE 4096

static int fuzz_count(void *ud, const char *type, json_t *obj)
{
	(void)type;
	(void)obj;
	++*(unsigned long *)ud;
	return 0;
}

static int fuzz_run(const uint8_t *data, size_t size, unsigned int seed, unsigned long *events)
{
	struct kube_watch_parser p;
	struct kube_status st;
	size_t at = 0;
	int rc = 0;

	kube_watch_parser_init(&p, FUZZ_MAX_LINE, fuzz_count, events, &st);
	while (at < size && !rc) {
		size_t n = seed ? 1 + (size_t)(rand_r(&seed) % 64) : size;

		if (n > size - at)
			n = size - at;
		rc = kube_watch_parser_feed(&p, (const char *)data + at, n);
		at += n;
	}
	if (!rc)
		rc = kube_watch_parser_finish(&p);
	kube_watch_parser_release(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long whole_events = 0, split_events = 0;
	unsigned int seed = 1;
	int whole, split;

	for (size_t i = 0; i < size && i < 4; i++)
		seed = seed * 31u + data[i];
	whole = fuzz_run(data, size, 0, &whole_events);
	split = fuzz_run(data, size, seed | 1u, &split_events);
	if (whole != split || whole_events != split_events)
		abort();
	return 0;
}
