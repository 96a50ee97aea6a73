/* The two time formats policies and annotations use: ISO-8601 durations (P1Y, P30D, PT4H)
 * and RFC 3339 timestamps (2025-01-31T12:00:00Z). */
#ifndef SAQR_POLICY_ISO8601_H
#define SAQR_POLICY_ISO8601_H

#include <stddef.h>
#include <time.h>

/* Parse "P[nY][nM][nW][nD][T[nH][nM][nS]]" with whole numbers into seconds, counting a year
 * as 365 days and a month as 30. 0, or SAQR_EINVAL when s is not such a duration (at least
 * one component) or it overflows. *seconds is written only on success. */
int iso8601_duration_parse(const char *s, long long *seconds);

/* Write seconds as the shortest ISO-8601 duration in days, hours, minutes and seconds
 * ("P1D", "PT4H", "PT1H30M", "PT0S") into out (truncated to n). */
void iso8601_duration_format(long long seconds, char *out, size_t n);

/* Parse an RFC 3339 date-time ("Z" or a numeric offset, optional fraction) into a UTC
 * time_t. 0 or SAQR_EINVAL. */
int rfc3339_parse(const char *s, time_t *out);

#endif
