# preload/ — build/libleakwatch.so, the LD_PRELOAD shim.
# Every preload/*.c goes into the .so (the sockets/timers files too, as they
# appear); everything but the interposing hook_*.c files is the "core" the
# unit tests link directly.
PRELOAD_SRCS      := $(sort $(wildcard preload/*.c))
PRELOAD_CORE_SRCS := $(filter-out preload/hook_%.c,$(PRELOAD_SRCS))
PRELOAD_LDLIBS    := -lunwind -ldl -lpthread
PRELOAD_UNIT_LDLIBS := $(PRELOAD_LDLIBS) $$(pkg-config --libs jansson)
# unwind tables in every frame: pthread_cancel's forced unwind and C++
# exceptions pass through the hooks
EXTRA_CFLAGS_preload += -fvisibility=hidden -ftls-model=initial-exec -fasynchronous-unwind-tables
LIBLEAKWATCH := $(BUILD)/libleakwatch.so

$(LIBLEAKWATCH): $(patsubst %.c,$(BUILD)/obj/%.o,$(PRELOAD_SRCS))
	$(CC) -shared -o $@ $^ -Wl,--no-undefined -Wl,-z,nodelete $(PRELOAD_LDLIBS)

ALL_TARGETS += $(LIBLEAKWATCH)

-include tests/e2e/preload/module.mk
