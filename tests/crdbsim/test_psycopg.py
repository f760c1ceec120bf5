"""test_psycopg.py: psycopg's own CockroachDB support (psycopg.crdb, Debian's
python3-psycopg) as a client of crdbsim, mirroring psycopg's
tests/crdb/test_cursor.py::test_changefeed and test_conninfo (doc/crdb-wire.md
§2.5, §6.2, §6.3), and CockroachDB's SQL dialect and session behaviour as
psycopg meets it (§14: text parameters, json as jsonb, session variables,
cursors, two-phase commit and LISTEN/NOTIFY by version, INT/SERIAL/STRING/
BYTES/UPSERT/unique_rowid()/SHOW TABLES, RowDescription's type sizes and
modifiers). Run by run_psycopg_test under crdbsim-env (CRDB_DSN,
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


def fresh_name(prefix):
    return prefix + "_" + uuid.uuid4().hex[:12]


def expect_error(exc_type, sqlstate, fn, *args):
    """fn(*args) must raise exc_type with this SQLSTATE; returns it."""
    try:
        fn(*args)
    except exc_type as ex:
        assert ex.sqlstate == sqlstate, (ex.sqlstate, str(ex))
        return ex
    raise AssertionError(f"no {exc_type.__name__} ({sqlstate})")


def check_text_params(fmt_in):
    """§14.1: psycopg.crdb sends str (and None) as text (OID 25);
    CockroachDB assigns text to any column type, as psycopg's
    tests/crdb/test_adapt.py::test_return_untyped relies on."""
    ph = f"%{fmt_in.value}"
    t, mood = fresh_name("tp"), fresh_name("mood")
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(f"create type {mood} as enum ('happy', 'sad')")
        cur.execute(f"create table {t} (k serial primary key,"
                    f" data jsonb, n int, m {mood})")
        cur.execute(f"insert into {t} (data) values ({ph})", ["{}"])
        cur.execute(f"insert into {t} (n) values ({ph})", ["42"])
        cur.execute(f"insert into {t} (m) values ({ph})", ["happy"])
        # A batch whose first row is a NULL text parameter, then integers.
        cur.executemany(f"insert into {t} (n) values ({ph})", [(None,), (1,), (2,)])
        # An untyped JSON string in a prepared statement.
        for _ in range(2):
            cur.execute(f"insert into {t} (data) values ({ph})", ['{"a": [1, 2]}'],
                        prepare=True)
        cur.execute(f"select data from {t} where data is not null order by k")
        assert cur.fetchall() == [({},), ({"a": [1, 2]},), ({"a": [1, 2]},)]
        cur.execute(f"select n from {t} where n is not null order by n")
        assert cur.fetchall() == [(1,), (2,), (42,)]
        cur.execute(f"select m::text from {t} where m is not null")
        assert cur.fetchall() == [("happy",)]
        # And a plain select of a text parameter stays text.
        cur.execute(f"select {ph}, {ph}", ["hello", 10])
        assert cur.fetchone() == ("hello", 10)
        cur.execute(f"drop table {t}")
        cur.execute(f"drop type {mood}")


def test_text_params_text():
    check_text_params(psycopg.adapt.PyFormat.TEXT)


def test_text_params_binary():
    check_text_params(psycopg.adapt.PyFormat.BINARY)


def check_json_is_jsonb(binary):
    """§14.2: json is jsonb: casts, columns and pg_typeof give OID 3802,
    which psycopg.crdb loads as Python objects."""
    t = fresh_name("js")
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute("""select '{"a": 1}'::json, pg_typeof('{}'::json)::text""")
        assert cur.description[0].type_code == 3802, cur.description[0]
        assert cur.fetchone() == ({"a": 1}, "jsonb")
        cur.execute(f"create table {t} (id int primary key, j json)")
        cur.execute(f"""insert into {t} values (1, '[1, "x"]')""")
        cur.execute(f"select j, pg_typeof(j)::text from {t}")
        assert cur.description[0].type_code == 3802, cur.description[0]
        assert cur.fetchone() == ([1, "x"], "jsonb")
        cur.execute("select json_build_object('k', 2)")
        assert cur.description[0].type_code == 3802, cur.description[0]
        assert cur.fetchone() == ({"k": 2},)
        cur.execute(f"drop table {t}")


def test_json_is_jsonb_text():
    check_json_is_jsonb(False)


def test_json_is_jsonb_binary():
    check_json_is_jsonb(True)


def test_session_variables():
    """§14.3: CockroachDB-only session variables are accepted by SET, SHOW
    and RESET, with CockroachDB's initial values."""
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("show experimental_enable_temp_tables")
        assert cur.description[0].name == "experimental_enable_temp_tables"
        assert cur.fetchone() == ("off",)
        cur.execute("set experimental_enable_temp_tables = 'on'")
        cur.execute("show experimental_enable_temp_tables")
        assert cur.fetchone() == ("on",)
        cur.execute("reset experimental_enable_temp_tables")
        cur.execute("show experimental_enable_temp_tables")
        assert cur.fetchone() == ("off",)
        for name, value in [("serial_normalization", "rowid"),
                            ("default_int_size", "8"), ("vectorize", "on"),
                            ("sql_safe_updates", "off")]:
            cur.execute(f"show {name}")
            assert cur.fetchone() == (value,), name
        cur.execute("set sql_safe_updates to true")
        cur.execute("show sql_safe_updates")
        assert cur.fetchone() == ("true",)


