# preload/ — build/libleakwatch.so, the LD_PRELOAD shim.
# The sources sit in one folder per layer, read top-down (docs/design.md
# section 3.1): hooks/ -> runtime/ -> snapshot/ -> resources/ -> core/ ->
# platform/. Every preload/*/*.c goes into the .so; everything but hooks/ is
# the "core" the unit tests link directly.
PRELOAD_LAYERS    := hooks runtime snapshot resources core platform
# (A file still directly in preload/ builds too, so a change written before
# the folders existed links; it belongs in a layer folder.)
PRELOAD_SRCS      := $(sort $(wildcard $(addprefix preload/,$(addsuffix /*.c,$(PRELOAD_LAYERS)))) \
                            $(wildcard preload/*.c))
PRELOAD_HDRS      := $(wildcard $(addprefix preload/,$(addsuffix /*.h,$(PRELOAD_LAYERS))) preload/*.h)
PRELOAD_CORE_SRCS := $(filter-out preload/hooks/% preload/hook_%,$(PRELOAD_SRCS))
# Headers are found by name in every layer folder.
PRELOAD_INCLUDES  := -Ipreload $(addprefix -Ipreload/,$(PRELOAD_LAYERS))
PRELOAD_LDLIBS    := -lunwind -ldl -lpthread
PRELOAD_UNIT_LDLIBS := $(PRELOAD_LDLIBS) $$(pkg-config --libs jansson)
# unwind tables in every frame: pthread_cancel's forced unwind and C++
# exceptions pass through the hooks
EXTRA_CFLAGS_preload += $(PRELOAD_INCLUDES) -fvisibility=hidden -ftls-model=initial-exec -fasynchronous-unwind-tables
LIBLEAKWATCH := $(BUILD)/libleakwatch.so
# the unit tests include the shim's headers
EXTRA_CFLAGS_tests += $(PRELOAD_INCLUDES)

$(LIBLEAKWATCH): $(patsubst %.c,$(BUILD)/obj/%.o,$(PRELOAD_SRCS))
	$(CC) -shared -o $@ $^ -Wl,--no-undefined -Wl,-z,nodelete $(PRELOAD_LDLIBS)

ALL_TARGETS += $(LIBLEAKWATCH)

-include tests/e2e/preload/module.mk

# The layering of docs/design.md section 3.1, checked from the objects and
# the library the build produced (include and call direction, no cycles,
# interposed names only in hooks/ and platform/, one fork registration).
.PHONY: test-layers
test-layers: $(LIBLEAKWATCH)
	python3 tests/layers/check_layers.py preload $(BUILD)/obj/preload $(LIBLEAKWATCH)
TEST_TARGETS += test-layers
