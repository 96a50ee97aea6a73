/* Parsing decimal numbers from text fields (CSV cells, Prometheus sample values). */
#ifndef SAQR_DRIFT_DECIMAL_H
#define SAQR_DRIFT_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>

/* The len bytes at s (spaces around them allowed, no NUL needed) as a finite decimal
 * number, to the same double strtod gives. False for anything else, including
 * hexadecimal, inf and nan. */
bool decimal_parse(const char *s, size_t len, double *out);

#endif
