# ModelDeployment and TrainingJob reconcilers: benchmark.

##@ Benchmarks

BENCH_RECONCILE := $(BUILD)/rel/bench/bench_reconcile

.PHONY: bench-reconcile
bench-reconcile: $(BENCH_RECONCILE) ## Time the pure reconcilers (desired objects, status) per reconcile.
	@SAQR_ROOT=$(CURDIR) $(BENCH_RECONCILE) $(BENCH_N)

$(BENCH_RECONCILE): $(call rel_obj,bench/bench_reconcile.c) $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)
