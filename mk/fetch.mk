##@ Model integrity

.PHONY: test-fetch-stores
test-fetch-stores: $(BIN)/saqr-fetch $(BIN)/saqrctl ## saqr-fetch against Azurite (npm, cached in ~/.cache/saqr/npm) and VersityGW (S3, hack/s3gw.sh): signed models, tampering, wrong credentials.
	@tests/integration/fetch/run.sh $(BIN)

test-integration: test-fetch-stores

BENCH_FETCH_MB ?= 1024

.PHONY: bench-fetch
bench-fetch: $(BIN)/saqr-fetch $(BIN)/saqrctl ## Fetch + verify throughput of a signed 1 GiB model from VersityGW (BENCH_FETCH_MB=1024).
	@bench/fetch/run.sh $(BIN) $(BUILD)/bench/fetch $(BENCH_FETCH_MB)
