# CRDs (crds/) and samples (manifests/samples/) against the cluster of the current KUBECONFIG.

# kubectl from KUBECTL, else PATH, else the one hack/tools.sh builds; resolved only when used.
CRDS_KUBECTL = $(or $(KUBECTL),$(shell command -v kubectl 2>/dev/null),$(shell hack/tools.sh bindir)/kubectl)

##@ CRDs and samples

.PHONY: install-crds
install-crds: ## Apply the three CRDs (server-side) and wait until they are Established.
	$(CRDS_KUBECTL) apply --server-side -f crds/
	$(CRDS_KUBECTL) wait --for condition=Established --timeout=60s \
		crd/modeldeployments.saqr.dev crd/trainingjobs.saqr.dev crd/driftpolicies.saqr.dev

.PHONY: uninstall-crds
uninstall-crds: ## Delete the three CRDs, and with them every ModelDeployment, TrainingJob and DriftPolicy.
	$(CRDS_KUBECTL) delete --ignore-not-found -f crds/

.PHONY: samples
samples: install-crds ## Apply the sample ModelDeployment, TrainingJob and DriftPolicy (manifests/samples).
	$(CRDS_KUBECTL) apply --server-side -k manifests/samples

.PHONY: test-crds
test-crds: $(BUILD)/san/tests/integration/test_crds ## Only the CRD integration test, on a private control plane.
	@hack/run-tests.sh integration $<

.PHONY: bench-crds
bench-crds: ## Admission cost of each kind at a real kube-apiserver (server-side dry runs; N=300).
	@hack/bench-crds.sh $(N)