def test_cursors_by_version():
    """§14.4: server-side cursors (DECLARE) from 22.1.0; 21.2 refuses them
    in its parser (cockroach#41412)."""
    with crdb.connect(dsn_with_version("21.2.10")) as conn:
        cur = conn.cursor("c1")
        ex = expect_error(e.FeatureNotSupported, "0A000", cur.execute, "select 1")
        assert "unimplemented: this syntax" in str(ex), str(ex)
        assert "41412" in (ex.diag.message_hint or ""), ex.diag.message_hint
    for version in ("22.1.0", "23.1.11"):
        with crdb.connect(dsn_with_version(version)) as conn:
            cur = conn.cursor("c2")
            cur.execute("select generate_series(1, 3)")
            assert cur.fetchall() == [(1,), (2,), (3,)]


def test_two_phase_commit_refused():
    """§14.4: no PREPARE TRANSACTION before 25.1. psycopg.crdb refuses
    tpc_begin itself; a plain psycopg connection's tpc_prepare meets
    CockroachDB's syntax error, and so do COMMIT/ROLLBACK PREPARED."""
    with crdb.connect(DSN) as conn:
        try:
            conn.tpc_begin(conn.xid(1, "gtrid", "bqual"))
            raise AssertionError("psycopg.crdb allowed tpc_begin")
        except e.NotSupportedError:
            pass
    conn = psycopg.connect(DSN)
    try:
        conn.tpc_begin(conn.xid(1, "gtrid", "bqual"))
        conn.execute("select 1")
        expect_error(e.SyntaxError, "42601", conn.tpc_prepare)
    finally:
        conn.close()  # closing abandons the transaction
    with crdb.connect(DSN, autocommit=True) as conn:
        expect_error(e.SyntaxError, "42601", conn.execute, "commit prepared 'x'")
        expect_error(e.SyntaxError, "42601", conn.execute, "rollback prepared 'x'")


