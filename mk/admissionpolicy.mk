# The AdmissionPolicy controller (the admission policy as a resource): its integration test.

##@ Test

.PHONY: test-admissionpolicy
test-admissionpolicy: $(BUILD)/san/tests/integration/test_admissionpolicy $(BUILD)/san/bin/saqr-webhook ## Only the AdmissionPolicy integration test (ConfigMap written, invalid policies refused in status, webhook pods' own status entries), on a private control plane.
	@hack/run-tests.sh integration $<
