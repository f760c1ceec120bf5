"""e2e-pg-sink.py: the psycopg side of e2e-pg-sink.sh (crdbfeedd's pg
sink, fed through crdbsim): "setup" loads conf/notify.sql and a table;
"notify" checks that listeners on the Unix socket and on TCP (SCRAM) get
what senders commit with crdbfeed_notify, in commit order, exactly once,
none from a rolled-back transaction, a transaction's together and in send
order, and nothing after UNLISTEN; "tables" checks table_channels (a row's
JSON line on "table:orders", a line of 8000 bytes or more not sent); "tls"
checks the TLS-only TCP address (verify-full against the test CA gets a
notification, sslmode=require connects, sslmode=disable is refused, the
sink's Unix socket answers SSLRequest 'N' and needs no TLS, bytes sent after an SSLRequest before
its answer are refused).
Plain asserts; prints "ok PHASE" at the end of each.

  e2e-pg-sink.py setup
  e2e-pg-sink.py notify UNIX_DIR UNIX_PORT TCP_PORT PASSWORD
  e2e-pg-sink.py tables UNIX_DIR UNIX_PORT
  e2e-pg-sink.py tls TLS_PORT PASSWORD CA_FILE UNIX_DIR UNIX_PORT
"""
import json
import os
import socket
import struct
import sys

import psycopg
from psycopg import crdb

DSN = os.environ["CRDB_DSN"]
TOP = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))


def dsn_24_1():
    """conf/notify.sql needs CockroachDB 24.1 (crdbsim emulates 23.1)."""
    sep = "" if DSN.endswith("?") else "&" if "?" in DSN else "?"
    return f"{DSN}{sep}options=-c%20crdbsim.version%3D24.1.0"


def notify(conn, channel, payload):
    conn.execute("SELECT crdbfeed_notify(%s, %s)", [channel, payload])


def until(conn, channel, payload):
    """(channel, payload) of each notification up to the marker, excluded."""
    got = []
    for n in conn.notifies():
        if (n.channel, n.payload) == (channel, payload):
            return got
        got.append((n.channel, n.payload))
    raise AssertionError("notifies() ended")


def warm_up(sender, listeners):
    """The feed delivers: each listener sees a warm-up notification."""
    for conn in listeners:
        conn.execute("LISTEN warmup")
    notify(sender, "warmup", "1")
    for conn in listeners:
        got = until(conn, "warmup", "1")
        assert got == [], got
        conn.execute("UNLISTEN warmup")


def setup():
    with crdb.connect(dsn_24_1(), autocommit=True) as conn:
        conn.execute("SET CLUSTER SETTING kv.rangefeed.enabled = true")
        with open(os.path.join(TOP, "conf", "notify.sql"), encoding="utf-8") as f:
            conn.execute(f.read())
        conn.execute("CREATE TABLE orders (id INT8 PRIMARY KEY, note STRING)")
    print("ok setup")


def check_notify(unix_dir, unix_port, tcp_port, password):
    unix = psycopg.connect(f"host={unix_dir} port={unix_port} user=app dbname=any",
                           autocommit=True)
    tcp = psycopg.connect(f"host=127.0.0.1 port={tcp_port} user=alice dbname=any",
                          password=password, autocommit=True)
    listeners = (unix, tcp)
    sender = crdb.connect(dsn_24_1(), autocommit=True)
    other = crdb.connect(dsn_24_1(), autocommit=True)
    warm_up(sender, listeners)
    for conn in listeners:
        conn.execute("LISTEN a")
        conn.execute('LISTEN "B"')
        conn.execute("LISTEN done")
    with sender.transaction():
        for payload in ("x1", "x2", "x3"):
            notify(sender, "a", payload)
        notify(sender, "B", "y1")
        notify(sender, "a", "x4")
    try:
        with sender.transaction():
            notify(sender, "a", "rolled back")
            raise psycopg.Rollback()
    except psycopg.Rollback:
        pass
    with other.transaction():
        notify(other, "a", "other")
    notify(sender, "nobody", "listens")
    with sender.transaction():
        notify(sender, "B", "y2")
        notify(sender, "a", "x5")
    notify(sender, "done", "1")
    want = [("a", "x1"), ("a", "x2"), ("a", "x3"), ("B", "y1"), ("a", "x4"),
            ("a", "other"), ("B", "y2"), ("a", "x5")]
    for name, conn in (("unix", unix), ("tcp", tcp)):
        got = until(conn, "done", "1")
        assert got == want, (name, got)
    # UNLISTEN stops them: after it, only the marker comes.
    for conn in listeners:
        conn.execute("UNLISTEN a")
    notify(sender, "a", "after unlisten")
    notify(sender, "B", "still")
    notify(sender, "done", "2")
    for name, conn in (("unix", unix), ("tcp", tcp)):
        got = until(conn, "done", "2")
        assert got == [("B", "still")], (name, got)
    for conn in (unix, tcp, sender, other):
        conn.close()
    print("ok notify")


