/* A per-thread bump allocator for the jansson values of a parsed AdmissionReview. Parsing one
 * makes several hundred small allocations that all die together when the request ends; glibc's
 * malloc spends more time on them than the parser does. While a thread's arena is open, jansson
 * allocates from it; freeing an arena value only counts it, and a chunk is reused once every
 * value in it was freed. A value kept past its request (a bug) leaves its chunk unused, never
 * reused under it.
 *
 * arena_install() routes jansson's allocator through here (plain malloc/free while no arena is
 * open, so values made before or elsewhere are unaffected). Arena values must be freed on the
 * thread that made them: the webhook parses, judges and releases a review on one thread. */
#ifndef SAQR_WEBHOOK_ARENA_H
#define SAQR_WEBHOOK_ARENA_H

#include <stddef.h>

/* Route jansson's allocation through the arena hooks. Idempotent; call before other threads use
 * jansson (saqr-webhook does it in webhook_new, before serving). */
void arena_install(void);
/* Open this thread's arena: jansson allocations made on this thread come from it until
 * arena_close. Chunks whose values were all freed are reused. */
void arena_open(void);
void arena_close(void);
/* Values from this thread's arena not yet freed (for tests). */
size_t arena_live(void);
/* Bytes of chunks this thread's arena holds. arena_open gives back all but 1 MiB of empty
 * chunks, so that one large review does not pin its memory for the thread's life. */
size_t arena_held(void);

#endif
