/* Log-linear streaming histogram; see sketch.h. */
#include "drift/sketch.h"

#include <float.h>
#include <stdlib.h>

#include "common/err.h"

#define SKETCH_HALF (SKETCH_KEYS / 2) /* key of +0.0 */
#define SKETCH_SHIFT (52 - SKETCH_SUB_BITS)

void sketch_init(struct sketch *s)
{
	memset(s, 0, sizeof(*s));
}

void sketch_release(struct sketch *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < SKETCH_BLOCKS; i++)
		free(s->block[i]);
	sketch_init(s);
}

int sketch_add_slow(struct sketch *s, size_t key)
{
	size_t b = key >> SKETCH_SUB_BITS;

	s->block[b] = calloc(SKETCH_SUB, sizeof(uint64_t));
	if (!s->block[b])
		return SAQR_ENOMEM;
	if (s->n == 0 || b < s->lo_block)
		s->lo_block = b;
	if (s->n == 0 || b > s->hi_block)
		s->hi_block = b;
	s->block[b][key & (SKETCH_SUB - 1)]++;
	s->n++;
	return 0;
}

/* The magnitude at grid index g: the double whose bits are g << SKETCH_SHIFT. */
static double grid_magnitude(size_t g)
{
	uint64_t b = (uint64_t)g << SKETCH_SHIFT;
	double v;

	if (b >= 0x7ff0000000000000ull)
		return DBL_MAX;
	memcpy(&v, &b, sizeof(v));
	return v;
}

double sketch_edge(size_t key)
{
	if (key >= SKETCH_HALF)
		return grid_magnitude(key - SKETCH_HALF);
	return -grid_magnitude(SKETCH_HALF - key);
}

uint64_t sketch_count(const struct sketch *s, size_t key)
{
	const uint64_t *blk = key < SKETCH_KEYS ? s->block[key >> SKETCH_SUB_BITS] : NULL;

	return blk ? blk[key & (SKETCH_SUB - 1)] : 0;
}

size_t sketch_next(const struct sketch *s, size_t key)
{
	size_t b, i;

	if (s->n == 0)
		return SKETCH_END;
	if (key < s->lo_block * SKETCH_SUB)
		key = s->lo_block * SKETCH_SUB;
	for (b = key >> SKETCH_SUB_BITS; b <= s->hi_block; b++) {
		if (!s->block[b])
			continue;
		for (i = b == key >> SKETCH_SUB_BITS ? key & (SKETCH_SUB - 1) : 0; i < SKETCH_SUB; i++)
			if (s->block[b][i])
				return b * SKETCH_SUB + i;
	}
	return SKETCH_END;
}

uint64_t sketch_range(const struct sketch *s, size_t from, size_t to)
{
	uint64_t sum = 0;
	size_t k;

	for (k = sketch_next(s, from); k < to; k = sketch_next(s, k + 1))
		sum += sketch_count(s, k);
	return sum;
}
