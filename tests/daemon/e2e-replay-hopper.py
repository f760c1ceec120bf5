#!/usr/bin/python3
"""e2e-replay-hopper.py: a subscriber of an ordered feed that keeps being
cut off and resuming with "after".

usage: e2e-replay-hopper.py SOCKET OUTFILE CUTS STOPFILE

Connects CUTS times in a row to SOCKET, each time sending {"after": N}, N
the highest seq of the row lines it received whole (0 at first), reads
until a random 1 to 20 row lines came (or 1 s times E2E_TIME_FACTOR
passed), then closes the socket with unread data and SO_LINGER 0: the
daemon sees a reset, as when a subscriber is killed, in the middle of a
replay or of a live window (it reads 4 KiB at a time, so that a cut
leaves most of a released window unread: the next connection replays
it). Partial lines are thrown away, as a killed process loses them.
Then it connects once more the same way and reads until STOPFILE holds a
time (ns since the epoch) and a resolved line for a later timestamp has
arrived.

OUTFILE gets every line received whole, each connection preceded by
{"type":"_request","after":N}; OUTFILE.cuts counts the connections cut so
far. Exits 0, or 1 when the daemon cannot be reached for 10 s.
"""
import json
import os
import random
import socket
import struct
import sys
import time


def connect(path):
    deadline = time.monotonic() + 10
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)


def main():
    path, outfile, cuts, stopfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    factor = int(os.environ.get("E2E_TIME_FACTOR", "1"))
    rnd = random.Random()
    last = 0
    stop_ns = None
    with open(outfile, "wb") as out:
        for cut in range(cuts + 1):
            s = connect(path)
            if s is None:
                print("hopper: cannot connect to %s" % path, file=sys.stderr)
                return 1
            out.write(b'{"type":"_request","after":%d}\n' % last)
            s.sendall(b'{"after":%d}\n' % last)
            end = time.monotonic() + factor
            want = rnd.randint(1, 20)
            buf = b""
            while True:
                if cut < cuts:
                    left = end - time.monotonic()
                    if left <= 0 or want <= 0:
                        break
                    s.settimeout(left)
                else:
                    s.settimeout(0.2)
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    data = None
                if data == b"":
                    break
                if data:
                    buf += data
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        ev = json.loads(line)
                        out.write(line + b"\n")
                        if ev.get("type") == "row":
                            last = max(last, ev["seq"])
                            want -= 1
                        elif ev.get("type") == "resolved" and stop_ns is not None:
                            if int(ev["resolved"].split(".")[0]) > stop_ns:
                                return 0
                if cut == cuts and stop_ns is None:
                    try:
                        stop_ns = int(open(stopfile).read())
                    except (OSError, ValueError):
                        pass
            out.flush()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            with open(outfile + ".cuts.tmp", "w") as f:
                f.write("%d\n" % (cut + 1))
            os.rename(outfile + ".cuts.tmp", outfile + ".cuts")
        print("hopper: the daemon closed the last connection", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
