# SPDX-License-Identifier: GPL-2.0
#
# The BPF truth tests, included by Makefile.  They link the loader and the
# skeletons that ../../userspace builds (build/libcwbpf.a), and libbpf.
# They need no module: run_bpf_vm.sh runs them in the test VM.

BPF_TEST_PROGS	:= bpf_pauses_test	\
		   bpf_guard_test	\
		   #
BPF_TEST_BINS	:= $(addprefix $(OUTPUT)/,$(BPF_TEST_PROGS))
CWBPF_LIB	:= $(TOP)/userspace/build/libcwbpf.a
CW_LIB		:= $(TOP)/userspace/build/libclockwatch.a
BPF_TEST_LIBS	:= $(CWBPF_LIB) $(CW_LIB) $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lm

all: $(BPF_TEST_BINS)

# Made by the cli target (make -C ../../userspace).
$(CWBPF_LIB) $(CW_LIB): | cli
	@:

$(OUTPUT)/bpf_%: bpf_%.c $(CWBPF_LIB) $(CW_LIB) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(TOP)/userspace/bpf -I$(TOP)/userspace/lib $(CW_CFLAGS) \
		-o $@ $< $(BPF_TEST_LIBS)
