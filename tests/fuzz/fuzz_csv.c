/* libFuzzer target for the streaming CSV reader (drift/csv.c) and its number parser: any bytes
 * must give records or an error naming the line, with a small record cap so the buffer's refill
 * and overflow paths run too; never a crash or a leak. Every field is also read as a number
 * both ways (the inline fast path and csv_parse_double), which must agree. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drift/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(const uint8_t *data, size_t size, size_t max_record)
{
	struct csv_reader *r = NULL;
	struct csv_field *f;
	char err[256] = "";
	size_t n;
	int rc;

	if (csv_open_mem((const char *)data, size, "fuzz.csv", max_record, &r, err, sizeof(err)) != 0)
		abort();
	while ((rc = csv_next(r, &f, &n, err, sizeof(err))) == 1) {
		for (size_t i = 0; i < n; i++) {
			double fast = 0, slow = 0;
			bool a = csv_field_double(&f[i], &fast),
			     b = csv_parse_double(f[i].s, f[i].len, &slow);

			if (f[i].s[f[i].len] != '\0' || a != b ||
			    (a && memcmp(&fast, &slow, sizeof(fast)) != 0 && !(isnan(fast) && isnan(slow))))
				abort();
			(void)csv_is_missing(f[i].s, f[i].len);
		}
		(void)csv_line(r);
	}
	if (rc != 0 && (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
		abort();
	csv_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size,
		 4096); /* the default cap (1 MiB) behaves alike, and calloc of it per input is slow */
	read_all(data, size, 64);
	return 0;
}
