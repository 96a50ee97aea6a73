# Controller machinery (operator/runtime): benchmark.

##@ Benchmarks

CTRL_BENCH := $(BUILD)/rel/bench/bench_controller

.PHONY: bench-controller
bench-controller: $(CTRL_BENCH) ## Work queue throughput, informer event rate, cache reads and memory per cached object.
	@$(CTRL_BENCH)

$(CTRL_BENCH): $(BUILD)/rel/bench/bench_controller.o $(REL_LIB)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)
