##@ Layout

.PHONY: check-cycles
check-cycles: $(call rel_obj,$(LIB_SRCS)) ## Fail when .c files of one folder depend on each other in a circle.
	@hack/include-cycles.sh $(BUILD)
