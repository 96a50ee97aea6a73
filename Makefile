# Saqr: Kubernetes operator and admission controller for ML workloads, in C11.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:
.SECONDARY:

CC ?= cc
BUILD ?= build
BIN ?= bin
# Quiet by default; `make V=1` prints every command.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-5s %s\n'
endif
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/saqr

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
# Includes name their folder: "common/buf.h" (lib/), "policy/policy.h", "operator/runtime/informer.h".
INCLUDES := -I. -Ilib
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -g $(INCLUDES) $(WARN) -MMD -MP
REL_CFLAGS := $(BASE_CFLAGS) -O2
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS := $(BASE_CFLAGS) -O1 $(SAN_FLAGS)
LDLIBS := -lwebsockets -ljansson -lyaml -lcurl -lssl -lcrypto -lpthread -lm

# Each program is <folder>/main.c; everything else is one library the programs and tests link.
COMPONENTS := lib policy drift operator webhook saqrctl fetch agent
LIB_SRCS := $(shell find $(COMPONENTS) -name '*.c' ! -name main.c 2>/dev/null | sort)
# hack/lint.sh, hack/format.sh and hack/include-cycles.sh read the folder list from here.
export SAQR_COMPONENTS := $(COMPONENTS)
CMDS := saqr-operator saqr-webhook saqrctl saqr-fetch saqr-agent
cmd_dir_saqr-operator := operator
cmd_dir_saqr-webhook := webhook
cmd_dir_saqrctl := saqrctl
cmd_dir_saqr-fetch := fetch
cmd_dir_saqr-agent := agent
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
TEST_HELPER_SRCS := $(wildcard tests/support/*.c)

rel_obj = $(patsubst %.c,$(BUILD)/rel/%.o,$(1))
san_obj = $(patsubst %.c,$(BUILD)/san/%.o,$(1))

REL_LIB := $(BUILD)/rel/libsaqr.a
SAN_LIB := $(BUILD)/san/libsaqr.a
REL_BINS := $(addprefix $(BIN)/,$(CMDS))
SAN_BINS := $(addprefix $(BUILD)/san/bin/,$(CMDS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/unit/%,$(UNIT_SRCS))
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/san/tests/integration/%,$(INTEG_SRCS))
SAN_SUPPORT := $(call san_obj,$(TEST_HELPER_SRCS))

##@ General

# Sections gather the targets of every makefile (this one first, then mk/*.mk) under one heading each,
# in the order this file introduces them.
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} \
	  /^##@/ { sec = substr($$0, 5); if (!(sec in seen)) { seen[sec] = 1; order[++n] = sec }; next } \
	  /^[a-zA-Z0-9_-]+:.*?##/ { body[sec] = body[sec] sprintf("  \033[36m%-18s\033[0m %s\n", $$1, $$2) } \
	  END { printf "Usage: make <target>\n"; \
	    for (i = 1; i <= n; i++) if (body[order[i]] != "") printf "\n\033[1m%s\033[0m\n%s", order[i], body[order[i]] }' \
	  $(MAKEFILE_LIST)

##@ Development

.PHONY: run
run: run-operator ## Run saqr-operator locally against the current KUBECONFIG (same as run-operator; ARGS="...").

.PHONY: format
format: ## clang-format -i every C source and header (lib policy drift operator webhook saqrctl tests bench).
	@hack/format.sh

.PHONY: format-check
format-check: ## List the C files whose formatting differs from .clang-format; fail if any (part of lint).
	@hack/format.sh --check

.PHONY: lint
lint: ## Banned calls, format-check, cppcheck and clang-tidy (hack/lint.sh).
	@hack/lint.sh

##@ Build

.PHONY: deps
deps: ## Install the Debian packages that are missing (idempotent, quiet when all is there).
	@hack/deps.sh

.PHONY: build
build: $(REL_BINS) ## Build saqr-operator, saqr-webhook and saqrctl into bin/ (default).

.PHONY: tools
tools: ## Build kube-apiserver, etcd, kubectl and helm from their Go modules into the cache.
	@hack/tools.sh build

.PHONY: clean
clean: ## Remove build outputs (not the cached control plane).
	rm -rf $(BUILD) $(BIN)

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(REL_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(SAN_CFLAGS) $(CFLAGS) -c $< -o $@

$(REL_LIB): $(call rel_obj,$(LIB_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	$(quiet) AR $@
	$(Q)ar qcs $@ $^

$(SAN_LIB): $(call san_obj,$(LIB_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	$(quiet) AR $@
	$(Q)ar qcs $@ $^

.SECONDEXPANSION:
$(BIN)/%: $$(call rel_obj,$$(cmd_dir_$$*)/main.c) $(REL_LIB)
	@mkdir -p $(@D)
	$(quiet) LINK $@
	$(Q)$(CC) $(REL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/san/bin/%: $$(call san_obj,$$(cmd_dir_$$*)/main.c) $(SAN_LIB)
	@mkdir -p $(@D)
	$(quiet) LINK $@
	$(Q)$(CC) $(SAN_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/san/tests/unit/%: $(BUILD)/san/tests/unit/%.o $(SAN_SUPPORT) $(SAN_LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/san/tests/integration/%: $(BUILD)/san/tests/integration/%.o $(SAN_SUPPORT) $(SAN_LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

##@ Test

.PHONY: test
test: ## Everything (what CI runs): deps, generated files current (manifests-check), control plane, unit, integration and e2e (real node, root) tests.
	@hack/deps.sh
	@hack/install-sync.sh --check
	@hack/tools.sh build node
	@$(MAKE) --no-print-directory test-unit test-integration
	@$(MAKE) --no-print-directory test-e2e

.PHONY: test-unit
test-unit: $(UNIT_BINS) ## Unit tests (cmocka, under ASan and UBSan).
	@hack/run-tests.sh unit $(UNIT_BINS)

.PHONY: test-integration
test-integration: $(INTEG_BINS) $(SAN_BINS) ## Integration tests against a real kube-apiserver and etcd.
	@hack/run-tests.sh integration $(INTEG_BINS)

##@ Deployment

# kubectl for the targets that act on the cluster of the current KUBECONFIG: KUBECTL, else the one on
# PATH, else the one hack/tools.sh builds; resolved only when used.
CLUSTER_KUBECTL = $(or $(KUBECTL),$(shell command -v kubectl 2>/dev/null),$(shell hack/tools.sh bindir)/kubectl)
# What `deploy` applies: manifests/ (the kustomize install the README recommends), or an overlay
# such as deploy/kustomize/cert-manager.
DEPLOY_DIR ?= manifests

.PHONY: install
install: ## Install the CRDs (crds/) into the current cluster, server-side, and wait until they are Established.
	$(CLUSTER_KUBECTL) apply --server-side -f crds/
	$(CLUSTER_KUBECTL) wait --for condition=Established --timeout=60s \
		crd/modeldeployments.saqr.dev crd/trainingjobs.saqr.dev crd/driftpolicies.saqr.dev \
		crd/admissionpolicies.saqr.dev

.PHONY: uninstall
uninstall: ## Delete the CRDs, and with them every ModelDeployment, TrainingJob and DriftPolicy in the cluster.
	$(CLUSTER_KUBECTL) delete --ignore-not-found -f crds/

.PHONY: deploy
deploy: ## Install Saqr as the README does: kubectl apply --server-side -k manifests/ (DEPLOY_DIR=<overlay> for another).
	$(CLUSTER_KUBECTL) apply --server-side -k $(DEPLOY_DIR)
	@echo "deploy: the webhook serves once the Secret saqr-webhook-tls exists: hack/webhook-certs.sh," \
	  "manifests/certs/README.md, or DEPLOY_DIR=deploy/kustomize/cert-manager with cert-manager."

.PHONY: undeploy
undeploy: ## Remove what `deploy` installed except the CRDs (webhook configuration first); `make uninstall` removes those.
	$(CLUSTER_KUBECTL) delete --ignore-not-found validatingwebhookconfiguration \
		-l app.kubernetes.io/part-of=saqr,app.kubernetes.io/managed-by=kustomize
	$(CLUSTER_KUBECTL) delete --ignore-not-found -k $(DEPLOY_DIR) -l 'app.kubernetes.io/component!=crd'

##@ Local control plane

.PHONY: cluster-up
cluster-up: ## Start etcd and kube-apiserver on 127.0.0.1 (hack/local-cluster.sh up).
	@hack/local-cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane.
	@hack/local-cluster.sh down

-include $(wildcard mk/*.mk)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

.PHONY: print-components
print-components:
	@echo $(COMPONENTS)
