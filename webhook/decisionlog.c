/* Decision log lines through a bounded queue and a writer thread (see decisionlog.h). */
#include "webhook/decisionlog.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"

#define DECISIONLOG_BATCH 256
#define DECISIONLOG_PERIOD_NS 2000000L /* the writer wakes this often: short bursts, few wake-ups */

struct decisionlog_line {
	const char *msg;
	json_t *fields;
};

struct decisionlog {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct decisionlog_line *ring;
	size_t cap, head, count;
	unsigned long dropped; /* since the last report */
	bool stop;
	bool running;
	pthread_t thread;
	struct metrics *metrics;
};

int decisionlog_new(size_t capacity, struct metrics *metrics, struct decisionlog **out)
{
	struct decisionlog *dl = calloc(1, sizeof(*dl));
	pthread_condattr_t ca;

	if (!dl)
		return SAQR_ENOMEM;
	dl->cap = capacity ? capacity : DECISIONLOG_DEFAULT_CAPACITY;
	dl->ring = calloc(dl->cap, sizeof(*dl->ring));
	if (!dl->ring) {
		free(dl);
		return SAQR_ENOMEM;
	}
	pthread_mutex_init(&dl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dl->wake, &ca);
	pthread_condattr_destroy(&ca);
	dl->metrics = metrics;
	*out = dl;
	return 0;
}

void decisionlog_push(struct decisionlog *dl, const char *msg, json_t *fields)
{
	bool dropped = false;

	pthread_mutex_lock(&dl->lock);
	if (dl->count < dl->cap) {
		dl->ring[(dl->head + dl->count) % dl->cap] = (struct decisionlog_line){msg, fields};
		/* the writer drains every period on its own; wake it early only when the queue fills,
		 * so that requests do not pay a thread wake-up each */
		if (++dl->count == dl->cap / 4)
			pthread_cond_signal(&dl->wake);
	} else {
		dl->dropped++;
		dropped = true;
	}
	pthread_mutex_unlock(&dl->lock);
	if (!dropped)
		return;
	json_decref(fields);
	if (dl->metrics)
		metrics_counter_add(dl->metrics, "saqr_decision_log_dropped_total",
				    "Decision log lines dropped because the log writer fell behind.", "", 1);
}

/* Take up to n queued lines into out; waits while there are none. Returns how many. */
static size_t decisionlog__take(struct decisionlog *dl, struct decisionlog_line *out, size_t n,
				unsigned long *dropped)
{
	struct timespec until;
	size_t got = 0;

	pthread_mutex_lock(&dl->lock);
	while (!dl->count && !dl->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += DECISIONLOG_PERIOD_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&dl->wake, &dl->lock, &until);
	}
	while (got < n && dl->count) {
		out[got++] = dl->ring[dl->head];
		dl->head = (dl->head + 1) % dl->cap;
		dl->count--;
	}
	*dropped = dl->dropped;
	dl->dropped = 0;
	pthread_mutex_unlock(&dl->lock);
	return got;
}

static void decisionlog__report_drops(unsigned long dropped)
{
	char n[24];

	if (!dropped)
		return;
	snprintf(n, sizeof(n), "%lu", dropped);
	log_warn("decision log lines dropped: the log reader is too slow", "dropped", n);
}

/* Write until stopped and drained. */
static void *decisionlog__writer(void *arg)
{
	struct decisionlog *dl = arg;
	struct decisionlog_line batch[DECISIONLOG_BATCH];
	unsigned long dropped;
	size_t n;

	while ((n = decisionlog__take(dl, batch, DECISIONLOG_BATCH, &dropped)) > 0 || dropped) {
		for (size_t i = 0; i < n; i++)
			log_json(LOG_LVL_INFO, batch[i].msg, batch[i].fields);
		decisionlog__report_drops(dropped);
	}
	return NULL;
}

int decisionlog_start(struct decisionlog *dl)
{
	if (dl->running)
		return 0;
	if (pthread_create(&dl->thread, NULL, decisionlog__writer, dl))
		return SAQR_ENOMEM;
	dl->running = true;
	return 0;
}

void decisionlog_free(struct decisionlog *dl)
{
	if (!dl)
		return;
	pthread_mutex_lock(&dl->lock);
	dl->stop = true;
	pthread_cond_signal(&dl->wake);
	pthread_mutex_unlock(&dl->lock);
	if (dl->running)
		pthread_join(dl->thread, NULL);
	else
		decisionlog__writer(dl); /* never started: write what was queued here */
	pthread_cond_destroy(&dl->wake);
	pthread_mutex_destroy(&dl->lock);
	free(dl->ring);
	free(dl);
}
