/* `saqrctl test SUITE.yaml...`: policy tests for GitOps pipelines, in the shape of `kyverno test`
 * and `gator verify`. A suite names manifests (paths relative to the suite) and the verdict
 * each object must get from the admission policy — the engine of `saqrctl check` — with the
 * rule ids it must find:
 *
 *   apiVersion: saqr.dev/v1alpha1
 *   kind: PolicyTest
 *   metadata: {name: payments}
 *   policy: ../policy.yaml          # optional; default: the built-in policy
 *   resources:
 *     - path: manifests/api.yaml    # every object in the file ...
 *       expect: allow               # ... must get allow | deny | warn
 *     - path: manifests/bad.yaml
 *       name: debug                 # optional: only the objects with this name
 *       kind: Pod                   # optional: and this kind
 *       expect: deny
 *       rules: [podSecurity.baseline.hostNamespaces]   # each must be among the findings
 *
 * Verdicts: deny when a deny-mode finding stands, warn when the object is admitted with a
 * warn-mode finding, allow otherwise. */
#ifndef SAQR_CLI_TEST_H
#define SAQR_CLI_TEST_H

#include <stdio.h>

#define CLI_TEST_MAX_RESOURCES 10000

extern const char cli_test_usage[];

/* Run the command; argv[0] is "test". Prints a table (resource, expected, got, result) to
 * out and diagnostics to err. Exit code: 0 every row passed, 1 a mismatch, 2 usage, suite,
 * policy or file errors. */
int cli_test_main(int argc, char **argv, FILE *out, FILE *err);

int saqrctl_test(int argc, char **argv);

#endif
