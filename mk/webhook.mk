# saqr-webhook: benchmark and fuzzing (included by the root Makefile).

FUZZ_TIME ?= 60
BENCH_BIN := $(BUILD)/bench/bench_webhook
FUZZ_ADMISSION := $(BUILD)/fuzz/fuzz_admission
FUZZ_ADMISSION_SRCS := tests/fuzz/fuzz_admission.c webhook/admission.c webhook/arena.c \
	webhook/fastjson.c lib/common/buf.c lib/common/err.c

##@ Benchmarks

.PHONY: bench-webhook
bench-webhook: $(BIN)/saqr-webhook $(BENCH_BIN) ## AdmissionReviews/s, p50/p99 and peak RSS of saqr-webhook over TLS keep-alive.
	@bench/bench-webhook.sh

$(BENCH_BIN): bench/bench_webhook.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(CFLAGS) -o $@ $< -lssl -lcrypto

##@ Fuzz

.PHONY: fuzz-admission
fuzz-admission: $(FUZZ_ADMISSION) ## Fuzz the AdmissionReview path (libFuzzer; FUZZ_TIME seconds, default 60).
	@mkdir -p $(BUILD)/fuzz/corpus-admission
	@cp -n tests/data/webhook/*.json $(BUILD)/fuzz/corpus-admission/ 2>/dev/null || true
	$(FUZZ_ADMISSION) -max_total_time=$(FUZZ_TIME) -max_len=16384 -timeout=10 $(BUILD)/fuzz/corpus-admission

$(FUZZ_ADMISSION): $(FUZZ_ADMISSION_SRCS)
	@mkdir -p $(@D)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -Ilib -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ $(FUZZ_ADMISSION_SRCS) -ljansson
