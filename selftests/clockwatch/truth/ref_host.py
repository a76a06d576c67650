#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The truth harness's time reference: the host's CLOCK_REALTIME, served
to the test VM over a serial line (QEMU's second UART, a unix socket on
the host side).

The guest does not control this clock, so it can check the guest's clock
and every bound libclockwatch gives.  Line based, ASCII:

  guest: Q <seq>
  host:  A <seq> <T_ns> <leap_ns> <announce> <check>

T_ns is the host's REALTIME the moment the request's line arrived, plus
a constant shift; the POSIX time of that instant is T_ns + leap_ns.
leap_ns is the POSIX correction of a rehearsed leap second that already
happened: 0 before, -1 s after an inserted one (from the midnight on),
+1 s after a deleted one (from 23:59:59 on).  announce is 0, or 1 (insert)
or 2 (delete) at the next midnight, from --announce seconds before until
it happens, as a GPS or PTP source would.  check is the low 32 bits of
the XOR of the four numbers (as 64-bit two's complement): a guest restored
from a snapshot can find the rest of an answer from before in its
buffers, and the next answer's digits appended to it still parse.

Control lines, from the test script (through the guest's exchange
program), each answered "OK ..." or "ERR ...", and logged with the
host's time:

  C shift_ns=<n>        T = REALTIME + n from now on
  C shift_to=<ns>       shift so that T is <ns> now; forgets past leaps
  C leap=ins|del at=<T_ns of the midnight>
  C quit                stop serving

QEMU connects as the client (server=off); one connection at a time, and
a new one replaces the old, so a reconnecting QEMU is served again.
"""

import argparse
import os
import select
import signal
import socket
import sys
import time

NS = 1000000000


def realtime_ns():
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


class Reference:
    """The shifted timescale and its rehearsed leap second."""

    def __init__(self, shift_ns, announce_s):
        self.shift_ns = shift_ns
        self.past_leap_ns = 0		# POSIX correction of leaps gone by
        self.pending = None		# (kind 1|2, T_ns of the midnight)
        self.announce_ns = announce_s * NS

    def stamp(self, host_ns):
        """T_ns, leap_ns and announce for a host REALTIME instant."""
        t = host_ns + self.shift_ns
        if self.pending:
            kind, at = self.pending
            # Inserted: 23:59:60 is T in [at, at + 1 s) and reads as
            # 23:59:59 again.  Deleted: 23:59:59 never shows.
            if kind == 1 and t >= at:
                self.past_leap_ns -= NS
                self.pending = None
                log("leap inserted at T=%d" % at)
            elif kind == 2 and t >= at - NS:
                self.past_leap_ns += NS
                self.pending = None
                log("leap deleted at T=%d" % at)
        announce = 0
        if self.pending and t >= self.pending[1] - self.announce_ns:
            announce = self.pending[0]
        return t, self.past_leap_ns, announce

    def control(self, words):
        """Apply 'key=value' words; the answer line."""
        kv = {}
        for w in words:
            k, sep, v = w.partition("=")
            if not sep:
                return "ERR no '=' in %s" % w
            kv[k] = v
        try:
            if "shift_ns" in kv:
                self.shift_ns = int(kv["shift_ns"])
                return "OK shift_ns=%d" % self.shift_ns
            if "shift_to" in kv:
                self.shift_ns = int(kv["shift_to"]) - realtime_ns()
                self.past_leap_ns = 0
                self.pending = None
                return "OK shift_ns=%d" % self.shift_ns
            if "leap" in kv:
                kind = {"ins": 1, "del": 2}.get(kv["leap"])
                if kind is None or "at" not in kv:
                    return "ERR leap=ins|del at=<ns>"
                at = int(kv["at"])
                if at % (86400 * NS):
                    return "ERR at=%d is not a midnight UTC" % at
                self.pending = (kind, at)
                return "OK leap=%s at=%d" % (kv["leap"], at)
        except ValueError as e:
            return "ERR %s" % e
        return "ERR unknown control %s" % " ".join(words)


logf = None


def log(msg):
    line = "%d %s\n" % (realtime_ns(), msg)
    if logf:
        logf.write(line)
        logf.flush()
    else:
        sys.stderr.write(line)


def serve(args, ref):
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(args.socket)
    lsock.listen(1)
    log("listening on %s shift_ns=%d" % (args.socket, ref.shift_ns))

    conn = None
    buf = b""
    served = 0
    seen_client = False
    idle_since = time.monotonic()
    while True:
        fds = [lsock] + ([conn] if conn else [])
        r, _, _ = select.select(fds, [], [], 1.0)
        if conn and conn in r:
            try:
                data = conn.recv(4096)
            except ConnectionError:
                # a QEMU that quit with answers it never read: a reset
                data = b""
            # The moment a request arrived: before any parsing.
            host_ns = realtime_ns()
            if not data:
                log("client went away after %d answers" % served)
                conn.close()
                conn = None
                buf = b""
                idle_since = time.monotonic()
                continue
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                reply = handle(line.decode("ascii", "replace").strip(),
                               host_ns, ref)
                if reply is None:
                    continue
                if reply == "quit":
                    conn.sendall(b"OK quit\n")
                    log("told to quit after %d answers" % served)
                    return 0
                if reply.startswith("A "):
                    served += 1
                try:
                    conn.sendall(reply.encode("ascii") + b"\n")
                except ConnectionError:
                    break	# gone; the next recv() says so
        if lsock in r:
            new, _ = lsock.accept()
            if conn:
                log("a new client replaces the old one")
                conn.close()
            conn = new
            buf = b""
            seen_client = True
            log("client connected")
        if args.watch_pid and not pid_alive(args.watch_pid):
            log("pid %d is gone; stopping" % args.watch_pid)
            return 0
        if (seen_client and not conn and args.linger >= 0 and
                time.monotonic() - idle_since > args.linger):
            log("no client for %d s; stopping" % args.linger)
            return 0


def answer_check(*nums):
    """The check word of an answer (cwtruth and cwclocks verify it)."""
    x = 0
    for n in nums:
        x ^= n
    return x & 0xffffffff


def handle(line, host_ns, ref):
    words = line.split()
    if not words:
        return None
    if words[0] == "Q" and len(words) == 2:
        t, leap, announce = ref.stamp(host_ns)
        try:
            seq = int(words[1])
        except ValueError:
            log("ignored line %r" % line)
            return None
        return "A %d %d %d %d %d" % (seq, t, leap, announce,
                                     answer_check(seq, t, leap, announce))
    if words[0] == "C":
        if words[1:] == ["quit"]:
            return "quit"
        answer = ref.control(words[1:])
        log("control at host %d: %s -> %s" % (host_ns, line, answer))
        return answer
    log("ignored line %r" % line)
    return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def main():
    global logf
    p = argparse.ArgumentParser(
        description="Serve the host's CLOCK_REALTIME to the test VM "
                    "(the truth harness's reference).")
    p.add_argument("--socket", required=True,
                   help="unix socket to listen on (QEMU connects)")
    p.add_argument("--log", help="log file (control lines, connections)")
    p.add_argument("--shift-ns", type=int, default=0,
                   help="T = host REALTIME + this")
    p.add_argument("--shift-to", type=int,
                   help="shift so that T is this POSIX ns at start")
    p.add_argument("--leap", choices=["ins", "del"],
                   help="rehearse a leap second (needs --leap-at)")
    p.add_argument("--leap-at", type=int,
                   help="T_ns of the midnight UTC the leap comes at")
    p.add_argument("--announce", type=int, default=86400,
                   help="announce the leap this many seconds before")
    p.add_argument("--watch-pid", type=int,
                   help="stop when this process is gone")
    p.add_argument("--linger", type=int, default=-1,
                   help="stop this many seconds after the client left "
                        "(default: wait for a new one)")
    args = p.parse_args()

    if args.log:
        logf = open(args.log, "a")
    ref = Reference(args.shift_ns, args.announce)
    if args.shift_to is not None:
        log("command line: " + ref.control(["shift_to=%d" % args.shift_to]))
    if args.leap:
        if args.leap_at is None:
            p.error("--leap needs --leap-at")
        log("command line: " + ref.control(
            ["leap=%s" % args.leap, "at=%d" % args.leap_at]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    try:
        return serve(args, ref)
    finally:
        try:
            os.unlink(args.socket)
        except OSError:
            pass
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())
