/* Structured logging: one JSON object per line on stderr
 * ({"time":..., "level":..., "msg":..., then the caller's fields}). Thread-safe. */
#ifndef SAQR_COMMON_LOG_H
#define SAQR_COMMON_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Set the least level written (default info). */
void log_set_level(enum log_level lvl);
/* Parse "debug", "info", "warn" or "error". 0 or SAQR_EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
bool log_enabled(enum log_level lvl);
/* Write a line. fields may be NULL; the reference to fields is stolen (decref'd here). */
void log_json(enum log_level lvl, const char *msg, json_t *fields);
/* Convenience: fields given as key, value string pairs ending with NULL. */
void log_kv(enum log_level lvl, const char *msg, ...);

#define log_info(msg, ...) log_kv(LOG_LVL_INFO, msg, __VA_ARGS__, (char *)NULL)
#define log_warn(msg, ...) log_kv(LOG_LVL_WARN, msg, __VA_ARGS__, (char *)NULL)
#define log_error(msg, ...) log_kv(LOG_LVL_ERROR, msg, __VA_ARGS__, (char *)NULL)
#define log_debug(msg, ...) log_kv(LOG_LVL_DEBUG, msg, __VA_ARGS__, (char *)NULL)

#endif
