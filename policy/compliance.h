/* Compliance: data classification and owner labels; personal data needs a lawful basis, a
 * bounded retention period and encryption at rest. */
#ifndef SAQR_POLICY_COMPLIANCE_H
#define SAQR_POLICY_COMPLIANCE_H

#include "policy/policy_internal.h"

/* Every compliance rule for the object in ev. */
void compliance_check(struct policy_eval_ctx *ev);

#endif
