"""test_psycopg_notify.py: conf/notify.sql (the notify table and function,
doc/crdb-wire.md §15) loaded through crdbsim with Debian's psycopg.crdb, and
a sinkless changefeed on the table as crdbfeedd's notify feed reads it:
exactly the committed notifications, several per transaction together and in
send order (the key increases), none from a rolled-back transaction; the
payload and channel limits of pg_notify refused; and, at versions below the
minimum (24.1), CockroachDB's own refusals of the file. Run by
run_psycopg_notify under crdbsim-env (CRDB_DSN); plain asserts, no pytest.
"""
import json
import os
import threading
from decimal import Decimal
from queue import Empty, Queue

import psycopg
from psycopg import crdb, errors as e

DSN = os.environ["CRDB_DSN"]
TOP = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
TIMEOUT = int(os.environ.get("NOTIFY_TIMEOUT", "20"))  # seconds for any one row to arrive
with open(os.path.join(TOP, "conf", "notify.sql"), encoding="utf-8") as f:
    NOTIFY_SQL = f.read()
FUNCTION_SQL = NOTIFY_SQL[NOTIFY_SQL.index("CREATE OR REPLACE FUNCTION"):]


def dsn_with_version(version):
    sep = "&" if "?" in DSN else "?"
    return f"{DSN}{sep}options=-c%20crdbsim.version%3D{version}"


DSN_24_1 = dsn_with_version("24.1.0")


def expect_error(sqlstate, conn, sql, params=None):
    """sql must fail with this SQLSTATE; returns the error."""
    try:
        with conn.transaction():
            conn.execute(sql, params)
    except psycopg.Error as ex:
        assert ex.sqlstate == sqlstate, (ex.sqlstate, str(ex))
        return ex
    raise AssertionError(f"no error {sqlstate} for {sql!r}")


def notify(conn, channel, payload):
    conn.execute("SELECT crdbfeed_notify(%s, %s)", [channel, payload])


def stream_feed(q, ready):
    """The notify feed's rows, as crdbfeedd reads them, into q."""
    try:
        with crdb.connect(DSN_24_1, autocommit=True) as conn:
            ready.put(conn)
            cur = conn.cursor()
            for row in cur.stream("EXPERIMENTAL CHANGEFEED FOR crdbfeed_notify "
                                  "WITH updated, no_initial_scan"):
                q.put(row)
    except e.QueryCanceled:
        q.put(None)
    except Exception as ex:  # handed to the main thread
        q.put(ex)


def next_row(q, timeout=TIMEOUT):
    """The next row that is not a warm-up notification."""
    while True:
        item = q.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        assert item is not None, "the feed ended early"
        row = json.loads(item[2])  # table, key, value
        if row["after"] is None or row["after"]["channel"] != "warmup":
            return row


def feed_end(q):
    """What the feed gives after the rows under test, warm-up rows skipped."""
    while True:
        item = q.get(timeout=TIMEOUT)
        if isinstance(item, tuple) and json.loads(item[2])["after"]["channel"] == "warmup":
            continue
        return item


def warm_up(conn, q):
    """Send notifications on channel warmup until the feed shows one: a
    no_initial_scan feed takes only what commits after its start, which
    comes a little after SHOW STATEMENTS lists it."""
    for _ in range(int(TIMEOUT / 0.2)):
        notify(conn, "warmup", "")
        try:
            item = q.get(timeout=0.2)
        except Empty:
            continue
        if isinstance(item, Exception):
            raise item
        assert item is not None, "the feed ended early"
        return
    raise AssertionError("the feed showed no warm-up notification")


def test_older_versions_refuse():
    """Below 24.1 the file fails as CockroachDB would fail it (§15.1,
    §15.2): 23.1 refuses the function, 23.2 the TTL parameter."""
    with crdb.connect(dsn_with_version("23.1.11"), autocommit=True) as conn:
        ex = expect_error("0A000", conn, FUNCTION_SQL)
        assert ex.diag.message_primary == \
            "unimplemented: INSERT usage inside a function definition", str(ex)
        assert ex.diag.message_hint.endswith(
            "https://go.crdb.dev/issue-v/87289/v23.1"), ex.diag.message_hint
    with crdb.connect(dsn_with_version("23.2.0"), autocommit=True) as conn:
        ex = expect_error("22023", conn, NOTIFY_SQL)
        assert ex.diag.message_primary == \
            'invalid storage parameter "ttl_disable_changefeed_replication"', str(ex)


