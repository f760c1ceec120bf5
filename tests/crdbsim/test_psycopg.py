"""test_psycopg.py: psycopg's own CockroachDB support (psycopg.crdb, Debian's
python3-psycopg) as a client of crdbsim, mirroring psycopg's
tests/crdb/test_cursor.py::test_changefeed and test_conninfo (crdb-wire.md
§2.5, §6.2, §6.3). Run by run_psycopg_test under crdbsim-env (CRDB_DSN,
CRDBSIM_CONTROL); plain asserts, no pytest. Exit 0 when every check passed.
"""
import json
import os
import sys
import threading
import uuid
from queue import Queue

import psycopg
from psycopg import crdb, errors as e, pq
from psycopg.rows import namedtuple_row

DSN = os.environ.get("CRDB_DSN")
TIMEOUT = 20  # seconds for any one event to arrive


def dsn_with_version(version):
    sep = "&" if "?" in DSN else "?"
    return f"{DSN}{sep}options=-c%20crdbsim.version%3D{version}"


def test_connect_reports_crdb():
    with crdb.connect(DSN) as conn:
        assert crdb.CrdbConnection.is_crdb(conn), "not seen as CockroachDB"
        info = conn.info
        assert isinstance(info, crdb.CrdbConnectionInfo), type(info)
        assert info.vendor == "CockroachDB", info.vendor
        assert info.server_version == 230111, info.server_version
        # §6.3: a 64-bit key from 22.1 on; node 1's PID range.
        assert 1048576 <= info.backend_pid <= 2097151, info.backend_pid
    with crdb.connect(dsn_with_version("21.2.10")) as conn:
        assert conn.info.vendor == "CockroachDB"
        assert conn.info.server_version == 210210, conn.info.server_version
        assert conn.info.backend_pid == 0, conn.info.backend_pid
    # psycopg.connect (not crdb.connect) sees it too.
    with psycopg.connect(DSN) as conn:
        assert crdb.CrdbConnection.is_crdb(conn)


def check_changefeed(fmt_out):
    """test_changefeed: a worker streams the feed, another connection
    inserts, deletes, then cancels it with CANCEL QUERY."""
    name = "test_feed_" + uuid.uuid4().hex
    with crdb.connect(DSN, autocommit=True) as svc:
        svc.execute("set cluster setting kv.rangefeed.enabled to true")
        svc.execute(f"create table {name} (id serial primary key, data text)")
    q = Queue()

    def worker():
        try:
            with crdb.connect(DSN, autocommit=True) as conn:
                cur = conn.cursor(binary=fmt_out, row_factory=namedtuple_row)
                try:
                    for row in cur.stream(f"experimental changefeed for {name}"):
                        q.put_nowait(row)
                except e.QueryCanceled:
                    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
                    q.put_nowait(None)
        except Exception as ex:  # handed to the main thread
            q.put_nowait(ex)

    t = threading.Thread(target=worker, daemon=True)
    t.start()

    def get():
        item = q.get(timeout=TIMEOUT)
        if isinstance(item, Exception):
            raise item
        return item

    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor()
        # No wait for the worker, as in psycopg's test: a row committed
        # before the feed starts comes from its initial scan instead.
        cur.execute(f"insert into {name} (data) values ('hello') returning id")
        (key,) = cur.fetchone()
        row = get()
        assert row.table == name, row
        assert json.loads(row.key) == [key], row
        assert json.loads(row.value)["after"] == {"id": key, "data": "hello"}, row

        cur.execute(f"delete from {name} where id = %s", [key])
        row = get()
        assert row.table == name, row
        assert json.loads(row.key) == [key], row
        assert json.loads(row.value)["after"] is None, row

        cur.execute("select query_id from [show statements] where query !~ 'show'")
        (qid,) = cur.fetchone()
        cur.execute("cancel query %s", [qid])
        assert cur.statusmessage == "CANCEL QUERIES 1", cur.statusmessage

        # psycopg tolerates one more {"after": null} before the end.
        for _ in range(2):
            row = get()
            if row is None:
                break
            assert json.loads(row.value)["after"] is None, row
        else:
            raise AssertionError("keep on receiving messages")
        t.join(TIMEOUT)
        assert not t.is_alive(), "worker did not end"
        cur.execute(f"drop table {name}")


def test_changefeed_text():
    check_changefeed(pq.Format.TEXT)


def test_changefeed_binary():
    check_changefeed(pq.Format.BINARY)


def main():
    if not DSN:
        print("CRDB_DSN is not set: run under tests/crdbsim/crdbsim-env", file=sys.stderr)
        return 1
    tests = [test_connect_reports_crdb, test_changefeed_text, test_changefeed_binary]
    failed = 0
    for test in tests:
        try:
            test()
            print(f"PASS: {test.__name__}")
        except Exception as ex:  # report every test, then fail
            failed += 1
            print(f"FAIL: {test.__name__}: {type(ex).__name__}: {ex}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
