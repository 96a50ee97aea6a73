/* Per-thread bump arena behind jansson's allocator (see arena.h).
 *
 * Every operation costs O(1): chunks are aligned to their size, so the chunk of a pointer is the
 * pointer with its low bits cleared, and a small hash set of this thread's chunk addresses says
 * whether a pointer is one of ours (a free used to walk the chunk list, which made freeing a
 * large review quadratic in its size). A chunk that empties while another is being filled goes
 * onto a stack of empty chunks, the next place the arena bumps into. */
#include "webhook/arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK ((size_t)64 << 10)	   /* size and alignment of a chunk, header included */
#define ARENA_MAX_OBJECT ((size_t)4 << 10) /* larger allocations go to malloc */
#define ARENA_ALIGN 16
#define ARENA_INDEX_MIN 16
#define ARENA_KEEP_EMPTY 16 /* empty chunks kept from one request to the next (1 MiB) */

struct arena_chunk {
	struct arena_chunk *next;  /* every chunk of the arena */
	struct arena_chunk *empty; /* the stack of empty chunks */
	size_t used;
	size_t live;   /* values handed out and not yet freed */
	bool on_stack; /* in the empty stack */
	_Alignas(ARENA_ALIGN) char data[];
};

#define ARENA_DATA (ARENA_CHUNK - offsetof(struct arena_chunk, data))

struct arena {
	struct arena_chunk *chunks;
	struct arena_chunk *cur;
	struct arena_chunk *empty;
	struct arena_chunk **index; /* open addressing, NULL = free slot; cap a power of two */
	size_t index_cap, nchunks;
	bool open;
};

static _Thread_local struct arena *arena__tl;
static pthread_key_t arena__key;
static pthread_once_t arena__once = PTHREAD_ONCE_INIT;
static _Atomic bool arena__installed;

/* ---- the index: which aligned blocks are this thread's chunks ---- */

static size_t arena__slot(const struct arena *a, const void *base)
{
	uint64_t h = (uint64_t)((uintptr_t)base / ARENA_CHUNK) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (a->index_cap - 1);
}

static void arena__index_put(struct arena *a, struct arena_chunk *c)
{
	size_t i = arena__slot(a, c);

	while (a->index[i])
		i = (i + 1) & (a->index_cap - 1);
	a->index[i] = c;
}

/* Make room for one more chunk (load factor at most 1/2). false when out of memory. */
static bool arena__index_grow(struct arena *a)
{
	struct arena_chunk **old = a->index;
	size_t old_cap = a->index_cap, cap;

	if ((a->nchunks + 1) * 2 <= a->index_cap)
		return true;
	cap = old_cap ? old_cap * 2 : ARENA_INDEX_MIN;
	a->index = calloc(cap, sizeof(struct arena_chunk *));
	if (!a->index) {
		a->index = old;
		return false;
	}
	a->index_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			arena__index_put(a, old[i]);
	free(old);
	return true;
}

static struct arena_chunk *arena__find(const struct arena *a, const void *p)
{
	const void *base = (const void *)((uintptr_t)p & ~(uintptr_t)(ARENA_CHUNK - 1));
	size_t i;

	if (!a || !a->index_cap)
		return NULL;
	for (i = arena__slot(a, base); a->index[i]; i = (i + 1) & (a->index_cap - 1))
		if ((const void *)a->index[i] == base)
			return a->index[i];
	return NULL;
}

/* ---- chunks ---- */

static void arena__destroy(void *p)
{
	struct arena *a = p;
	struct arena_chunk *c, *next, *kept = NULL;

	if (!a)
		return;
	for (c = a->chunks; c; c = next) {
		next = c->next;
		if (c->live) { /* something still points in here: never free under it */
			c->next = kept;
			c->on_stack = false;
			kept = c;
		} else {
			free(c);
		}
	}
	if (kept) {
		a->chunks = kept;
		a->cur = a->empty = NULL;
		a->open = false;
		memset(a->index, 0, a->index_cap * sizeof(struct arena_chunk *));
		for (c = kept; c; c = c->next)
			arena__index_put(a, c);
		return;
	}
	free(a->index);
	free(a);
	if (arena__tl == a)
		arena__tl = NULL;
}

