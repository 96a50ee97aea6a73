/* Compliance: data classification and owner labels; personal data needs a lawful basis, a
 * bounded retention period and encryption at rest. */
#ifndef SAQR_POLICY_COMPLIANCE_H
#define SAQR_POLICY_COMPLIANCE_H

#include "policy/policy_internal.h"

/* Every compliance rule for the object in ev. */
void compliance_check(struct policy_eval_ctx *ev);

/* During the template pass (ev reads a pod template's metadata): when the object declares
 * personal data (parent is its saqr.dev/personal-data value, may be NULL), the template must
 * declare it too, so that its pods face the personal-data rules. */
void compliance_template_personal_data(struct policy_eval_ctx *ev, const char *parent);

#endif
