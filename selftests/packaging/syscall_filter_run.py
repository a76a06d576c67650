#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Run a command under the system call filter a systemd unit asks for.

    syscall_filter_run.py UNIT-FILE -- COMMAND [ARG...]

Reads the unit's SystemCallFilter= lines (an allow list, then additions
and ~removals, in order, as systemd.exec(5) says) and
SystemCallErrorNumber=, expands the @groups with systemd-analyze
syscall-filter (this machine's systemd, so the same sets as the unit
gets), installs the filter with libseccomp (libseccomp2, which systemd
itself uses; through ctypes) and execs COMMAND.  A call outside the list fails with the unit's errno, or kills
the process when the unit names none, as systemd does.  For testing the
units' command lines where systemd cannot start them (the test VM).
"""

import ctypes
import errno
import os
import subprocess
import sys

# seccomp.h's actions
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000


def scmp_act_errno(err):
    """SCMP_ACT_ERRNO(err)"""
    return 0x00050000 | (err & 0x0000FFFF)


def unit_settings(path):
    """The unit's SystemCallFilter= lines and its SystemCallErrorNumber=."""
    filters, errno_name = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("SystemCallFilter="):
                filters.append(line.split("=", 1)[1])
            elif line.startswith("SystemCallErrorNumber="):
                errno_name = line.split("=", 1)[1]
    return filters, errno_name


def expand(name, seen=None):
    """The system call names of one entry: a call, or a @group."""
    if not name.startswith("@"):
        return {name}
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         check=True, capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if word and not word.startswith("#"):
            calls |= expand(word, seen)
    return calls


def allowed_calls(filters):
    """Apply the lines in order; the first one sets the list's kind."""
    allowed = set()
    for value in filters:
        deny = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= expand(word)
        if deny:
            allowed -= names
        else:
            allowed |= names
    if filters and filters[0].startswith("~"):
        sys.exit("syscall_filter_run: a deny list first is not handled")
    return allowed


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__.strip().splitlines()[2])
    filters, errno_name = unit_settings(sys.argv[1])
    if not filters:
        sys.exit("syscall_filter_run: %s has no SystemCallFilter=" % sys.argv[1])
    if errno_name:
        default = scmp_act_errno(getattr(errno, errno_name))
    else:
        default = SCMP_ACT_KILL_PROCESS
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                     ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    # The filter sets no_new_privs, as libseccomp does by default.
    ctx = lib.seccomp_init(default)
    if not ctx:
        sys.exit("syscall_filter_run: seccomp_init failed")
    for call in sorted(allowed_calls(filters)):
        nr = lib.seccomp_syscall_resolve_name(call.encode())
        if nr == -1:
            continue  # a call this architecture does not have
        lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)
    rc = lib.seccomp_load(ctx)
    if rc < 0:
        sys.exit("syscall_filter_run: seccomp_load: %s" % os.strerror(-rc))
    os.execvp(sys.argv[3], sys.argv[3:])


if __name__ == "__main__":
    main()