static void arena__at_exit(void)
{
	arena__destroy(arena__tl); /* exit() runs no key destructor for the exiting thread */
}

static struct arena_chunk *arena__chunk_new(struct arena *a)
{
	struct arena_chunk *c;

	if (!arena__index_grow(a))
		return NULL;
	c = aligned_alloc(ARENA_CHUNK, ARENA_CHUNK);
	if (!c)
		return NULL;
	c->used = 0;
	c->live = 0;
	c->on_stack = false;
	c->empty = NULL;
	c->next = a->chunks;
	a->chunks = c;
	a->nchunks++;
	arena__index_put(a, c);
	return c;
}

/* The chunk to bump into once the current one is full: itself when every value in it was
 * freed, else an empty one, else a new one. */
static struct arena_chunk *arena__next_chunk(struct arena *a)
{
	struct arena_chunk *c = a->cur;

	if (c && !c->live) {
		c->used = 0;
		return c;
	}
	while ((c = a->empty) != NULL) {
		a->empty = c->empty;
		c->on_stack = false;
		if (!c->live) { /* still empty */
			c->used = 0;
			return c;
		}
	}
	return arena__chunk_new(a);
}

static void *arena__malloc(size_t n)
{
	struct arena *a = arena__tl;
	struct arena_chunk *c;
	void *p;

	if (!a || !a->open || n > ARENA_MAX_OBJECT)
		return malloc(n);
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	c = a->cur;
	if (!c || c->used + n > ARENA_DATA) {
		c = arena__next_chunk(a);
		if (!c)
			return NULL;
		a->cur = c;
	}
	p = c->data + c->used;
	c->used += n;
	c->live++;
	return p;
}

static void arena__free(void *p)
{
	struct arena *a = arena__tl;
	struct arena_chunk *c;

	if (!p)
		return;
	c = arena__find(a, p);
	if (!c) {
		free(p);
		return;
	}
	if (--c->live || c == a->cur || c->on_stack)
		return;
	c->on_stack = true;
	c->empty = a->empty;
	a->empty = c;
}

static void arena__init(void)
{
	pthread_key_create(&arena__key, arena__destroy);
	atexit(arena__at_exit);
	json_set_alloc_funcs(arena__malloc, arena__free);
	arena__installed = true;
}

void arena_install(void)
{
	pthread_once(&arena__once, arena__init);
}

/* Stack the empty chunks for reuse, keeping ARENA_KEEP_EMPTY of them: what one large review
 * needed is given back before the next request. */
static void arena__trim(struct arena *a)
{
	struct arena_chunk **link = &a->chunks, *c;
	size_t kept = 0;
	bool freed = false;

	while ((c = *link) != NULL) {
		c->on_stack = false;
		if (!c->live && kept == ARENA_KEEP_EMPTY) {
			*link = c->next;
			free(c);
			a->nchunks--;
			freed = true;
			continue;
		}
		if (!c->live) {
			c->on_stack = true;
			c->empty = a->empty;
			a->empty = c;
			kept++;
		}
		link = &c->next;
	}
	if (!freed)
		return;
	memset(a->index, 0, a->index_cap * sizeof(struct arena_chunk *));
	for (c = a->chunks; c; c = c->next)
		arena__index_put(a, c);
}

size_t arena_held(void)
{
	size_t n = 0;

	for (struct arena_chunk *c = arena__tl ? arena__tl->chunks : NULL; c; c = c->next)
		n += ARENA_CHUNK;
	return n;
}

void arena_open(void)
{
	struct arena *a = arena__tl;

	if (!arena__installed)
		return; /* jansson uses plain malloc */
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return;
		arena__tl = a;
		pthread_setspecific(arena__key, a);
	}
	a->cur = a->empty = NULL;
	arena__trim(a);
	a->open = true;
}

void arena_close(void)
{
	if (arena__tl)
		arena__tl->open = false;
}

size_t arena_live(void)
{
	size_t n = 0;

	for (struct arena_chunk *c = arena__tl ? arena__tl->chunks : NULL; c; c = c->next)
		n += c->live;
	return n;
}
