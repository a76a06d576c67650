#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A small QMP client for the snapshot test VM (scripts/vm-snap), Python 3
standard library only.

As a module:

    q = QMP("/tmp/cw-snap.x/qmp.sock")
    q.stop(); q.cont(); q.status()
    q.savevm("s1"); q.loadvm("s1"); q.delvm("s1")
    q.migrate_to_file("/tmp/cw-snap.x/mig")    # waits until completed
    q.guid(); q.quit()

Every command's host times (CLOCK_REALTIME and CLOCK_MONOTONIC, ns, when
it was sent and when its answer came) are in q.last: the host's own
timing of a pause brackets it between the answer to the command that
stopped the VM and the one to the command that let it run again.
Asynchronous events (STOP, RESUME, MIGRATION, ...) are kept in q.events
with the host's REALTIME when they were read.

As a program:

    qmp.py SOCK status|stop|cont|quit|guid
    qmp.py SOCK savevm|loadvm|delvm NAME
    qmp.py SOCK migrate FILE [--stopped]
    qmp.py SOCK wait-migration [TIMEOUT]
    qmp.py SOCK hmp 'MONITOR COMMAND LINE'
    qmp.py SOCK raw COMMAND ['JSON ARGUMENTS']

prints the answer as JSON and, on stderr with --times, the host times.
QEMU 7.2 has no "file:" migration URI; migrate uses "exec:cat > FILE",
and a second QEMU reads it back with -incoming "exec:cat FILE"
(scripts/vm-snap incoming).
"""

import json
import os
import shlex
import socket
import sys
import time


class QMPError(Exception):
    pass


def host_times():
    return (time.clock_gettime_ns(time.CLOCK_REALTIME),
            time.clock_gettime_ns(time.CLOCK_MONOTONIC))


class QMP:
    def __init__(self, path, timeout=120.0, connect_timeout=10.0):
        self.path = path
        self.events = []
        self.last = None
        self.buf = b""
        deadline = time.monotonic() + connect_timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        s.settimeout(timeout)
        self.sock = s
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError("not a QMP greeting: %r" % greeting)
        self.version = greeting["QMP"].get("version", {}).get("qemu", {})
        self.cmd("qmp_capabilities")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        """Run a command; its "return" value.  QMPError on "error"."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        sent = host_times()
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                r["host_ns"] = host_times()[0]
                self.events.append(r)
                continue
            break
        got = host_times()
        self.last = {"cmd": name, "sent_real_ns": sent[0],
                     "sent_mono_ns": sent[1], "reply_real_ns": got[0],
                     "reply_mono_ns": got[1]}
        if "error" in r:
            raise QMPError("%s: %s" % (name, r["error"].get("desc", r)))
        return r.get("return")

    def poll_events(self, wait=0.0):
        """Read the events that came in (waiting up to wait seconds)."""
        self.sock.settimeout(wait if wait > 0 else 0.001)
        try:
            while True:
                r = self._read()
                if "event" in r:
                    r["host_ns"] = host_times()[0]
                    self.events.append(r)
        except (socket.timeout, BlockingIOError):
            pass
        finally:
            self.sock.settimeout(120.0)
        return self.events

    def hmp(self, line, quiet=False):
        """A human monitor command; its output.  QMPError when the output
        starts with "Error", or with quiet, when there is any: savevm,
        loadvm and delvm say nothing when they succeed."""
        out = self.cmd("human-monitor-command", **{"command-line": line})
        if out and (quiet or out.lstrip().startswith("Error")):
            raise QMPError("%s: %s" % (line, out.strip()))
        return out

    def status(self):
        return self.cmd("query-status")

    def stop(self):
        return self.cmd("stop")

    def cont(self):
        return self.cmd("cont")

    def savevm(self, name):
        return self.hmp("savevm " + name, quiet=True)

    def loadvm(self, name):
        return self.hmp("loadvm " + name, quiet=True)

    def delvm(self, name):
        return self.hmp("delvm " + name, quiet=True)

    def guid(self):
        return self.cmd("query-vm-generation-id")["guid"]

    def query_migrate(self):
        return self.cmd("query-migrate")

    def wait_migration(self, timeout=300.0, interval=0.05):
        """Poll query-migrate until completed; its last answer."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.query_migrate()
            st = r.get("status")
            if st == "completed":
                return r
            if st in ("failed", "cancelled"):
                raise QMPError("migration %s: %s" %
                               (st, r.get("error-desc", "")))
            if time.monotonic() >= deadline:
                raise QMPError("migration not completed after %.0f s (%s)"
                               % (timeout, st))
            time.sleep(interval)

    def migrate_to_file(self, path, stopped=False, timeout=300.0):
        """Migrate the VM's state into path and wait until completed.
        Live (the VM runs until the last pass) unless stopped; the VM is
        paused afterwards either way."""
        # QEMU 7.2 throttles migration to 32 MiB/s by default: no
        # network here, only a pipe to cat.
        self.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        if stopped:
            self.stop()
        self.cmd("migrate", uri="exec:cat > " + shlex.quote(path))
        return self.wait_migration(timeout)

    def quit(self):
        try:
            return self.cmd("quit")
        except EOFError:
            return None


def main(argv):
    times = "--times" in argv
    argv = [a for a in argv if a != "--times"]
    if len(argv) < 3:
        sys.stderr.write(__doc__.split("As a program:")[1].split("prints")[0])
        return 2
    sock, what, args = argv[1], argv[2], argv[3:]
    q = QMP(sock)
    try:
        if what in ("status", "stop", "cont", "quit", "guid"):
            r = {"status": q.status, "stop": q.stop, "cont": q.cont,
                 "quit": q.quit, "guid": q.guid}[what]()
        elif what in ("savevm", "loadvm", "delvm") and len(args) == 1:
            r = getattr(q, what)(args[0])
        elif what == "migrate" and args:
            r = q.migrate_to_file(os.path.abspath(args[0]),
                                  stopped="--stopped" in args[1:])
        elif what == "wait-migration":
            r = q.wait_migration(float(args[0]) if args else 300.0)
        elif what == "hmp" and len(args) == 1:
            r = q.hmp(args[0])
        elif what == "raw" and args:
            r = q.cmd(args[0], **(json.loads(args[1]) if len(args) > 1
                                  else {}))
        else:
            sys.stderr.write("qmp.py: unknown command or arguments\n")
            return 2
    except QMPError as e:
        sys.stderr.write("qmp.py: %s\n" % e)
        return 1
    print(json.dumps(r))
    if times and q.last:
        sys.stderr.write(json.dumps(q.last) + "\n")
    q.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
