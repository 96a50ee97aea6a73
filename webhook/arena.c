/* Per-thread bump arena behind jansson's allocator (see arena.h). */
#include "webhook/arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_CHUNK ((size_t)64 << 10)
#define ARENA_MAX_OBJECT ((size_t)4 << 10) /* larger allocations go to malloc */
#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t live; /* values handed out and not yet freed */
	_Alignas(ARENA_ALIGN) char data[];
};

struct arena {
	struct arena_chunk *chunks;
	struct arena_chunk *cur;
	bool open;
};

static _Thread_local struct arena *arena__tl;
static pthread_key_t arena__key;
static pthread_once_t arena__once = PTHREAD_ONCE_INIT;
static _Atomic bool arena__installed;

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
			kept = c;
		} else {
			free(c);
		}
	}
	if (kept) {
		a->chunks = kept;
		a->cur = NULL;
		a->open = false;
		return;
	}
	free(a);
	if (arena__tl == a)
		arena__tl = NULL;
}

static void arena__at_exit(void)
{
	arena__destroy(arena__tl); /* exit() runs no key destructor for the exiting thread */
}

static struct arena_chunk *arena__chunk_with_room(struct arena *a, size_t n)
{
	struct arena_chunk *c;

	for (c = a->chunks; c; c = c->next) {
		if (!c->live)
			c->used = 0;
		if (c->used + n <= ARENA_CHUNK)
			return c;
	}
	c = malloc(sizeof(*c) + ARENA_CHUNK);
	if (!c)
		return NULL;
	c->used = 0;
	c->live = 0;
	c->next = a->chunks;
	a->chunks = c;
	return c;
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
	if (!c || c->used + n > ARENA_CHUNK) {
		c = arena__chunk_with_room(a, n);
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

	if (!p)
		return;
	for (struct arena_chunk *c = a ? a->chunks : NULL; c; c = c->next) {
		if ((uintptr_t)p >= (uintptr_t)c->data && (uintptr_t)p < (uintptr_t)c->data + ARENA_CHUNK) {
			c->live--;
			return;
		}
	}
	free(p);
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
	for (struct arena_chunk *c = a->chunks; c; c = c->next)
		if (!c->live)
			c->used = 0;
	a->cur = a->chunks;
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
