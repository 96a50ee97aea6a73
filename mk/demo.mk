# The demo on a local control plane (hack/demo.sh).

##@ Local control plane

DEMO_TOOLS := $(BUILD)/rel/tools/saqr-demo-server

$(BUILD)/rel/tools/%: $(BUILD)/rel/tests/tools/%.o $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: demo
demo: ## The main job on a local control plane: install Saqr, admit, refuse, reconcile, detect drift.
	@hack/deps.sh
	@hack/tools.sh build
	@$(MAKE) --no-print-directory build $(DEMO_TOOLS)
	@hack/demo-apiserver.sh up

.PHONY: demo-down
demo-down: ## Stop everything `make demo` started.
	@hack/demo-apiserver.sh down
