# SPDX-License-Identifier: GPL-2.0
#
# The BPF programs of clockwatch, included by ../Makefile.  Pipeline, as in
# libbpf-bootstrap:
#
#   BTF (VMLINUX_BTF) -> build/bpf/vmlinux.h
#   bpf/NAME.bpf.c    -> build/bpf/NAME.bpf.o   clang -target bpf, CO-RE
#                     -> build/bpf/NAME.skel.h  bpftool gen skeleton
#   bpf/cwbpf.c       -> build/libcwbpf.a       the loader, with the skeletons
#
# vmlinux.h is generated, never committed: its types only name the fields
# the programs read; CO-RE relocates them to each kernel's layout at load.
# VMLINUX_BTF=FILE takes the BTF from another kernel's vmlinux.

VMLINUX_BTF	?= /sys/kernel/btf/vmlinux
BPFTOOL		?= bpftool
CLANG		?= clang
LLVM_STRIP	?= llvm-strip

BPF_ARCH	:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
			-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')
BPF_OUT		:= $(OUTPUT)/bpf
BPF_PROGS	:= pauses clocks
BPF_OBJS	:= $(patsubst %,$(BPF_OUT)/%.bpf.o,$(BPF_PROGS))
BPF_SKELS	:= $(patsubst %,$(BPF_OUT)/%.skel.h,$(BPF_PROGS))
BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Wextra \
		   -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror) \
		   -I$(BPF_OUT) -Ibpf
CWBPF_LIB	:= $(OUTPUT)/libcwbpf.a
CWBPF_SRCS	:= bpf/cwbpf.c
CWBPF_OBJS	:= $(patsubst %.c,$(OUTPUT)/%.o,$(CWBPF_SRCS))
# What a program that links libcwbpf.a needs after it.
BPF_LDLIBS	:= $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)

$(BPF_OUT):
	$(Q)mkdir -p $@

$(BPF_OUT)/vmlinux.h: | $(BPF_OUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	$(Q)mv $@.tmp $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c bpf/%.h $(BPF_OUT)/vmlinux.h | $(BPF_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name cw_$*_bpf > $@.tmp
	$(Q)mv $@.tmp $@

$(OUTPUT)/bpf/%.o: bpf/%.c $(BPF_SKELS) | $(BPF_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(BPF_OUT) -Ibpf $(CW_CFLAGS) -c $< -o $@

$(CWBPF_LIB): $(CWBPF_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^
