#!/usr/bin/python3
"""fakecrdb.py: a tiny scripted CockroachDB for the one fault crdbsim
cannot inject: a row the decoder must reject.

usage: fakecrdb.py PORTFILE LOGFILE

Listens on 127.0.0.1 (port written to PORTFILE), speaks just enough of the
PostgreSQL v3 protocol for libpq and libcrdb (start-up with crdb_version,
simple queries answered with SET, the extended protocol for the changefeed)
and streams table t: rows id 1, 2, 3, ... with a resolved timestamp after
every 5 rows. On the first connection only, row 8's value is not JSON.
Each changefeed's SQL text and parameters go to LOGFILE, one line each:
"SQL <text>" and "PARAMS <json list>". A resumed feed (cursor $1) starts
after the cursor's row.
"""
import json
import socket
import struct
import sys
import threading
import time

BASE = 1700000000000000000
conn_count = 0
lock = threading.Lock()


def msg(t, body):
    return t + struct.pack("!I", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def recvn(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b


def datarow(vals):
    b = struct.pack("!H", len(vals))
    for v in vals:
        b += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    return msg(b"D", b)


def rowdesc():
    b = struct.pack("!H", 3)
    for name, oid in (("table", 25), ("key", 17), ("value", 17)):
        b += cstr(name) + struct.pack("!IHIhiH", 0, 0, oid, -1, -1, 1)
    return msg(b"T", b)


def serve(c, log, first):
    n, = struct.unpack("!I", recvn(c, 4))
    recvn(c, n - 4)
    c.sendall(msg(b"R", struct.pack("!I", 0)))
    for k, v in (("server_version", "13.0.0"),
                 ("crdb_version", "CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 01:53:43, go1.19.10)"),
                 ("client_encoding", "UTF8"), ("standard_conforming_strings", "on"),
                 ("integer_datetimes", "on"), ("DateStyle", "ISO")):
        c.sendall(msg(b"S", cstr(k) + cstr(v)))
    c.sendall(msg(b"K", struct.pack("!II", 4242, 1)) + msg(b"Z", b"I"))
    params = []
    while True:
        t = recvn(c, 1)
        n, = struct.unpack("!I", recvn(c, 4))
        body = recvn(c, n - 4)
        if t == b"Q":
            q = body[:-1].decode()
            if q.upper().startswith("SHOW SESSION_ID"):
                c.sendall(msg(b"T", struct.pack("!H", 1) + cstr("session_id") +
                              struct.pack("!IHIhiH", 0, 0, 25, -1, -1, 0)) +
                          datarow([b"0123456789abcdef0123456789abcdef"]) +
                          msg(b"C", cstr("SHOW 1")) + msg(b"Z", b"I"))
            else:
                c.sendall(msg(b"C", cstr("SET")) + msg(b"Z", b"I"))
        elif t == b"P":
            log.write("SQL %s\n" % body.split(b"\0")[1].decode())
        elif t == b"B":
            p = body.split(b"\0", 2)[2]
            nf, = struct.unpack("!H", p[:2])
            p = p[2 + 2 * nf:]
            np_, = struct.unpack("!H", p[:2])
            p = p[2:]
            params = []
            for _ in range(np_):
                ln, = struct.unpack("!i", p[:4])
                params.append(p[4:4 + ln].decode())
                p = p[4 + ln:]
            log.write("PARAMS %s\n" % json.dumps(params))
            log.flush()
        elif t == b"X":
            return
        elif t == b"S":
            c.sendall(msg(b"1", b"") + msg(b"2", b"") + rowdesc())
            i = 0
            if params:
                i = (int(params[0].split(".")[0]) - BASE) // 1000
            while True:
                i += 1
                hlc = "%d.0000000000" % (BASE + i * 1000)
                value = b'{"after": {"id": %d}, "updated": "%s"}' % (i, hlc.encode())
                if first and i == 8:
                    value = b'{"after": {"id": 8'     # not JSON
                c.sendall(datarow([b"t", b"[%d]" % i, value]))
                if i % 5 == 0:
                    c.sendall(datarow([None, None, b'{"resolved":"%s"}' % hlc.encode()]))
                time.sleep(0.05)


def main():
    global conn_count
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    log = open(sys.argv[2], "a", buffering=1)
    while True:
        c, _ = s.accept()
        with lock:
            conn_count += 1
            first = conn_count == 1

        def run(c=c, first=first):
            try:
                serve(c, log, first)
            except (EOFError, OSError):
                pass
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()
