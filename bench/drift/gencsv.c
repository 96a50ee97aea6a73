/* Benchmark data for `make bench-drift`: ROWS rows of COLS normal-ish numeric columns
 * ("%.6g", like numpy.savetxt would write), deterministic per seed. With --drift, some
 * columns move: column 3 shifts by 0.05 sd (no drift), 7 widens by 20%, 9 shifts by
 * 0.5 sd (drift).
 *   gencsv ROWS COLS SEED OUT [--drift] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static double uniform(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return ((double)(state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

int main(int argc, char **argv)
{
	long rows, cols, r, c;
	int drift;
	double v, shift, scale;
	FILE *f;

	if (argc < 5) {
		fprintf(stderr, "usage: gencsv ROWS COLS SEED OUT [--drift]\n");
		return 2;
	}
	rows = strtol(argv[1], NULL, 10);
	cols = strtol(argv[2], NULL, 10);
	state = strtoull(argv[3], NULL, 10) * 2654435761u + 88172645463325252ull;
	drift = argc > 5 && strcmp(argv[5], "--drift") == 0;
	f = fopen(argv[4], "w");
	if (!f || rows < 1 || cols < 1) {
		perror(argv[4]);
		return 2;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	for (c = 0; c < cols; c++)
		fprintf(f, "%sf%ld", c ? "," : "", c);
	fputc('\n', f);
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++) {
			shift = drift && c == 3 ? 0.05 : (drift && c == 9 ? 0.5 : 0.0);
			scale = drift && c == 7 ? 1.2 : 1.0;
			v = (normal() * scale + shift) * (1.0 + 0.1 * (double)c) + 0.1 * (double)c;
			fprintf(f, c ? ",%.6g" : "%.6g", v);
		}
		fputc('\n', f);
	}
	return fclose(f) ? 2 : 0;
}
