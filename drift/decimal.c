/* Decimal text to double, exactly as strtod rounds: Clinger's fast path (up to 19
 * significant digits and a power of ten up to 22, one correctly rounded operation)
 * and strtod for everything else. */
#include "drift/decimal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_exact[23] = {1e0,  1e1,  1e2,	 1e3,  1e4,  1e5,  1e6,	 1e7,  1e8,  1e9,  1e10, 1e11,
				       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod on a trimmed copy; no hexadecimal, no inf or nan. */
static bool parse_slow(const char *s, size_t len, double *out)
{
	char tmp[512], *endp;
	double v;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (strpbrk(tmp, "xXpP \t"))
		return false;
	v = strtod(tmp, &endp);
	if (endp != tmp + len || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

bool decimal_parse(const char *s, size_t len, double *out)
{
	const char *p = s, *e = s + len, *d0, *f0;
	uint64_t m = 0;
	size_t nd, nf = 0;
	int exp10, ex = 0;
	bool neg = false, eneg = false;
	double v;

	if (p < e && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (d0 = p; p < e && is_digit(*p); p++)
		m = m * 10 + (uint64_t)(*p - '0');
	nd = (size_t)(p - d0);
	if (p < e && *p == '.') {
		for (f0 = ++p; p < e && is_digit(*p); p++)
			m = m * 10 + (uint64_t)(*p - '0');
		nf = (size_t)(p - f0);
	}
	if (nd + nf == 0 || nd + nf > 19)
		return parse_slow(s, len, out);
	exp10 = -(int)nf;
	if (p < e && (*p == 'e' || *p == 'E')) {
		if (++p < e && (*p == '-' || *p == '+'))
			eneg = *p++ == '-';
		if (p == e || !is_digit(*p))
			return false;
		for (; p < e && is_digit(*p); p++)
			ex = ex < 100000 ? ex * 10 + (*p - '0') : ex;
		exp10 += eneg ? -ex : ex;
	}
	if (p != e || m > (1ull << 53) || exp10 < -22 || exp10 > 22)
		return parse_slow(s, len, out);
	v = (double)m;
	v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
	*out = neg ? -v : v;
	return true;
}
