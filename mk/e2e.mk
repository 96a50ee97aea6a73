##@ End-to-end

# Saqr as pods on a real local node (root): install with Helm and kustomize, admission through
# the webhook's Service, a webhook pod killed under load, the demo's walk-through asserted; and
# the admission latency benchmark.
.PHONY: test-e2e
test-e2e: images-bin observability-tools ## Node up, Saqr by Helm and kubectl apply -k, admission, webhook kill (tests/e2e/install.sh); then the demo's walk-through (tests/e2e/demo.sh); node down each time, nothing left.
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) tests/e2e/install.sh
	@SAQR_IMAGES=$(IMAGES_DIR) tests/e2e/demo.sh

.PHONY: test-e2e-demo
test-e2e-demo: images-bin observability-tools ## Only the demo's walk-through on a real node, with assertions (tests/e2e/demo.sh).
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) tests/e2e/demo.sh

# BENCH_N defaults per benchmark; a global default here would change every other bench-*.
.PHONY: bench-admission
bench-admission: images-bin ## p50/p99 of BENCH_N (300) Pod creates: no webhook, saqr-webhook behind its Service, a ValidatingAdmissionPolicy (hack/bench-admission.sh).
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) hack/bench-admission.sh $(or $(BENCH_N),300)
