# SPDX-License-Identifier: GPL-2.0
"""The module's test injector (inject=1), for the Python tests in the VM.

CLOCKWATCH_IOC_INJECT = _IOWR(0xC7, 0x43, struct clockwatch_inject) on
/sys/kernel/debug/clockwatch/inject; the structure is in
include/clockwatch/inject.h.
"""
import fcntl
import os
import struct

INJECT_PATH = "/sys/kernel/debug/clockwatch/inject"
INJECT_IRQ = 2
# struct clockwatch_inject: size, cpu, mode, reserved (u32); duration_ns
# (u64); start_ns, end_ns (s64)
INJECT_FMT = "=IIIIQqq"
INJECT_SIZE = struct.calcsize(INJECT_FMT)
IOC_INJECT = (3 << 30) | (INJECT_SIZE << 16) | (0xC7 << 8) | 0x43


def inject_stall(cpu, ms):
    """An IRQs-off spin of ms on cpu; (start, end) CLOCK_MONOTONIC ns."""
    buf = bytearray(struct.pack(INJECT_FMT, INJECT_SIZE, cpu, INJECT_IRQ, 0,
                                ms * 1000000, 0, 0))
    fd = os.open(INJECT_PATH, os.O_RDWR)
    try:
        fcntl.ioctl(fd, IOC_INJECT, buf)
    finally:
        os.close(fd)
    _, _, _, _, _, start, end = struct.unpack(INJECT_FMT, buf)
    return start, end