def check_tables(unix_dir, unix_port):
    conn = psycopg.connect(f"host={unix_dir} port={unix_port} user=app dbname=any",
                           autocommit=True)
    conn.execute('LISTEN "table:orders"')
    writer = crdb.connect(DSN, autocommit=True)
    writer.execute("INSERT INTO orders VALUES (1, 'small')")
    writer.execute("INSERT INTO orders VALUES (2, %s)", ["z" * 8000])
    writer.execute("INSERT INTO orders VALUES (3, 'after')")
    got = []
    for n in conn.notifies():
        assert n.channel == "table:orders", n
        got.append(json.loads(n.payload))
        if got[-1]["key"] == [3]:
            break
    assert [(r["table"], r["key"], r["after"]["note"]) for r in got] == \
        [("orders", [1], "small"), ("orders", [3], "after")], got
    assert all(r["type"] == "row" for r in got), got
    # PostgreSQL's limit exactly: a payload of 7999 bytes is sent, one of
    # 8000 is not. Rows 4 to 7 have lines of the same shape as row 3's,
    # but for the note.
    size = len(n.payload.encode())
    overhead = size - len("after")
    writer.execute("INSERT INTO orders VALUES (4, %s)", ["y" * (7999 - overhead)])
    writer.execute("INSERT INTO orders VALUES (5, %s)", ["y" * (8000 - overhead)])
    writer.execute("INSERT INTO orders VALUES (6, 'end')")
    got = []
    for n in conn.notifies():
        got.append((json.loads(n.payload)["key"], len(n.payload.encode())))
        if got[-1][0] == [6]:
            break
    assert got == [([4], 7999), ([6], size - 2)], got
    conn.close()
    writer.close()
    print("ok tables")


SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def raw_answer(family, address, data):
    """What the endpoint answers to data sent in one piece."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(address)
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got
            got += chunk
            if data == SSL_REQUEST:
                return got


def check_tls(tls_port, password, ca, unix_dir, unix_port):
    base = f"host=127.0.0.1 port={tls_port} user=alice dbname=any"
    full = psycopg.connect(f"{base} sslmode=verify-full sslrootcert={ca}",
                           password=password, autocommit=True)
    assert full.pgconn.ssl_in_use
    sender = crdb.connect(dsn_24_1(), autocommit=True)
    warm_up(sender, [full])
    full.execute("LISTEN secret")
    notify(sender, "secret", "over tls")
    notify(sender, "secret", "done")
    assert until(full, "secret", "done") == [("secret", "over tls")]
    with psycopg.connect(f"{base} sslmode=require", password=password) as req:
        assert req.pgconn.ssl_in_use
        assert req.execute("SELECT 1").fetchone() == (1,)
    try:
        psycopg.connect(f"{base} sslmode=disable", password=password).close()
        raise AssertionError("sslmode=disable got in")
    except psycopg.OperationalError as e:
        assert "FATAL:  crdbfeedd LISTEN endpoint: TLS required" in str(e), str(e)
    assert raw_answer(socket.AF_INET, ("127.0.0.1", int(tls_port)), SSL_REQUEST) == b"S"
    early = raw_answer(socket.AF_INET, ("127.0.0.1", int(tls_port)), SSL_REQUEST + b"\x16\x03\x01")
    assert early[:1] == b"E" and b"received unencrypted data after SSL request" in early, early
    # The same sink's Unix socket: 'N', and no TLS required there.
    unix = raw_answer(socket.AF_UNIX, f"{unix_dir}/.s.PGSQL.{unix_port}", SSL_REQUEST)
    assert unix == b"N", unix
    with psycopg.connect(f"host={unix_dir} port={unix_port} user=app dbname=any") as local:
        assert not local.pgconn.ssl_in_use
        assert local.execute("SELECT 1").fetchone() == (1,)
    full.close()
    sender.close()
    print("ok tls")


def main():
    phase = sys.argv[1]
    if phase == "setup":
        setup()
    elif phase == "notify":
        check_notify(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif phase == "tls":
        check_tls(*sys.argv[2:7])
    elif phase == "tables":
        check_tables(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown phase {phase}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
