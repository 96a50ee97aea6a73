/* The webhook's decision log, written off the request path. A log line per AdmissionReview is
 * a write() each; when whatever reads stderr (the container runtime's pipe) falls behind, that
 * write blocks, and with it the thread that should be answering the apiserver. Decisions are
 * therefore queued (bounded) and written by a thread of their own.
 *
 * Nothing is lost silently. When the queue is full a request waits up to a bounded time for
 * room (back-pressure); past that the line is dropped, counted in
 * saqr_decisionlog_dropped_total, and the next line written is a "decision log lines dropped"
 * record with the count. Every line carries `seq` (1, 2, ... from process start) and `prev`, the
 * SHA-256 (hex) of the previous line's exact text (64 zeros for the first): a hash chain that
 * `saqrctl audit verify` checks, so that an altered, deleted, reordered or truncated line shows.
 *
 * Thread-safety: decisionlog_push from any number of threads. */
#ifndef SAQR_WEBHOOK_DECISIONLOG_H
#define SAQR_WEBHOOK_DECISIONLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/metrics.h"

#define DECISIONLOG_DEFAULT_CAPACITY 1024 /* ~30 ms at full load; bounds memory when stderr stalls */
#define DECISIONLOG_DEFAULT_WAIT_MS 50	  /* how long a request waits for room in a full queue */
#define DECISIONLOG_HASH_HEX 65		  /* 64 hex digits and a NUL */
#define DECISIONLOG_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

struct decisionlog;

/* A queue of capacity lines (0: the default), counted in metrics (may be NULL). The writer
 * thread runs from decisionlog_start. 0 or SAQR_ENOMEM. */
int decisionlog_new(size_t capacity, struct metrics *metrics, struct decisionlog **out);
/* How long decisionlog_push waits for room before it drops (0: never waits). */
void decisionlog_set_wait_ms(struct decisionlog *dl, int ms);
/* 0 or SAQR_ENOMEM (no thread). */
int decisionlog_start(struct decisionlog *dl);
/* Queue one info line; msg must be a static string; takes the reference to fields. Waits up to
 * the wait time when the queue is full. Returns false when the line was dropped (counted). */
bool decisionlog_push(struct decisionlog *dl, const char *msg, json_t *fields);
/* Write what is queued, stop the thread and free. NULL is a no-op. */
void decisionlog_free(struct decisionlog *dl);

/* The chain's hash of one line: SHA-256 of its len bytes (no newline), as lowercase hex. */
void decisionlog_hash(const char *line, size_t len, char hex[DECISIONLOG_HASH_HEX]);

#endif
