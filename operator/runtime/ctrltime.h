/* Clocks for the controller machinery: a monotonic clock for deadlines and backoff, the wall
 * clock for timestamps the API server stores (metav1.MicroTime), and condition variables that
 * wait on the monotonic clock so a wall-clock step never stretches or cuts a wait. */
#ifndef SAQR_CONTROLLER_CTRLTIME_H
#define SAQR_CONTROLLER_CTRLTIME_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
double ctrltime_mono(void);
/* Seconds since the Unix epoch (CLOCK_REALTIME). */
double ctrltime_wall(void);
/* Format wall-clock seconds as a metav1.MicroTime ("2024-05-01T10:00:00.123456Z") into out.
 * 0 or SAQR_ETOOBIG (out needs 28 bytes). */
int ctrltime_format_micro(double wall, char *out, size_t outlen);
/* Initialise cond to measure timed waits on CLOCK_MONOTONIC. 0 or SAQR_ENOMEM. */
int ctrltime_cond_init(pthread_cond_t *cond);
/* Wait on cond until the monotonic time `deadline` (seconds); returns like pthread_cond_timedwait. */
int ctrltime_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, double deadline);
/* A random factor in [0, 1) for jitter; thread-safe. */
double ctrltime_jitter(void);

#endif
