"""test_psycopg_resolved.py: resolved timestamps trail the present by the
closed-timestamp target, seen by psycopg.crdb (Debian's python3-psycopg) as
a client of crdbsim, in text and binary format.

On CockroachDB a rangefeed's resolved timestamp is at most its range's
closed timestamp, which trails the present by
kv.closed_timestamp.target_duration (3 s by default); rows themselves are
not held back (doc/crdb-wire.md §3.1). crdbsim emulates that. Checked here:
  - SHOW CLUSTER SETTING kv.closed_timestamp.target_duration is 3 s on a
    crdbsim started with its default;
  - every resolved row's timestamp is at least 3 s behind the moment it
    arrives, while a row inserted meanwhile arrives at once;
  - SET CLUSTER SETTING to 500ms is shown and honoured (resolved rows then
    trail by at least 500 ms and by less than 3 s), and DEFAULT gives 3 s
    back.
Run by run_psycopg_resolved, which starts its own crdbsim-env without the
short target the rest of the suite uses. Plain asserts, no pytest.
"""
import datetime
import json
import os
import sys
import threading
import time
import uuid
from queue import Empty, Queue

from psycopg import crdb, errors as e, pq

DSN = os.environ.get("CRDB_DSN")
SETTING = "kv.closed_timestamp.target_duration"
TIMEOUT = 20  # seconds for any one event to arrive


def show_target(cur):
    cur.execute(f"SHOW CLUSTER SETTING {SETTING}")
    (value,) = cur.fetchone()
    assert isinstance(value, datetime.timedelta), repr(value)
    return value.total_seconds()


def resolved_wall_ns(value):
    """{"resolved":"1784759045000000000.0000000000"} -> wall ns."""
    doc = json.loads(bytes(value))
    return int(doc["resolved"].split(".")[0])


def watch(table, fmt, seconds, insert_after=None):
    """Run a feed on table for `seconds`; return (resolved, rows):
    resolved = [(hlc wall ns, arrival ns)], rows = [(value, arrival ns)].
    With insert_after, a row is inserted that many seconds in, and its
    insert time is returned as a third item."""
    q = Queue()
    holder = {}

    def worker():
        try:
            with crdb.connect(DSN, autocommit=True) as conn:
                holder["conn"] = conn
                cur = conn.cursor(binary=fmt == pq.Format.BINARY)
                try:
                    for row in cur.stream(
                        f"EXPERIMENTAL CHANGEFEED FOR {table} WITH "
                        "resolved = '100ms', min_checkpoint_frequency = '100ms'"
                    ):
                        q.put_nowait((row, time.time_ns()))
                except e.QueryCanceled:
                    q.put_nowait(None)
        except Exception as ex:  # handed to the main thread
            q.put_nowait(ex)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    resolved, rows, inserted_at = [], [], None
    end = time.monotonic() + seconds
    insert_at = time.monotonic() + insert_after if insert_after else None
    while time.monotonic() < end:
        if insert_at and time.monotonic() >= insert_at:
            with crdb.connect(DSN, autocommit=True) as w:
                inserted_at = time.time_ns()
                w.execute(f"INSERT INTO {table} (data) VALUES ('late')")
            insert_at = None
        try:
            item = q.get(timeout=0.05)
        except Empty:
            continue
        if isinstance(item, Exception):
            raise item
        assert item is not None, "feed ended early"
        (row, at) = item
        if row[0] is None:
            resolved.append((resolved_wall_ns(row[2]), at))
        else:
            rows.append((json.loads(bytes(row[2])), at))
    holder["conn"].cancel()
    while True:
        item = q.get(timeout=TIMEOUT)
        if item is None:
            break
        if isinstance(item, Exception):
            raise item
    t.join(TIMEOUT)
    assert not t.is_alive(), "worker did not end"
    return resolved, rows, inserted_at


def make_table(cur):
    name = "resolved_" + uuid.uuid4().hex[:12]
    cur.execute("SET CLUSTER SETTING kv.rangefeed.enabled = true")
    cur.execute(f"CREATE TABLE {name} (id serial PRIMARY KEY, data text)")
    cur.execute(f"INSERT INTO {name} (data) VALUES ('before')")
    return name


def check_default(fmt):
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor()
        target = show_target(cur)
        assert target == 3.0, f"{SETTING} is {target}s, not CockroachDB's 3s"
        table = make_table(cur)
        started = time.time_ns()
        resolved, rows, inserted_at = watch(table, fmt, 6.5, insert_after=1.0)
        assert len(resolved) >= 3, f"only {len(resolved)} resolved rows in 6.5 s"
        for (wall, at) in resolved:
            lag = (at - wall) / 1e9
            assert lag >= 3.0, f"resolved {wall} only {lag:.3f}s behind its arrival"
        first_at = resolved[0][1]
        assert first_at - started >= 3.0e9, \
            f"first resolved row {(first_at - started) / 1e9:.3f}s after the start"
        # The newest resolved rows keep up with the closed timestamp.
        last_wall, last_at = resolved[-1]
        assert (last_at - last_wall) / 1e9 < 4.0, \
            f"resolved lags {(last_at - last_wall) / 1e9:.3f}s, more than target + 1s"
        late = [at for (doc, at) in rows if (doc.get("after") or {}).get("data") == "late"]
        assert late, f"the row inserted during the feed never came: {rows}"
        assert (late[0] - inserted_at) / 1e9 < 1.0, \
            "a row waited for the closed timestamp; only resolved rows should"
        cur.execute(f"DROP TABLE {table}")


def test_default_text():
    check_default(pq.Format.TEXT)


def test_default_binary():
    check_default(pq.Format.BINARY)


def test_setting_honoured():
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor()
        table = make_table(cur)
        cur.execute(f"SET CLUSTER SETTING {SETTING} = '500ms'")
        assert cur.statusmessage == "SET CLUSTER SETTING", cur.statusmessage
        assert show_target(cur) == 0.5, show_target(cur)
        try:
            resolved, _, _ = watch(table, pq.Format.BINARY, 3.0)
            assert len(resolved) >= 5, f"only {len(resolved)} resolved rows in 3 s"
            lags = [(at - wall) / 1e9 for (wall, at) in resolved]
            assert min(lags) >= 0.5, f"resolved only {min(lags):.3f}s behind"
            assert max(lags[1:]) < 2.0, f"resolved {max(lags):.3f}s behind with a 500ms target"
        finally:
            cur.execute(f"SET CLUSTER SETTING {SETTING} = DEFAULT")
        assert show_target(cur) == 3.0, show_target(cur)
        cur.execute(f"DROP TABLE {table}")


def main():
    if not DSN:
        print("CRDB_DSN is not set: run under tests/crdbsim/crdbsim-env", file=sys.stderr)
        return 1
    tests = [test_default_text, test_default_binary, test_setting_honoured]
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
