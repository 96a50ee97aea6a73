# Install paths: kustomize manifests, the Helm chart, Argo CD health checks, image file trees.

HELM_KUBE_VERSION ?= 1.34.0
IMAGE_CMDS ?= saqr-operator saqr-webhook saqrctl saqr-agent saqr-fetch

##@ Development

.PHONY: manifests
manifests: ## Write crds/Kustomization, manifests/crds, the chart's files/ and argocd-cm-patch.yaml from their sources.
	@hack/install-sync.sh

.PHONY: manifests-check
manifests-check: ## Fail if a file `manifests` writes differs from its source (part of `make test`).
	@hack/install-sync.sh --check

.PHONY: helm-lint
helm-lint: ## helm lint --strict on charts/saqr, and render it with default, cert-manager and no-CRD values.
	@helm=$$(hack/tools.sh bindir)/helm; set -e; \
	$$helm lint charts/saqr --strict --kube-version $(HELM_KUBE_VERSION); \
	for v in "" "--set certificates.mode=cert-manager" "--set crds.install=false"; do \
	  $$helm template saqr charts/saqr -n saqr-system --kube-version $(HELM_KUBE_VERSION) $$v >/dev/null; \
	done; echo "helm-lint: clean"

##@ Test

.PHONY: test-install
test-install: $(BUILD)/san/tests/integration/test_install $(BUILD)/san/tests/unit/test_argocd_health ## Install tests: chart, kustomize, server dry-run, Argo CD health.
	@hack/run-tests.sh unit $(BUILD)/san/tests/unit/test_argocd_health
	@hack/run-tests.sh integration $(BUILD)/san/tests/integration/test_install

##@ Build

.PHONY: image-rootfs
image-rootfs: ## Assemble build/rootfs/<cmd>/ (binary, its shared libraries, passwd, CA certificates) for each built daemon and prove it runs.
	@hack/image-rootfs.sh $(BUILD)/rootfs $(addprefix $(BIN)/,$(IMAGE_CMDS))
