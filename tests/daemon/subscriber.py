#!/usr/bin/python3
"""subscriber.py: a crdbfeedd subscriber for the end-to-end tests.

usage: subscriber.py SOCKET OUTFILE [--request JSON] [--stall SECONDS]
                     [--duration SECONDS] [--until-type TYPE]
                     [--connect-timeout SECONDS]

Connects to SOCKET (retrying until --connect-timeout), optionally sends one
request line, optionally does not read at all for --stall seconds (a slow
consumer: the kernel buffers fill, then crdbfeedd's queue), then reads
lines into OUTFILE until the daemon closes the socket, --duration passes,
or a line of type --until-type arrives. Touches OUTFILE.connected once
connected, so a test can wait for it. Exits 0, or 1 if it never connected.
"""
import argparse
import json
import os
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("outfile")
    ap.add_argument("--request")
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--until-type")
    ap.add_argument("--connect-timeout", type=float, default=10)
    ap.add_argument("--rcvbuf", type=int, default=0)
    a = ap.parse_args()

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if a.rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    deadline = time.monotonic() + a.connect_timeout
    while True:
        try:
            s.connect(a.socket)
            break
        except OSError:
            if time.monotonic() > deadline:
                print("subscriber: cannot connect to %s" % a.socket, file=sys.stderr)
                return 1
            time.sleep(0.05)
    if a.request is not None:
        s.sendall(a.request.encode() + b"\n")
    open(a.outfile + ".connected", "w").close()
    if a.stall:
        time.sleep(a.stall)
    end = time.monotonic() + a.duration
    buf = b""
    with open(a.outfile, "wb") as out:
        while time.monotonic() < end:
            s.settimeout(max(0.01, min(0.5, end - time.monotonic())))
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            out.write(data)
            out.flush()
            if a.until_type:
                # Only then: appending every chunk to one bytes object
                # copies it whole each time, and the CPU that burns (on
                # slow readers' small chunks) starved the fast subscribers.
                buf += data
                *lines, buf = buf.split(b"\n")
                if any(l and json.loads(l).get("type") == a.until_type for l in lines):
                    break
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
