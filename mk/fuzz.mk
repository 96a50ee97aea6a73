##@ Fuzz

FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -g -O1 -I. -Ilib -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: fuzz
fuzz: $(FUZZ_BINS) ## Run every libFuzzer target in tests/fuzz for FUZZ_SECONDS each (default 20); not in `make test`.
	@for bin in $(FUZZ_BINS); do \
		name=$$(basename $$bin); seeds=tests/fuzz/corpus/$$name; log=$(BUILD)/fuzz/$$name.log; \
		mkdir -p $(BUILD)/fuzz/corpus/$$name $(BUILD)/fuzz/artifacts; \
		echo "== fuzz: $$name for $(FUZZ_SECONDS)s"; \
		$$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/artifacts/$$name- \
			$(BUILD)/fuzz/corpus/$$name $$( [ -d $$seeds ] && echo $$seeds ) >$$log 2>&1; \
		status=$$?; \
		grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units)' $$log; \
		if [ $$status -ne 0 ]; then tail -40 $$log; echo "fuzz: $$name failed (see $$log)"; exit 1; fi; \
	done

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS) ## Build the libFuzzer targets (clang, ASan+UBSan) into build/fuzz/.

# The library's sources are compiled into each target directly, with fuzzer instrumentation.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(LDLIBS)
