##@ Local node

# A real single-node cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd, kubelet, a CNI bridge) and Saqr's images built without Docker or a registry.
NODE_TOOLS := $(BUILD)/rel/tools/saqr-demo-server $(BUILD)/rel/tools/saqr-demo-trainer $(BUILD)/rel/tools/saqr-pause
IMAGES_DIR := $(BUILD)/images
# The node's state, outside the tree: while it runs, containers' root filesystems and volumes
# (hostPath ones too) are mounted under it, and `make clean` must never walk into those.
NODE_DIR ?= $(or $(SAQR_CLUSTER_DIR),$(or $(TMPDIR),/tmp)/saqr-node-$(shell printf %s '$(CURDIR)' | cksum | cut -d' ' -f1))
IMAGES := BUILD=$(BUILD) BIN=$(BIN) hack/images.sh

# The sandbox process is one static binary (no libsaqr): the pause image holds nothing else.
$(BUILD)/rel/tools/saqr-pause: tests/tools/saqr-pause.c
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) -std=c11 -O2 $(WARN) -static -o $@ $<

.PHONY: images-bin
images-bin: $(REL_BINS) $(NODE_TOOLS)

.PHONY: images
images: images-bin ## Build the image archives (build/images) and import them into the running local node.
	@$(IMAGES) build $(IMAGES_DIR)
	@if SAQR_CLUSTER_DIR=$(NODE_DIR) hack/local-cluster.sh node-status >/dev/null 2>&1; then \
		SAQR_CLUSTER_DIR=$(NODE_DIR) hack/local-cluster.sh node-import $(IMAGES_DIR); \
	else echo "images: no local node runs (make node-up); archives in $(IMAGES_DIR)"; fi

.PHONY: node-up
node-up: images-bin ## Start a real single-node cluster (root; Debian packages via hack/deps.sh node) with Saqr's images.
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_CLUSTER_DIR=$(NODE_DIR) SAQR_IMAGES=$(IMAGES_DIR) hack/local-cluster.sh node-up

.PHONY: node-down
node-down: ## Stop the local node and remove everything it left (processes, mounts, bridge, cgroups, sysctls).
	@SAQR_CLUSTER_DIR=$(NODE_DIR) hack/local-cluster.sh node-down

.PHONY: test-node-smoke
test-node-smoke: images-bin ## Node up, images, a Deployment and a 2-pod Indexed Job, node down; checks nothing is left.
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) tests/e2e/node-smoke.sh
