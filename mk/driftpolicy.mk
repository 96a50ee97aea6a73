# DriftPolicy evaluation: benchmark.

##@ Benchmarks

BENCH_DRIFT_EVAL := $(BUILD)/rel/bench/bench_drift_eval

.PHONY: bench-drift-eval
bench-drift-eval: $(BENCH_DRIFT_EVAL) ## CPU time of one DriftPolicy evaluation of 100 features from exposition text (target <= 1 ms).
	@$(BENCH_DRIFT_EVAL) $(BENCH_N)

$(BENCH_DRIFT_EVAL): $(call rel_obj,bench/bench_drift_eval.c) $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)
