#!/usr/bin/python3
"""notify-kill-client.py: a listener of channel "k" that outlives
crdbfeedd being killed, for e2e-notify-kill.sh.

usage: notify-kill-client.py socket PATH OUT
       notify-kill-client.py pg DSN OUT

socket: a channel subscriber on the notify feed's Unix socket sink; each
connection sends {"channels":["k"],"after":N}, N the last seq it got (0
at first), and OUT gets "SEQ PAYLOAD" per notify line.
pg: psycopg on crdbfeedd's LISTEN endpoint; each connection writes
"listening TIME" (after its LISTEN, TIME in s since the epoch) and then
"PAYLOAD TIME" per notification.
Either reconnects whenever the connection ends or cannot be made, and
exits 0 after the payload "end", or 1 when it cannot connect for 60 s.
"""
import json
import socket
import sys
import time


def run_socket(path, out):
    last = 0
    deadline = time.monotonic() + 60
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendall(json.dumps({"channels": ["k"], "after": last}).encode() + b"\n")
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                sys.exit("notify-kill-client: cannot reach " + path)
            time.sleep(0.05)
            continue
        deadline = time.monotonic() + 60
        buf = b""
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                if msg.get("type") != "notify":
                    continue
                last = msg["seq"]
                out.write("%d %s\n" % (last, msg["payload"]))
                out.flush()
                if msg["payload"] == "end":
                    return
        s.close()


def run_pg(dsn, out):
    import psycopg
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("LISTEN k")
                out.write("listening %.6f\n" % time.time())
                out.flush()
                deadline = time.monotonic() + 60
                for n in conn.notifies():
                    out.write("%s %.6f\n" % (n.payload, time.time()))
                    out.flush()
                    if n.payload == "end":
                        return
        except psycopg.Error:
            if time.monotonic() > deadline:
                sys.exit("notify-kill-client: cannot reach " + dsn)
            time.sleep(0.05)


with open(sys.argv[3], "w") as f:
    (run_socket if sys.argv[1] == "socket" else run_pg)(sys.argv[2], f)
