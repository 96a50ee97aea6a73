# Kubernetes client (lib/kube): benchmark.

##@ Benchmarks

BENCH_KUBE := $(BUILD)/rel/bench/bench_kube

$(BENCH_KUBE): $(BUILD)/rel/bench/bench_kube.o $(REL_LIB)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

# Starts a private control plane unless one already runs in SAQR_CLUSTER_DIR (then leaves it up).
.PHONY: bench-kube
bench-kube: $(BENCH_KUBE) ## Benchmark the watch parser, and GETs against a local apiserver (BENCH_SECONDS, default 3).
	@set -e; here=$$PWD; export SAQR_CLUSTER_DIR=$${SAQR_CLUSTER_DIR:-$$here/$(BUILD)/cluster-bench}; \
	if ! hack/local-cluster.sh status >/dev/null 2>&1; then \
		trap '"$$here/hack/local-cluster.sh" down >/dev/null 2>&1' EXIT; fi; \
	eval "$$(hack/local-cluster.sh up)"; \
	$(BENCH_KUBE) $(or $(BENCH_SECONDS),3)
