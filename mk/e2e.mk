##@ End-to-end

# Saqr as pods on a real local node (root): install with Helm and kustomize, admission through
# the webhook's Service, a webhook pod killed under load; and the admission latency benchmark.
.PHONY: test-e2e
test-e2e: images-bin ## Node up, Saqr installed by Helm and by kubectl apply -k, admission checks, webhook kill; node down, nothing left (tests/e2e/install.sh).
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) tests/e2e/install.sh

BENCH_N ?= 300
.PHONY: bench-admission
bench-admission: images-bin ## p50/p99 of BENCH_N Pod creates: no webhook, saqr-webhook behind its Service, a ValidatingAdmissionPolicy (hack/bench-admission.sh).
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) hack/bench-admission.sh $(BENCH_N)
