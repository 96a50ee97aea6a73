##@ Drift

# test_saqrctl_drift calls saqrctl_drift_run() from cmd/saqrctl/drift.c directly (linked
# in, with the library again after it) and also runs the sanitized saqrctl binary
# (order-only: built first, not linked).
$(BUILD)/san/tests/unit/test_saqrctl_drift: $(BUILD)/san/cmd/saqrctl/drift.o | $(BUILD)/san/bin/saqrctl
$(BUILD)/san/tests/unit/test_saqrctl_drift: LDLIBS := $(SAN_LIB) $(LDLIBS)

.PHONY: drift-vectors
drift-vectors: ## Regenerate tests/data/drift/vectors.json from SciPy (needs python3-scipy).
	/usr/bin/python3 tests/data/drift/make_vectors.py > tests/data/drift/vectors.json
