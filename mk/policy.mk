# Admission policy (policy/): the compiled-in default.

##@ Development

# The default policy is compiled in from its YAML (and a unit test checks they match).
policy/policy_default.c: manifests/policy/default.yaml hack/gen-default-policy.sh
	hack/gen-default-policy.sh

.PHONY: policy-default
policy-default: policy/policy_default.c ## Regenerate policy/policy_default.c from manifests/policy/default.yaml.
