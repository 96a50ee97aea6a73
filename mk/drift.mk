# Drift statistics (drift/): test wiring and the SciPy reference vectors.

##@ Development

# test_saqrctl_drift calls saqrctl_drift_run() from the library and also runs the sanitized
# saqrctl binary (order-only: built first, not linked).
$(BUILD)/san/tests/unit/test_saqrctl_drift: | $(BUILD)/san/bin/saqrctl

.PHONY: drift-vectors
drift-vectors: ## Regenerate tests/data/drift/vectors.json from SciPy (needs python3-scipy).
	/usr/bin/python3 tests/data/drift/make_vectors.py > tests/data/drift/vectors.json
