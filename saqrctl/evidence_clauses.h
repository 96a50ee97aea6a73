/* `saqrctl report`: which provision each rule helps to evidence (a static table). */
#ifndef SAQR_CLI_EVIDENCE_CLAUSES_H
#define SAQR_CLI_EVIDENCE_CLAUSES_H

#include <stdbool.h>
#include <stddef.h>

/* The clause a rule id serves, from a static table: framework (the law or standard), clause
 * (article or section) and how the rule serves it. Static strings; false when no entry fits. */
struct evidence_clause {
	const char *rule; /* a rule id, or a prefix ending in '.' ("podSecurity.baseline.") */
	const char *framework;
	const char *clause;
	const char *how;
};
bool evidence_clause_for(const char *rule, struct evidence_clause *out);
/* The whole table, in its order (*n entries). */
const struct evidence_clause *evidence_clauses(size_t *n);

#endif
