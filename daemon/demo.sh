#!/bin/sh
# demo.sh: `make demo`. Run under tests/crdbsim/crdbsim-env (which exports
# CRDB_DSN and CRDBSIM_ENV_DIR): creates table demo in crdbsim, turns
# rangefeeds on, starts crdbfeedd with conf/demo.conf (stdout sink), makes a
# few inserts, upserts, updates and deletes, shows the events for a few
# seconds, and stops the daemon with SIGTERM. The SQL is CockroachDB's
# (SERIAL keys are 64-bit unique_rowid() values, STRING, UPSERT).
set -eu

: "${CRDB_DSN:?demo.sh: run me under tests/crdbsim/crdbsim-env}"
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
crdbfeedd=${CRDBFEEDD:-$builddir/daemon/crdbfeedd}
conf=$srcdir/conf/demo.conf

sql() {
	psql -X -q -v ON_ERROR_STOP=1 "$CRDB_DSN" -c "$1" >/dev/null
}

echo "== crdbsim at $CRDB_DSN: creating table demo" >&2
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE IF NOT EXISTS demo (id SERIAL PRIMARY KEY, item STRING UNIQUE, qty INT)"
sql "INSERT INTO demo (item, qty) VALUES ('apples', 3)"

echo "== starting crdbfeedd -c $conf (events below, logs on stderr)" >&2
"$crdbfeedd" -c "$conf" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
sleep 2

echo "== writing: insert, upsert, update, delete" >&2
sql "INSERT INTO demo (item, qty) VALUES ('pears', 5), ('plums', 7)"
sleep 0.5
sql "UPSERT INTO demo (id, item, qty) VALUES (1, 'figs', 2)"
sleep 0.5
sql "UPSERT INTO demo (id, item, qty) VALUES (1, 'figs', 4)"
sleep 0.5
sql "UPDATE demo SET qty = qty + 1 WHERE item = 'pears'"
sleep 0.5
sql "DELETE FROM demo WHERE item = 'plums'"
sleep 3

echo "== stopping crdbfeedd (SIGTERM)" >&2
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
trap - EXIT
echo "== crdbfeedd exited $rc" >&2
exit "$rc"
