##@ Benchmarks

BENCH_DRIFT_DIR := $(BUILD)/bench/drift
BENCH_DRIFT_ROWS ?= 1000000

$(BENCH_DRIFT_DIR)/gencsv: bench/drift/gencsv.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lm

$(BENCH_DRIFT_DIR)/bench_eval: bench/drift/bench_eval.c $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-drift
bench-drift: $(BIN)/saqrctl $(BENCH_DRIFT_DIR)/gencsv $(BENCH_DRIFT_DIR)/bench_eval ## saqrctl drift vs pandas+SciPy on 1M x 10 CSV rows; one 100-feature evaluation.
	@SAQR_EXTRA_PACKAGES="time python3-scipy python3-pandas" hack/deps.sh
	@bench/drift/run.sh $(BENCH_DRIFT_DIR) $(BENCH_DRIFT_ROWS)