def test_listen_notify_by_version():
    """§14.6: NOTIFY is refused on every version; LISTEN and UNLISTEN are
    refused before 22.2 and answered with notices from 22.2."""
    for version in ("21.2.10", "22.1.0"):
        with crdb.connect(dsn_with_version(version), autocommit=True) as conn:
            for stmt in ("listen x", "unlisten x", "notify x"):
                ex = expect_error(e.FeatureNotSupported, "0A000", conn.execute, stmt)
                assert "41522" in (ex.diag.message_hint or ""), ex.diag.message_hint
    with crdb.connect(DSN, autocommit=True) as conn:
        notices = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("listen x")
        conn.execute("unlisten x")
        assert notices == ["CRDB does not support LISTEN",
                           "CRDB does not support LISTEN, making UNLISTEN a no-op"], notices
        ex = expect_error(e.FeatureNotSupported, "0A000", conn.execute, "notify x")
        assert 'at or near "notify"' in str(ex), str(ex)


def check_dialect(binary):
    """§14.5: INT is INT8, SERIAL is INT8 filled by unique_rowid() (above
    2^53), STRING, BYTES, ::string, UPSERT INTO, unique_rowid(), SHOW
    TABLES."""
    t = fresh_name("dl")
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute(f"create table {t} (id serial primary key, n int,"
                    f" s string, b bytes)")
        cur.execute(f"insert into {t} (n, s, b) values (1, 'a', 'x'::bytes)"
                    f" returning id")
        (rid,) = cur.fetchone()
        assert cur.description[0].type_code == 20, cur.description[0]
        assert rid > 2**53, rid
        cur.execute(f"select n, s, b, 'z'::string from {t}")
        assert [d.type_code for d in cur.description] == [20, 25, 17, 25]
        assert cur.fetchone() == (1, "a", b"x", "z")
        cur.execute(f"upsert into {t} (id, n, s) values (%s, 2, 'b')", [rid])
        cur.execute(f"upsert into {t} (id, n, s) values (7, 3, 'c')")
        cur.execute(f"select id, n, s from {t} order by n")
        assert cur.fetchall() == [(rid, 2, "b"), (7, 3, "c")]
        cur.execute("select unique_rowid(), unique_rowid()")
        a, b = cur.fetchone()
        assert 2**53 < a < 2**63 and a != b, (a, b)
        cur.execute("show tables")
        assert [d.name for d in cur.description] == [
            "schema_name", "table_name", "type", "owner",
            "estimated_row_count", "locality"], cur.description
        assert ("public", t, "table") in [r[:3] for r in cur.fetchall()]
        cur.execute(f"drop table {t}")


def test_dialect_text():
    check_dialect(False)


def test_dialect_binary():
    check_dialect(True)


# §14.8: (column, type, CockroachDB's type size, its type modifier).
ROWDESC_COLUMNS = [
    ("b", "bool", "true", 1, -1),
    ("i2", "int2", "2", 8, -1),
    ("i4", "int4", "4", 8, -1),
    ("i8", "int8", "8", 8, -1),
    ("f4", "float4", "1.5", 8, -1),
    ("f8", "float8", "2.5", 8, -1),
    ("dec", "decimal(10,2)", "3.25", -1, ((10 << 16) | 2) + 4),
    ("s", "string", "'s'", -1, -1),
    ("vc", "varchar(5)", "'vc'", -1, 5 + 4),
    ("ch", "char(3)", "'ch'", -1, 3 + 4),
    ("qc", '"char"', "'q'", -1, -1),
    ("nm", "name", "'nm'", -1, -1),
    ("by", "bytes", "'by'", -1, -1),
    ("bt", "bit(3)", "B'101'", -1, 3),
    ("vb", "varbit", "B'1'", -1, -1),
    ("j", "jsonb", "'{}'", -1, -1),
    ("dt", "date", "'2024-01-02'", 16, -1),
    ("tm", "time(2)", "'01:02:03'", 8, -1),
    ("ttz", "timetz", "'01:02:03+01'", 16, -1),
    ("ts", "timestamp(3)", "'2024-01-02 03:04:05'", 24, -1),
    ("tstz", "timestamptz(6)", "'2024-01-02 03:04:05+00'", 24, -1),
    ("iv", "interval(3)", "'1 day'", 24, -1),
    ("u", "uuid", "gen_random_uuid()", 16, -1),
    ("ip", "inet", "'10.0.0.1'", 32, -1),
    ("o", "oid", "42", 8, -1),
    ("ia", "int4[]", "ARRAY[1]", -1, -1),
    ("tsa", "timestamp(3)[]", "ARRAY['2024-01-02'::timestamp]", -1, -1),
    ("en", "{enum}", "'a'", -1, -1),
]


