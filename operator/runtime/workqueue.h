/* A rate-limited, de-duplicating work queue of string keys ("namespace/name"), with the
 * semantics of client-go's workqueue:
 *  - a key added while already queued is queued once;
 *  - a key added while a worker processes it is queued again only after workqueue_done(), so
 *    no two workers ever hold the same key;
 *  - add_after() delays a key (a min-heap of due times; getters sleep on a condition variable
 *    until the earliest one, never polling);
 *  - add_rate_limited() delays by max(per-key backoff base*2^failures capped at max_delay,
 *    the overall token bucket), as client-go's DefaultControllerRateLimiter; forget() resets
 *    the key's failures.
 * All calls are thread-safe. */
#ifndef SAQR_CONTROLLER_WORKQUEUE_H
#define SAQR_CONTROLLER_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>

#define WORKQUEUE_BASE_DELAY 0.005
#define WORKQUEUE_MAX_DELAY 1000.0
#define WORKQUEUE_QPS 10.0
#define WORKQUEUE_BURST 100.0
#define WORKQUEUE_MAX_KEYS (1u << 20)

/* Metrics hooks. depth is called with the queue's lock held whenever the number of ready keys
 * changes: it must be quick and must not call the queue. retry is called on each
 * add_rate_limited, without the lock. Either may be NULL. */
struct workqueue_hooks {
	void (*depth)(void *ud, size_t depth);
	void (*retry)(void *ud, const char *key);
	void *ud;
};

/* Zero fields take the defaults above. */
struct workqueue_opts {
	double base_delay; /* seconds */
	double max_delay;  /* seconds */
	double qps;	   /* overall limit on add_rate_limited; < 0: none */
	double burst;
	size_t max_keys;       /* distinct keys tracked at once; add fails with SAQR_ETOOBIG beyond */
	double (*clock)(void); /* monotonic seconds for the rate limiter (tests pass a fake); NULL: real */
	struct workqueue_hooks hooks;
};

struct workqueue;

/* New queue; opts may be NULL. 0 or SAQR_ENOMEM. */
int workqueue_new(const struct workqueue_opts *opts, struct workqueue **out);
/* Free the queue. NULL is a no-op. No thread may be using it (shut it down and join first). */
void workqueue_free(struct workqueue *q);

/* Queue key (copied) now. 0, SAQR_ECLOSED after shut down, SAQR_ENOMEM, SAQR_ETOOBIG. */
int workqueue_add(struct workqueue *q, const char *key);
/* Queue key after delay seconds (<= 0: now). A key already waiting keeps the earlier due time. */
int workqueue_add_after(struct workqueue *q, const char *key, double delay);
/* Record one failure of key and return how long to wait before retrying it (client-go's When):
 * max(base_delay * 2^(failures so far), capped at max_delay; the token bucket's wait). */
double workqueue_rate_limit_delay(struct workqueue *q, const char *key);
/* add_after(key, workqueue_rate_limit_delay(key)); calls the retry hook. */
int workqueue_add_rate_limited(struct workqueue *q, const char *key);
/* Reset key's failure count (call after a successful reconcile). */
void workqueue_forget(struct workqueue *q, const char *key);
/* Failures recorded for key since the last forget. */
unsigned workqueue_num_requeues(struct workqueue *q, const char *key);

/* Block until a key is ready and hand it to the caller, who must call workqueue_done() with it
 * when finished and then free(*key). 0, or SAQR_ECLOSED once the queue is shut down (keys still
 * queued are abandoned; *key is untouched). */
int workqueue_get(struct workqueue *q, char **key);
/* Finish processing key; if it was added meanwhile it is queued again. */
void workqueue_done(struct workqueue *q, const char *key);

/* Refuse further adds and wake every getter (they return SAQR_ECLOSED). Idempotent. */
void workqueue_shut_down(struct workqueue *q);
bool workqueue_shutting_down(struct workqueue *q);
/* Keys ready to be handed out (not those waiting for a due time or being processed). */
size_t workqueue_len(struct workqueue *q);
/* Keys waiting for a due time. */
size_t workqueue_waiting(struct workqueue *q);

/* ---- workers ---- */

/* What a reconcile asks for: err < 0 requeues with backoff; else requeue_after > 0 forgets the
 * failures and requeues after that many seconds; else requeue requeues with backoff; else the
 * key is forgotten. */
struct workqueue_result {
	int err;
	bool requeue;
	double requeue_after;
};

typedef struct workqueue_result (*workqueue_reconcile_fn)(void *ud, const char *key);

struct workqueue_workers;

/* Start n threads that loop get -> fn -> (requeue as the result says) -> done until the queue
 * is shut down. 0, SAQR_EINVAL (n < 1) or SAQR_ENOMEM (no threads left running). */
int workqueue_run_workers(struct workqueue *q, int n, workqueue_reconcile_fn fn, void *ud,
			  struct workqueue_workers **out);
/* Wait for the workers to return (shut the queue down first) and free w. NULL is a no-op. */
void workqueue_workers_join(struct workqueue_workers *w);

#endif
