# Prometheus and Alertmanager for the observability integration test (included by the root Makefile).

##@ Test

.PHONY: observability-tools
observability-tools: ## Build Prometheus and Alertmanager from hack/observability/go.mod into ~/.cache/saqr/observability (once).
	@hack/observability.sh build

# The agent's upstream in test_observability is the demo server.
OBSERVABILITY_TEST_DEPS := observability-tools $(BUILD)/rel/tools/saqr-demo-server

test-integration: $(OBSERVABILITY_TEST_DEPS)

.PHONY: test-observability
test-observability: $(BUILD)/san/tests/integration/test_observability $(BUILD)/san/bin/saqr-agent $(OBSERVABILITY_TEST_DEPS) ## Only the observability integration test (agent, Prometheus, DriftPolicy, Alertmanager), on a private control plane.
	@hack/run-tests.sh integration $<
