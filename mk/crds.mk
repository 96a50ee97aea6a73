# CRDs (crds/) and samples (manifests/samples/) against the cluster of the current KUBECONFIG
# (`install` and `uninstall` are in the root Makefile).

##@ Deployment

.PHONY: install-crds
install-crds: install ## Same as install.

.PHONY: uninstall-crds
uninstall-crds: uninstall ## Same as uninstall.

.PHONY: samples
samples: install ## Apply the sample ModelDeployment, TrainingJob and DriftPolicy (manifests/samples).
	$(CLUSTER_KUBECTL) apply --server-side -k manifests/samples

##@ Test

.PHONY: test-crds
test-crds: $(BUILD)/san/tests/integration/test_crds ## Only the CRD integration test, on a private control plane.
	@hack/run-tests.sh integration $<

##@ Benchmarks

.PHONY: bench-crds
bench-crds: ## Admission cost of each kind at a real kube-apiserver (server-side dry runs; N=300).
	@hack/bench-crds.sh $(N)
