/* Decision log lines through a bounded queue and a writer thread, hash-chained (see
 * decisionlog.h). Only the writer thread numbers and hashes lines, so the chain follows the
 * order in which lines reach stderr. */
#include "webhook/decisionlog.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	pthread_cond_t wake; /* lines to write, or stop */
	pthread_cond_t room; /* the writer took lines */
	struct decisionlog_line *ring;
	size_t cap, head, count;
	unsigned long dropped; /* since the last report */
	int wait_ms;
	bool stop;
	bool running;
	pthread_t thread;
	struct metrics *metrics;
	/* the writer's own */
	unsigned long long seq;
	char prev[DECISIONLOG_HASH_HEX];
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
	pthread_cond_init(&dl->room, &ca);
	pthread_condattr_destroy(&ca);
	dl->metrics = metrics;
	dl->wait_ms = DECISIONLOG_DEFAULT_WAIT_MS;
	memcpy(dl->prev, DECISIONLOG_GENESIS, sizeof(dl->prev));
	*out = dl;
	return 0;
}

void decisionlog_set_wait_ms(struct decisionlog *dl, int ms)
{
	pthread_mutex_lock(&dl->lock);
	dl->wait_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&dl->lock);
}

static void decisionlog__deadline(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ns / 1000000000L;
	ts->tv_nsec += ns % 1000000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait, with dl->lock held, until the queue has room or the wait time is over. */
static bool decisionlog__wait_room(struct decisionlog *dl)
{
	struct timespec until;

	if (dl->count < dl->cap)
		return true;
	if (!dl->wait_ms || !dl->running)
		return false;
	decisionlog__deadline(&until, (long)dl->wait_ms * 1000000L);
	pthread_cond_signal(&dl->wake);
	while (dl->count >= dl->cap && !dl->stop)
		if (pthread_cond_timedwait(&dl->room, &dl->lock, &until) == ETIMEDOUT)
			break;
	return dl->count < dl->cap;
}

bool decisionlog_push(struct decisionlog *dl, const char *msg, json_t *fields)
{
	bool queued;

	pthread_mutex_lock(&dl->lock);
	queued = decisionlog__wait_room(dl);
	if (queued) {
		dl->ring[(dl->head + dl->count) % dl->cap] = (struct decisionlog_line){msg, fields};
		/* the writer drains every period on its own; wake it early only when the queue fills,
		 * so that requests do not pay a thread wake-up each */
		if (++dl->count == dl->cap / 4)
			pthread_cond_signal(&dl->wake);
	} else {
		dl->dropped++;
	}
	pthread_mutex_unlock(&dl->lock);
	if (queued)
		return true;
	json_decref(fields);
	if (dl->metrics)
		metrics_counter_add(dl->metrics, "saqr_decisionlog_dropped_total",
				    "Decision log lines dropped because the log writer fell behind.", "", 1);
	return false;
}

/* Take up to n queued lines into out; waits while there are none. Returns how many. */
static size_t decisionlog__take(struct decisionlog *dl, struct decisionlog_line *out, size_t n,
				unsigned long *dropped)
{
	struct timespec until;
	size_t got = 0;

	pthread_mutex_lock(&dl->lock);
	while (!dl->count && !dl->dropped && !dl->stop) {
		decisionlog__deadline(&until, DECISIONLOG_PERIOD_NS);
		pthread_cond_timedwait(&dl->wake, &dl->lock, &until);
	}
	while (got < n && dl->count) {
		out[got++] = dl->ring[dl->head];
		dl->head = (dl->head + 1) % dl->cap;
		dl->count--;
	}
	*dropped = dl->dropped;
	dl->dropped = 0;
	pthread_cond_broadcast(&dl->room);
	pthread_mutex_unlock(&dl->lock);
	return got;
}

void decisionlog_hash(const char *line, size_t len, char hex[DECISIONLOG_HASH_HEX])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(line, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		memset(hex, 'x', DECISIONLOG_HASH_HEX - 1); /* never matches: the chain shows a break */
		hex[DECISIONLOG_HASH_HEX - 1] = '\0';
		return;
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

static void decisionlog__now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Write one chained line: time, level, msg, seq, prev, then the fields (reference taken). */
static void decisionlog__write(struct decisionlog *dl, const char *level, const char *msg, json_t *fields)
{
	char when[64], *text;
	json_t *line;

	decisionlog__now(when, sizeof(when));
	line = json_pack("{s:s, s:s, s:s, s:I, s:s}", "time", when, "level", level, "msg", msg, "seq",
			 (json_int_t)(dl->seq + 1), "prev", dl->prev);
	if (line && fields)
		json_object_update_missing(line, fields);
	json_decref(fields);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(line);
	if (!text)
		return; /* out of memory: the next line's seq shows the gap */
	dl->seq++;
	decisionlog_hash(text, strlen(text), dl->prev);
	flockfile(stderr);
	fputs(text, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	free(text);
}

static void decisionlog__report_drops(struct decisionlog *dl, unsigned long dropped)
{
	if (dropped)
		decisionlog__write(dl, "warn", "decision log lines dropped: the log reader is too slow",
				   json_pack("{s:I}", "dropped", (json_int_t)dropped));
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
			decisionlog__write(dl, "info", batch[i].msg, batch[i].fields);
		decisionlog__report_drops(dl, dropped);
	}
	return NULL;
}

int decisionlog_start(struct decisionlog *dl)
{
	if (dl->running)
		return 0;
	if (pthread_create(&dl->thread, NULL, decisionlog__writer, dl))
		return SAQR_ENOMEM;
	pthread_mutex_lock(&dl->lock);
	dl->running = true;
	pthread_mutex_unlock(&dl->lock);
	return 0;
}

void decisionlog_free(struct decisionlog *dl)
{
	if (!dl)
		return;
	pthread_mutex_lock(&dl->lock);
	dl->stop = true;
	pthread_cond_signal(&dl->wake);
	pthread_cond_broadcast(&dl->room);
	pthread_mutex_unlock(&dl->lock);
	if (dl->running)
		pthread_join(dl->thread, NULL);
	else
		decisionlog__writer(dl); /* never started: write what was queued here */
	pthread_cond_destroy(&dl->wake);
	pthread_cond_destroy(&dl->room);
	pthread_mutex_destroy(&dl->lock);
	free(dl->ring);
	free(dl);
}
