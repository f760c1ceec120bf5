#!/usr/bin/python3
"""notify-helper.py: the service manager's side for the sd_notify tests.

usage: notify-helper.py listen SOCKET OUTFILE
       notify-helper.py blackhole PORTFILE HOLD_SECONDS EVENTFILE

listen: binds an AF_UNIX datagram socket at SOCKET (what systemd gives as
NOTIFY_SOCKET), with SO_PASSCRED, and appends one JSON line per datagram
to OUTFILE: {"t": CLOCK_MONOTONIC seconds, "pid": sender pid, "msg": text}.
Runs until killed.

blackhole: a TCP listener on 127.0.0.1 (port written to PORTFILE) that
accepts connections and answers nothing; HOLD_SECONDS after the first
accept it closes every connection (a server that hangs, then dies), and
from then on closes new ones at once. Appends to EVENTFILE the JSON lines
{"event": "accept"|"close", "t": CLOCK_MONOTONIC seconds}. Runs until killed.
"""
import json
import os
import select
import socket
import struct
import sys
import time


def listen(path, outfile):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    creds_len = struct.calcsize("3i")
    with open(outfile, "a") as out:
        while True:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds_len))
            pid = 0
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", data[:creds_len])[0]
            out.write(json.dumps({"t": time.monotonic(), "pid": pid,
                                  "msg": msg.decode("utf-8", "replace")}) + "\n")
            out.flush()


def blackhole(portfile, hold, eventfile):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    held = []
    first = None
    closed = False
    with open(eventfile, "a") as ev:
        def note(event, t=None):
            ev.write(json.dumps({"event": event,
                                 "t": t if t is not None else time.monotonic()}) + "\n")
            ev.flush()
        while True:
            timeout = 0.05
            r, _, _ = select.select([ls] + held, [], [], timeout)
            for s in r:
                if s is ls:
                    c, _ = ls.accept()
                    note("accept")
                    if first is None:
                        first = time.monotonic()
                    if closed:
                        t = time.monotonic()
                        c.close()
                        note("close", t)
                    else:
                        held.append(c)
                else:
                    # The client gave up (or sent its start-up packet):
                    # drain; keep holding until it closes.
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        held.remove(s)
                        s.close()
            if not closed and first is not None and time.monotonic() - first >= hold:
                closed = True
                for c in held:
                    # The time before the close: the client may react
                    # before we could note it.
                    t = time.monotonic()
                    c.close()
                    note("close", t)
                held = []


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "listen":
        listen(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "blackhole":
        blackhole(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
