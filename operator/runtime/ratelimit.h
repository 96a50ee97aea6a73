/* Rate limiting arithmetic shared by the work queue, the event recorder and the informer:
 * a token bucket (the overall limit, like client-go's BucketRateLimiter) and capped
 * exponential backoff (the per-item limit). Pure functions of an explicit `now`; callers lock. */
#ifndef SAQR_CONTROLLER_RATELIMIT_H
#define SAQR_CONTROLLER_RATELIMIT_H

/* Holds up to burst tokens, refilled at qps per second. */
struct ratelimit_bucket {
	double qps;
	double burst;
	double tokens; /* may go negative: tokens already promised to waiting callers */
	double last;   /* time of the last refill */
};

/* A full bucket at time now. qps <= 0 means unlimited. */
void ratelimit_bucket_init(struct ratelimit_bucket *b, double qps, double burst, double now);
/* Take one token at time now; returns the seconds the caller must wait before using it (0 when
 * a token was in the bucket). Reservations queue up: each further caller waits 1/qps longer. */
double ratelimit_bucket_reserve(struct ratelimit_bucket *b, double now);
/* base * 2^failures, capped at max (and never overflowing). */
double ratelimit_backoff(double base, double max, unsigned failures);

#endif
