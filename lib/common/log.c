/* JSON-lines logger. Lines are written with one fputs under a lock so that
 * threads never interleave. */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

static enum log_level log_min = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (s && strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return SAQR_EINVAL;
}

bool log_enabled(enum log_level lvl)
{
	return lvl >= log_min;
}

static void log_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

void log_json(enum log_level lvl, const char *msg, json_t *fields)
{
	char when[64];
	json_t *line;
	char *text;

	if (!log_enabled(lvl)) {
		json_decref(fields);
		return;
	}
	log_now(when, sizeof(when));
	line = json_pack("{s:s, s:s, s:s}", "time", when, "level", log_names[lvl], "msg", msg ? msg : "");
	if (line && fields)
		json_object_update_missing(line, fields);
	json_decref(fields);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(line);
	if (!text)
		return;
	pthread_mutex_lock(&log_lock);
	fputs(text, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	free(text);
}

void log_kv(enum log_level lvl, const char *msg, ...)
{
	json_t *fields;
	va_list ap;

	if (!log_enabled(lvl))
		return;
	fields = json_object();
	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		const char *v;

		if (!k)
			break;
		v = va_arg(ap, const char *);
		if (fields)
			json_object_set_new(fields, k, v ? json_string(v) : json_null());
	}
	va_end(ap);
	log_json(lvl, msg, fields);
}
