# SPDX-License-Identifier: GPL-2.0
#
# clockwatch: clock divergence, NTP adjustments and scheduling stalls.
#
#   make                 module (against KDIR), userspace, selftests
#   make demo            boot the test VM, load the module, show the status
#   make check           every test: host unit tests, the kernel matrix
#                        build, the VM suite on 6.1 and 6.12
#   make check-vm KVER=6.12    the VM suite on one kernel of the matrix
#   make check-truth     the truth suite, long version, on 6.1 and 6.12: every
#                        bound against the host's clock, with a real chronyd
#                        (steps, slews, a dead daemon, leap seconds), then
#                        ntpsec's ntpd with and without the module (~50 min)
#   make check-debug     the VM and BPF suites on a KASAN, lockdep, UBSAN
#                        and kmemleak kernel built from linux-source-6.1
#                        (built once, 30 to 70 min; the suites 50 min)
#   make matrix          build the module for every kernel of the matrix
#   make dkms-install    register and build the module with DKMS
#   make deb             Debian packages (debian/) into .build/deb/
#   make bench           the stall probe's overhead and peer benchmarks,
#                        and the cost of libclockwatch's now()
#
# KVER names a matrix kernel (6.1, 6.1-rt, 6.12; default 6.1). KDIR is the
# kernel build tree: /lib/modules/$(uname -r)/build where it exists, else
# the headers of KVER, fetched from Debian into .cache/.

KVER	?= 6.1
MATRIX	:= 6.1 6.1-rt 6.12
VM_KERNELS ?= 6.1 6.12

ifeq ($(origin KDIR), undefined)
  KDIR := $(wildcard /lib/modules/$(shell uname -r)/build)
  ifeq ($(KDIR),)
    KDIR = $(shell scripts/kernels kdir $(KVER))
  endif
endif

ifeq ($(V),1)
  Q =
else
  Q = @
endif

.PHONY: all modules userspace selftests demo check check-unit check-vm \
	check-truth check-debug matrix deps install dkms-install style clean bench \
	deb

all: modules userspace selftests

modules:
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

userspace:
	$(Q)$(MAKE) -C userspace

selftests: userspace
	$(Q)$(MAKE) -C selftests/clockwatch

deps:
	$(Q)scripts/deps

# Build the module for each matrix kernel in its own tree under .build/,
# warning-free at W=1.
matrix:
	$(Q)for k in $(MATRIX); do scripts/build-kmod $$k || exit 1; done

demo: deps
	$(Q)$(MAKE) --no-print-directory userspace selftests
	$(Q)scripts/build-kmod $(KVER)
	$(Q)scripts/vm --kernel $(KVER) -- scripts/demo .build/$(KVER)/kmod/clockwatch.ko

check: deps
	$(Q)scripts/check $(VM_KERNELS)

check-unit: deps
	$(Q)scripts/check --unit-only

check-vm: deps
	$(Q)scripts/check --vm-only $(KVER)

# libclockwatch's bounds against a clock the guest does not control: the
# host's, served on a second UART (scripts/vm --ref), with a real chronyd
# synchronised to it.  The records and the report land in
# .build/check/truth-KERNEL.dmesg.out/.  Then every VM disruption (host
# pauses of 0.3 to 10 s idle and under stress-ng, a snapshot restore, a
# migration through a file) against the same clock: .build/check/disrupt-long-KERNEL/.
check-truth: deps
	$(Q)$(MAKE) --no-print-directory userspace selftests
	$(Q)mkdir -p .build/check
	$(Q)fail=0; for k in $(VM_KERNELS); do \
		scripts/build-kmod $$k || { fail=1; continue; }; \
		scripts/vm --kernel $$k --ref --timeout 3600 \
			--log .build/check/truth-$$k.dmesg -- \
			selftests/clockwatch/truth/run_truth.sh --long \
			.build/$$k/kmod/clockwatch.ko || fail=1; \
		for m in "" --no-module; do \
			scripts/vm --kernel $$k --ref --timeout 2400 \
				--log .build/check/truth-ntpsec$$m-$$k.dmesg -- \
				selftests/clockwatch/truth/run_truth.sh --long \
				--daemon ntpsec $$m \
				.build/$$k/kmod/clockwatch.ko || fail=1; \
		done; \
		python3 selftests/clockwatch/truth/disrupt_test.py --long \
			--kernel $$k --out .build/check/disrupt-long-$$k || fail=1; \
	done; exit $$fail

# The debug-kernel lane: scripts/debug-kernel builds 6.1-debug once into
# .cache/kernels/; scripts/check-debug runs the suites on it.
check-debug: deps
	$(Q)scripts/check-debug

install: modules userspace
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	$(Q)$(MAKE) -C userspace install

# The benchmarks: the stall probe's overhead against cyclictest's (6.1) and
# its distributions beside timerlat's (6.1-rt), scripts/bench-stalls; the
# cost of now() against clock_gettime() on this machine, scripts/bench-now;
# the sched_switch program's cost per event against runqlat.bt's,
# scripts/bench-bpf.
bench: deps
	$(Q)scripts/bench-stalls
	$(Q)scripts/bench-now
	$(Q)scripts/bench-bpf --kernel 6.1
	$(Q)scripts/bench-bpf --kernel 6.12

dkms-install:
	$(Q)scripts/dkms-install

# Documentation/packaging.rst
deb: deps
	$(Q)scripts/build-deb

style:
	$(Q)scripts/style

clean:
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(Q)$(MAKE) -C userspace clean
	$(Q)$(MAKE) -C selftests/clockwatch clean
	$(Q)rm -rf .build
