/* The webhook's decision log, written off the request path. A log line per AdmissionReview is
 * a write() each; when whatever reads stderr (the container runtime's pipe) falls behind, that
 * write blocks, and with it the thread that should be answering the apiserver. Decisions are
 * therefore queued (bounded) and written by a thread of their own through log_json. When the
 * queue is full the line is dropped and counted in saqr_decision_log_dropped_total: admission
 * never waits for logging (the apiserver's audit log keeps the auditAnnotations either way).
 *
 * Thread-safety: decisionlog_push from any number of threads. */
#ifndef SAQR_WEBHOOK_DECISIONLOG_H
#define SAQR_WEBHOOK_DECISIONLOG_H

#include <jansson.h>
#include <stddef.h>

#include "common/metrics.h"

#define DECISIONLOG_DEFAULT_CAPACITY 1024 /* ~30 ms at full load; bounds memory when stderr stalls */

struct decisionlog;

/* A queue of capacity lines (0: the default), counted in metrics (may be NULL). The writer
 * thread runs from decisionlog_start. 0 or SAQR_ENOMEM. */
int decisionlog_new(size_t capacity, struct metrics *metrics, struct decisionlog **out);
/* 0 or SAQR_ENOMEM (no thread). */
int decisionlog_start(struct decisionlog *dl);
/* Queue one info line; msg must be a static string; takes the reference to fields. */
void decisionlog_push(struct decisionlog *dl, const char *msg, json_t *fields);
/* Write what is queued, stop the thread and free. NULL is a no-op. */
void decisionlog_free(struct decisionlog *dl);

#endif