def check_row_description(binary):
    """§14.8: RowDescription's type size and modifier as CockroachDB
    fills them (Go datum sizes: a date is 16, an int4 8), for every
    type of psycopg.crdb's adapter map that a column can have."""
    t = fresh_name("rd")
    en = fresh_name("rde")
    cols = [(c, ty.format(enum=en), v, size, mod)
            for c, ty, v, size, mod in ROWDESC_COLUMNS]
    with crdb.connect(DSN, autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute(f"create type {en} as enum ('a', 'b')")
        cur.execute(f"create table {t} ("
                    + ", ".join(f"{c} {ty}" for c, ty, _, _, _ in cols) + ")")
        cur.execute(f"insert into {t} values ("
                    + ", ".join(v for _, _, v, _, _ in cols) + ")")
        cur.execute(f"select * from {t}")
        got = [(d.name, d.internal_size, cur.pgresult.fmod(i))
               for i, d in enumerate(cur.description)]
        want = [(c, size if size >= 0 else None, mod)
                for c, _, _, size, mod in cols]
        assert got == want, [(g, w) for g, w in zip(got, want) if g != w]
        assert cur.fetchone() is not None
        # psycopg derives precision from the modifier: none on CockroachDB.
        assert cur.description[[c for c, *_ in cols].index("ts")].precision is None
        cur.execute("select 'pg_class'::regclass, 'int4'::regtype,"
                    " 1::int2 + 1::int2, current_date")
        assert [d.internal_size for d in cur.description] == [8, 8, 8, 16], \
            cur.description
        cur.execute(f"drop table {t}")
        cur.execute(f"drop type {en}")


def test_row_description_by_version():
    """§14.8: no type modifiers before 20.1.1, none on arrays before 20.2,
    and an 8-byte date before 19.2."""
    t = fresh_name("rdv")
    with crdb.connect(DSN, autocommit=True) as conn:
        conn.execute(f"create table {t} (vc varchar(5), va varchar(5)[],"
                     f" dt date)")
    cases = [("19.1.5", 8, -1, -1), ("20.1.0", 16, -1, -1),
             ("20.1.1", 16, 9, -1), ("20.2.0", 16, 9, 9),
             ("23.1.11", 16, 9, 9)]
    for version, date_size, vc_mod, va_mod in cases:
        with crdb.connect(dsn_with_version(version), autocommit=True) as conn:
            cur = conn.execute(f"select dt, vc, va from {t}")
            got = (cur.description[0].internal_size,
                   cur.pgresult.fmod(1), cur.pgresult.fmod(2))
            assert got == (date_size, vc_mod, va_mod), (version, got)
    with crdb.connect(DSN, autocommit=True) as conn:
        conn.execute(f"drop table {t}")


def test_row_description_text():
    check_row_description(False)


def test_row_description_binary():
    check_row_description(True)


def main():
    if not DSN:
        print("CRDB_DSN is not set: run under tests/crdbsim/crdbsim-env", file=sys.stderr)
        return 1
    tests = [test_connect_reports_crdb, test_changefeed_text, test_changefeed_binary,
             test_text_params_text, test_text_params_binary,
             test_json_is_jsonb_text, test_json_is_jsonb_binary,
             test_session_variables, test_cursors_by_version,
             test_two_phase_commit_refused, test_listen_notify_by_version,
             test_dialect_text, test_dialect_binary,
             test_row_description_text, test_row_description_binary,
             test_row_description_by_version]
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
