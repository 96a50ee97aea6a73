# saqr-operator: run, test, benchmark.

BENCH_OPERATOR := $(BUILD)/rel/bench/bench_operator

##@ Development

.PHONY: run-operator
run-operator: $(BIN)/saqr-operator ## Run saqr-operator against the current KUBECONFIG (ARGS="--namespace x ...").
	$(BIN)/saqr-operator $(ARGS)

##@ Test

.PHONY: test-operator
test-operator: $(BUILD)/san/tests/integration/test_operator $(BUILD)/san/bin/saqr-operator ## Only the operator integration test, on a private control plane.
	@hack/run-tests.sh integration $<

##@ Benchmarks

.PHONY: bench-operator
bench-operator: $(BENCH_OPERATOR) $(BIN)/saqr-operator ## 2,000 ModelDeployments + 1,000 TrainingJobs on a fresh control plane: convergence time, peak RSS, CPU, API requests, quiet writes.
	@hack/bench-operator.sh $(BENCH_OPERATOR) $(BIN)/saqr-operator

$(BENCH_OPERATOR): $(call rel_obj,bench/bench_operator.c tests/support/proc.c) $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)
