##@ Benchmarks

BENCH_POLICY := $(BUILD)/rel/bench/bench_policy

$(BENCH_POLICY): $(call rel_obj,bench/bench_policy.c) $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-policy
bench-policy: $(BENCH_POLICY) ## Policy engine: reviews/s on one core for a ~4 KiB Deployment (BENCH_SECONDS=2).
	@$(BENCH_POLICY) $(or $(BENCH_SECONDS),2)
