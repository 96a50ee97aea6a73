/* Clocks, MicroTime formatting and monotonic condition waits. */
#include "operator/runtime/ctrltime.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

static double ctrltime_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double ctrltime_mono(void)
{
	return ctrltime_read(CLOCK_MONOTONIC);
}

double ctrltime_wall(void)
{
	return ctrltime_read(CLOCK_REALTIME);
}

int ctrltime_format_micro(double wall, char *out, size_t outlen)
{
	time_t secs = (time_t)floor(wall);
	long usec = lround((wall - (double)secs) * 1e6);
	struct tm tm;
	int n;

	if (usec >= 1000000) {
		secs++;
		usec -= 1000000;
	}
	if (!gmtime_r(&secs, &tm))
		return SAQR_EINVAL;
	n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
}

int ctrltime_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return SAQR_ENOMEM;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc ? SAQR_ENOMEM : 0;
}

int ctrltime_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, double deadline)
{
	struct timespec ts;
	double secs;

	if (deadline > 1e12)
		deadline = 1e12;
	secs = floor(deadline);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((deadline - secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	return pthread_cond_timedwait(cond, mu, &ts);
}

double ctrltime_jitter(void)
{
	/* splitmix64 over a shared atomic counter: cheap, lock-free, good enough for jitter. */
	static _Atomic uint64_t state = 0x9e3779b97f4a7c15ull;
	uint64_t z = atomic_fetch_add(&state, 0x9e3779b97f4a7c15ull);

	z ^= (uint64_t)time(NULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}
