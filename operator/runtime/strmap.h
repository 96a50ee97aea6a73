/* A hash map from NUL-terminated strings to non-NULL pointers (chained buckets, FNV-1a,
 * doubling at load 1). Not thread-safe: callers lock. Used for the informer cache and the
 * work queue's item table. */
#ifndef SAQR_CONTROLLER_STRMAP_H
#define SAQR_CONTROLLER_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap_node;

struct strmap {
	struct strmap_node **buckets; /* NULL until the first put */
	size_t nbuckets;
	size_t len;
};

/* Walks every entry; see strmap_next. */
struct strmap_iter {
	size_t bucket;
	struct strmap_node *node;
};

/* An empty map (no allocation). */
void strmap_init(struct strmap *m);
/* Free every node, calling free_val on each value when free_val is not NULL. The map is empty
 * and reusable afterwards. */
void strmap_release(struct strmap *m, void (*free_val)(void *));
/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Map key (copied) to val (not NULL; the map stores the pointer, it does not own it). When key
 * was present its previous value is returned in *old (if old is not NULL), else *old is NULL.
 * 0, SAQR_EINVAL or SAQR_ENOMEM (the map is unchanged). */
int strmap_put(struct strmap *m, const char *key, void *val, void **old);
/* Remove key and return its value, or NULL when absent. */
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_len(const struct strmap *m);
/* Start an iteration. The map must not change during it, except strmap_remove of the entry
 * just returned. */
void strmap_iter_init(struct strmap_iter *it);
/* The next entry, or false at the end. key and val may be NULL. key is owned by the map. */
bool strmap_next(const struct strmap *m, struct strmap_iter *it, const char **key, void **val);

#endif
