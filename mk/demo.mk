# The demo: on a real local node (hack/demo.sh, root) or on an API server alone
# (hack/demo-apiserver.sh, no root).

##@ Local control plane

DEMO_TOOLS := $(BUILD)/rel/tools/saqr-demo-server

$(BUILD)/rel/tools/%: $(BUILD)/rel/tests/tools/%.o $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: demo
demo: images-bin ## The main job on a real local node (root): Saqr installed by Helm, admit, refuse, train, promote, detect drift, roll back.
	@hack/deps.sh node
	@hack/tools.sh build node
	@$(IMAGES) build $(IMAGES_DIR)
	@SAQR_IMAGES=$(IMAGES_DIR) hack/demo.sh up

.PHONY: demo-apiserver
demo-apiserver: ## The same walk-through on kube-apiserver alone (no root): local processes, the missing controllers played.
	@hack/deps.sh
	@hack/tools.sh build
	@$(MAKE) --no-print-directory build $(DEMO_TOOLS)
	@hack/demo-apiserver.sh up

.PHONY: demo-down
demo-down: ## Stop everything `make demo` or `make demo-apiserver` started (the node: check nothing is left).
	@hack/demo-apiserver.sh down
	@if [ "$$(id -u)" = 0 ]; then hack/demo.sh down; fi
