# saqr-agent: benchmark and fuzzing (included by the root Makefile).

BENCH_AGENT := $(BUILD)/bench/bench_agent
BENCH_AGENT_UPSTREAM := $(BUILD)/bench/bench_agent_upstream

##@ Benchmarks

.PHONY: bench-agent
bench-agent: $(BIN)/saqr-agent $(BENCH_AGENT) $(BENCH_AGENT_UPSTREAM) ## p50/p99 at 1,000 req/s straight to a model server and through saqr-agent (TLS), added latency, agent RSS.
	@bench/bench-agent.sh

$(BENCH_AGENT): bench/bench_agent.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(CFLAGS) -o $@ $< -lssl -lcrypto

$(BENCH_AGENT_UPSTREAM): bench/bench_agent_upstream.c $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

##@ Fuzz

.PHONY: fuzz-agent
fuzz-agent: $(BUILD)/fuzz/fuzz_agent_request ## Fuzz saqr-agent's request parsing and payload inspection (FUZZ_SECONDS, default 20).
	@mkdir -p $(BUILD)/fuzz/corpus/fuzz_agent_request
	$(BUILD)/fuzz/fuzz_agent_request -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		$(BUILD)/fuzz/corpus/fuzz_agent_request tests/fuzz/corpus/fuzz_agent_request
