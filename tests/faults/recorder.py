#!/usr/bin/python3
"""recorder.py: the fault matrix's block subscriber.

usage: recorder.py SOCKET OUTFILE STOPFILE [--after]

Connects to crdbfeedd's Unix socket and appends every line it reads to
OUTFILE as "<receive time, ms since the epoch> <line>". When the daemon
goes away (killed, restarted) it reconnects at once, retrying every 2 ms,
so that a restarted daemon finds it connected before its feed produces;
each connection and disconnection is recorded as a line of its own type
(_connected, _disconnected). Stops once STOPFILE exists (checked after
every read, and every half second).

With --after (an ordered feed), each connection starts with the request
line {"after": N}, N the highest "seq" of the row lines received whole so
far (0 at first), recorded as a line {"type":"_request","after":N}: the
daemon replays what came after it, so nothing is missed while the
recorder was away.
"""
import json
import os
import socket
import sys
import time


def now_ms():
    return int(time.time() * 1000)


def row_seq(line):
    """The seq of a row line, else 0."""
    if b'"type":"row"' not in line:
        return 0
    try:
        return int(json.loads(line).get("seq", 0))
    except ValueError:
        return 0


def main():
    path, outfile, stopfile = sys.argv[1:4]
    resume = "--after" in sys.argv[4:]
    last_seq = 0
    with open(outfile, "ab", buffering=0) as out:
        def note(kind, **fields):
            fields["type"] = kind
            out.write(b"%d %s\n" % (now_ms(), json.dumps(fields, separators=(",", ":")).encode()))

        while True:
            if os.path.exists(stopfile):
                return 0
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
            except OSError:
                s.close()
                time.sleep(0.002)
                continue
            note("_connected")
            if resume:
                try:
                    s.sendall(b'{"after":%d}\n' % last_seq)
                except OSError:
                    s.close()
                    note("_disconnected")
                    continue
                note("_request", after=last_seq)
            buf = b""
            while True:
                s.settimeout(0.5)
                try:
                    data = s.recv(1 << 16)
                except socket.timeout:
                    if os.path.exists(stopfile):
                        note("_disconnected")
                        return 0
                    continue
                except OSError:
                    data = b""
                if not data:
                    break
                buf += data
                lines = buf.split(b"\n")
                buf = lines.pop()
                t = now_ms()
                out.write(b"".join(b"%d %s\n" % (t, l) for l in lines if l))
                if resume:
                    last_seq = max([last_seq] + [row_seq(l) for l in lines])
                if os.path.exists(stopfile):
                    note("_disconnected")
                    return 0
            s.close()
            note("_disconnected")


if __name__ == "__main__":
    sys.exit(main())
