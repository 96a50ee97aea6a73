# The audit controller and `saqrctl test`: tests and benchmark.

##@ Test

.PHONY: test-audit
test-audit: $(BUILD)/san/tests/integration/test_audit ## Only the audit integration test (reports, policy reload, break-glass expiry), on a private control plane.
	@hack/run-tests.sh integration $<

##@ Benchmarks

BENCH_AUDIT := $(BUILD)/rel/bench/bench_audit

$(BENCH_AUDIT): $(call rel_obj,bench/bench_audit.c) $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-audit
bench-audit: $(BENCH_AUDIT) ## Audit of 10,000 generated Deployments (the controller's pure part): time per pass, report size, peak RSS (BENCH_N=10000).
	@$(BENCH_AUDIT) $(or $(BENCH_N),10000)
