/* Token bucket and exponential backoff. */
#include "operator/runtime/ratelimit.h"

#include <math.h>

void ratelimit_bucket_init(struct ratelimit_bucket *b, double qps, double burst, double now)
{
	b->qps = qps;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last = now;
}

double ratelimit_bucket_reserve(struct ratelimit_bucket *b, double now)
{
	if (b->qps <= 0)
		return 0;
	if (now > b->last) {
		b->tokens = fmin(b->burst, b->tokens + (now - b->last) * b->qps);
		b->last = now;
	}
	b->tokens -= 1;
	return b->tokens >= 0 ? 0 : -b->tokens / b->qps;
}

double ratelimit_backoff(double base, double max, unsigned failures)
{
	double d;

	if (failures >= 1000)
		return max;
	d = ldexp(base, (int)failures);
	return d > max || !isfinite(d) ? max : d;
}