def test_notifications_through_a_feed():
    with crdb.connect(DSN_24_1, autocommit=True) as conn:
        conn.execute("SET CLUSTER SETTING kv.rangefeed.enabled = true")
        conn.execute(NOTIFY_SQL)  # the whole file as one simple Query
        q, ready = Queue(), Queue()
        threading.Thread(target=stream_feed, args=(q, ready), daemon=True).start()
        feed_conn = ready.get(timeout=TIMEOUT)
        # The feed runs once SHOW STATEMENTS lists it (this query lists
        # itself too, and does not start with EXPERIMENTAL).
        for _ in range(200):
            cur = conn.execute("SELECT count(*) FROM [SHOW STATEMENTS] "
                               "WHERE query LIKE 'EXPERIMENTAL CHANGEFEED%%'")
            if cur.fetchone()[0] > 0:
                break
            threading.Event().wait(0.05)
        else:
            raise AssertionError("the feed did not start")
        warm_up(conn, q)

        with conn.transaction():
            for channel, payload in (("orders", "a"), ("orders", "b"), ("Orders", "c")):
                notify(conn, channel, payload)
        try:
            with conn.transaction():
                notify(conn, "orders", "rolled back")
                raise psycopg.Rollback()
        except psycopg.Rollback:
            pass
        with conn.transaction():
            notify(conn, "orders", None)
            notify(conn, "end", "marker")

        rows = [next_row(q) for _ in range(5)]
        feed_conn.cancel()
        assert feed_end(q) is None, "the feed did not end on cancel"

        sent = [(r["after"]["channel"], r["after"]["payload"]) for r in rows]
        first, second = rows[:3], rows[3:]
        # Committed only; a transaction's rows in send order: the key
        # increases; the channel exactly as given; NULL payload is ''.
        assert sorted(sent[:3], key=lambda s: s[1]) == \
            [("orders", "a"), ("orders", "b"), ("Orders", "c")], sent
        by_id = sorted(first, key=lambda r: r["after"]["id"])
        assert [r["after"]["payload"] for r in by_id] == ["a", "b", "c"], sent
        assert sorted((r["after"]["channel"], r["after"]["payload"]) for r in second) == \
            [("end", "marker"), ("orders", "")], sent
        # One transaction, one timestamp; commit order across them.
        assert len({r["updated"] for r in first}) == 1, first
        assert len({r["updated"] for r in second}) == 1, second
        assert Decimal(second[0]["updated"]) > Decimal(first[0]["updated"]), rows
        # The key is a unique_rowid() (above 2^53), a JSON number; the
        # payload a JSON string.
        for r in rows:
            assert isinstance(r["after"]["id"], int) and r["after"]["id"] > 2 ** 53, r
            assert isinstance(r["after"]["payload"], str), r


def test_limits():
    """pg_notify's limits (§15.3): a payload under 8000 bytes, a channel of
    1 to 63 bytes, refused with a CHECK constraint naming the rule."""
    with crdb.connect(DSN_24_1, autocommit=True) as conn:
        conn.execute(NOTIFY_SQL)
        with conn.transaction(force_rollback=True):
            notify(conn, "c" * 63, "x" * 7999)
            notify(conn, "é" * 31, "é" * 3999)
        for channel, payload, rule in (
                ("orders", "x" * 8000, "payload_is_under_8000_bytes"),
                ("orders", "é" * 4000, "payload_is_under_8000_bytes"),
                ("", "x", "channel_is_1_to_63_bytes"),
                (None, "x", "channel_is_1_to_63_bytes"),
                ("c" * 64, "x", "channel_is_1_to_63_bytes")):
            ex = expect_error("23514", conn, "SELECT crdbfeed_notify(%s, %s)",
                              [channel, payload])
            assert rule in str(ex), str(ex)
        cur = conn.execute("SELECT count(*) FROM crdbfeed_notify "
                           "WHERE octet_length(payload) > 100")
        assert cur.fetchone()[0] == 0, "a refused notification was kept"


def test_rowid_order():
    """§15.3: unique_rowid() increases in call order within a session,
    also when its 15-bit counter wraps inside one 10 µs tick (70000 calls
    wrap it twice)."""
    with crdb.connect(DSN_24_1, autocommit=True) as conn:
        cur = conn.execute(
            "SELECT count(*) FILTER (WHERE id <= prev), count(DISTINCT id) "
            "FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev "
            "FROM (SELECT n, unique_rowid() AS id "
            "FROM generate_series(1, 70000) AS n) AS ids) AS pairs")
        assert cur.fetchone() == (0, 70000)


def main():
    tests = [test_older_versions_refuse, test_notifications_through_a_feed,
             test_limits, test_rowid_order]
    for t in tests:
        t()
        print(f"ok {t.__name__}")


if __name__ == "__main__":
    main()
