/* ISO-8601 durations and RFC 3339 timestamps, strictly: anything unexpected is an error. */
#include "policy/iso8601.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

struct iso8601_unit {
	long long seconds;
	char unit;
	bool time; /* after the 'T' */
};

static const struct iso8601_unit iso8601_units[] = {
    {365LL * 86400, 'Y', false},
    {30LL * 86400, 'M', false},
    {7LL * 86400, 'W', false},
    {86400, 'D', false},
    {3600, 'H', true},
    {60, 'M', true},
    {1, 'S', true},
};

#define ISO8601_NUNITS (sizeof(iso8601_units) / sizeof(iso8601_units[0]))

/* Read the digits at *s into *n; false on no digits or overflow. */
static bool iso8601_number(const char **s, long long *n)
{
	const char *p = *s;

	*n = 0;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (*n > (LLONG_MAX - 9) / 10)
			return false;
		*n = *n * 10 + (*p - '0');
	}
	*s = p;
	return true;
}

/* The index of unit u at or after position from, in the date or time part; -1 if none. */
static int iso8601_unit_at(char u, size_t from, bool time)
{
	size_t i;

	for (i = from; i < ISO8601_NUNITS; i++)
		if (iso8601_units[i].unit == u && iso8601_units[i].time == time)
			return (int)i;
	return -1;
}

int iso8601_duration_parse(const char *s, long long *seconds)
{
	long long total = 0, n;
	size_t next = 0;
	bool time = false, any = false;
	int i;

	if (!s || *s++ != 'P')
		return SAQR_EINVAL;
	while (*s) {
		if (*s == 'T' && !time) {
			time = true;
			any = false;
			s++;
			continue;
		}
		if (!iso8601_number(&s, &n))
			return SAQR_EINVAL;
		i = iso8601_unit_at(*s++, next, time);
		if (i < 0 || n > (LLONG_MAX - total) / iso8601_units[i].seconds)
			return SAQR_EINVAL;
		total += n * iso8601_units[i].seconds;
		next = (size_t)i + 1;
		any = true;
	}
	if (!any)
		return SAQR_EINVAL;
	*seconds = total;
	return 0;
}

void iso8601_duration_format(long long seconds, char *out, size_t n)
{
	long long d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60, s = seconds % 60;
	char dp[24] = "", hp[24] = "", mp[24] = "", sp[24] = "";

	if (d)
		snprintf(dp, sizeof(dp), "%lldD", d);
	if (h)
		snprintf(hp, sizeof(hp), "%lldH", h);
	if (m)
		snprintf(mp, sizeof(mp), "%lldM", m);
	if (s || seconds == 0)
		snprintf(sp, sizeof(sp), "%lldS", s);
	snprintf(out, n, "P%s%s%s%s%s", dp, hp[0] || mp[0] || sp[0] ? "T" : "", hp, mp, sp);
}

/* Exactly n digits at *s, advanced past them. */
static bool rfc3339_digits(const char **s, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**s))
			return false;
		v = v * 10 + (*(*s)++ - '0');
	}
	*out = v;
	return true;
}

static bool rfc3339_sep(const char **s, const char *allowed)
{
	for (; *allowed; allowed++)
		if (**s == *allowed) {
			(*s)++;
			return true;
		}
	return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long rfc3339_days(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int rfc3339_month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* "Z" or "+HH:MM"/"-HH:MM" into seconds east of UTC. */
static bool rfc3339_offset(const char **s, long long *off)
{
	int sign, hh, mm;

	if (rfc3339_sep(s, "Zz")) {
		*off = 0;
		return true;
	}
	if (**s != '+' && **s != '-')
		return false;
	sign = *(*s)++ == '-' ? -1 : 1;
	if (!rfc3339_digits(s, 2, &hh) || !rfc3339_sep(s, ":") || !rfc3339_digits(s, 2, &mm) || hh > 23 ||
	    mm > 59)
		return false;
	*off = sign * (hh * 3600LL + mm * 60LL);
	return true;
}

int rfc3339_parse(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se;
	long long off;

	if (!s || !rfc3339_digits(&s, 4, &y) || !rfc3339_sep(&s, "-") || !rfc3339_digits(&s, 2, &mo) ||
	    !rfc3339_sep(&s, "-") || !rfc3339_digits(&s, 2, &d) || !rfc3339_sep(&s, "Tt") ||
	    !rfc3339_digits(&s, 2, &h) || !rfc3339_sep(&s, ":") || !rfc3339_digits(&s, 2, &mi) ||
	    !rfc3339_sep(&s, ":") || !rfc3339_digits(&s, 2, &se))
		return SAQR_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > rfc3339_month_days(y, mo) || h > 23 || mi > 59 || se > 60)
		return SAQR_EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return SAQR_EINVAL;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (!rfc3339_offset(&s, &off) || *s != '\0')
		return SAQR_EINVAL;
	*out = (time_t)(rfc3339_days(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + se - off);
	return 0;
}
