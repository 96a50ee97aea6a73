/* A log-linear histogram of doubles for streaming data: each value falls in a
 * bucket fixed by its sign, binary exponent and top SKETCH_SUB_BITS mantissa bits,
 * so a bucket is at most 2^-7 (0.8%) of its value wide, buckets are the same for
 * every file, and memory grows with the range of the data (1 KiB per occupied
 * binade), never with the number of rows. Bucket keys ascend with the values.
 * Bucket k holds [sketch_edge(k), sketch_edge(k+1)) for k at or above the zero
 * key and (edge(k), edge(k+1)] below it. Counts are exact. Not thread-safe per sketch. */
#ifndef SAQR_DRIFT_SKETCH_H
#define SAQR_DRIFT_SKETCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SKETCH_SUB_BITS 7
#define SKETCH_SUB (1u << SKETCH_SUB_BITS)
#define SKETCH_BLOCKS 4096u /* sign + 11 exponent bits */
#define SKETCH_KEYS ((size_t)SKETCH_BLOCKS * SKETCH_SUB)
#define SKETCH_END SKETCH_KEYS /* "no more buckets" for sketch_next() */

struct sketch {
	uint64_t *block[SKETCH_BLOCKS]; /* SKETCH_SUB counts each, allocated on first use */
	uint64_t n;			/* values added */
	size_t lo_block, hi_block;	/* occupied block range when n > 0 */
};

void sketch_init(struct sketch *s);
/* Free the buckets; the sketch is empty and reusable. NULL is a no-op. */
void sketch_release(struct sketch *s);

/* The bucket key of a finite value (-0.0 counts as 0.0). */
static inline size_t sketch_key(double v)
{
	uint64_t b;

	v += 0.0; /* -0.0 + 0.0 is +0.0 */
	memcpy(&b, &v, sizeof(b));
	b = (b >> 63) ? ~b : (b | (1ull << 63));
	return (size_t)(b >> (52 - SKETCH_SUB_BITS));
}

/* Count a finite value. 0 or SAQR_ENOMEM. */
int sketch_add_slow(struct sketch *s, size_t key);
static inline int sketch_add(struct sketch *s, double v)
{
	size_t key = sketch_key(v);
	uint64_t *blk = s->block[key >> SKETCH_SUB_BITS];

	if (!blk)
		return sketch_add_slow(s, key);
	blk[key & (SKETCH_SUB - 1)]++;
	s->n++;
	return 0;
}

/* Lower boundary of bucket key (key may be SKETCH_KEYS for the top boundary);
 * +-DBL_MAX stand in for the infinite boundaries. */
double sketch_edge(size_t key);
/* Count in bucket key. */
uint64_t sketch_count(const struct sketch *s, size_t key);
/* The first occupied bucket at or after key, or SKETCH_END. */
size_t sketch_next(const struct sketch *s, size_t key);
/* Occupied buckets in [from, to) summed. */
uint64_t sketch_range(const struct sketch *s, size_t from, size_t to);

#endif
