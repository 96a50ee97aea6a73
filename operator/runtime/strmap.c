/* String-keyed hash map with chained buckets. A node carries its key inline, so an entry is
 * one allocation. */
#include "operator/runtime/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct strmap_node {
	struct strmap_node *next;
	void *val;
	uint64_t hash;
	char key[];
};

static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_release(struct strmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_node *n = m->buckets[i];

		while (n) {
			struct strmap_node *next = n->next;

			if (free_val)
				free_val(n->val);
			free(n);
			n = next;
		}
	}
	free(m->buckets);
	strmap_init(m);
}

static struct strmap_node **strmap_slot(const struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_node **p;

	if (!m->nbuckets)
		return NULL;
	p = &m->buckets[h & (m->nbuckets - 1)];
	while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
		p = &(*p)->next;
	return p;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_node **p = strmap_slot(m, key, strmap_hash(key));

	return p && *p ? (*p)->val : NULL;
}

static int strmap_grow(struct strmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	struct strmap_node **b = calloc(n, sizeof(struct strmap_node *));

	if (!b)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_node *node = m->buckets[i];

		while (node) {
			struct strmap_node *next = node->next;
			struct strmap_node **head = &b[node->hash & (n - 1)];

			node->next = *head;
			*head = node;
			node = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val, void **old)
{
	uint64_t h = strmap_hash(key);
	struct strmap_node **p = strmap_slot(m, key, h);
	struct strmap_node *node;
	size_t klen = strlen(key);

	if (!val)
		return SAQR_EINVAL;
	if (p && *p) {
		if (old)
			*old = (*p)->val;
		(*p)->val = val;
		return 0;
	}
	if (m->len >= m->nbuckets && strmap_grow(m) != 0)
		return SAQR_ENOMEM;
	node = malloc(sizeof(*node) + klen + 1);
	if (!node)
		return SAQR_ENOMEM;
	memcpy(node->key, key, klen + 1);
	node->hash = h;
	node->val = val;
	p = &m->buckets[h & (m->nbuckets - 1)];
	node->next = *p;
	*p = node;
	m->len++;
	if (old)
		*old = NULL;
	return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct strmap_node **p = strmap_slot(m, key, strmap_hash(key));
	struct strmap_node *node;
	void *val;

	if (!p || !*p)
		return NULL;
	node = *p;
	*p = node->next;
	val = node->val;
	free(node);
	m->len--;
	return val;
}

size_t strmap_len(const struct strmap *m)
{
	return m->len;
}

void strmap_iter_init(struct strmap_iter *it)
{
	it->bucket = 0;
	it->node = NULL;
}

bool strmap_next(const struct strmap *m, struct strmap_iter *it, const char **key, void **val)
{
	struct strmap_node *n = it->node;

	/* it->node is the entry to return next, so removing the returned one is safe. */
	while (!n && it->bucket < m->nbuckets)
		n = m->buckets[it->bucket++];
	if (!n)
		return false;
	it->node = n->next;
	if (!it->node)
		while (!it->node && it->bucket < m->nbuckets)
			it->node = m->buckets[it->bucket++];
	if (key)
		*key = n->key;
	if (val)
		*val = n->val;
	return true;
}
