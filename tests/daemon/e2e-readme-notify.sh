#!/bin/sh
# e2e-readme-notify.sh: README.md's "after" LISTEN/NOTIFY programs
# ("Moving LISTEN/NOTIFY code to CockroachDB") as written: the sender
# through crdbsim (CockroachDB 24.1 emulated, conf/notify.sql loaded) with
# crdbfeed_notify, the listener on crdbfeedd's LISTEN endpoint (a notify
# feed, a sink of type pg: the configuration the README shows); it prints
# "orders: 42 shipped (from process 0)", once.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/daemon/readme-notify-lib.sh"

crdb="$CRDB_DSN$(case $CRDB_DSN in *\?*) echo '&' ;; *) echo '?' ;; esac)options=-c%20crdbsim.version%3D24.1.0"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
psql -X -q -v ON_ERROR_STOP=1 "$crdb" -f "$srcdir/conf/notify.sql" >/dev/null 2>"$work/notify-sql.err" ||
	fail "loading conf/notify.sql through crdbsim: $(cat "$work/notify-sql.err")"
psql -X -q -v ON_ERROR_STOP=1 "$crdb" \
	-c "CREATE TABLE orders (id INT PRIMARY KEY, state STRING); INSERT INTO orders VALUES (42, 'new')" ||
	fail "cannot create the orders table through crdbsim"
# The README's configuration, its socket directory moved into the test's.
mkdir -p "$work/pg"
readme_program config "$work/readme.ini"
grep -qx 'pg_dir = /run/crdbfeedd' "$work/readme.ini" || fail "the README's configuration has no pg_dir = /run/crdbfeedd"
{
	printf '[crdbfeedd]\ndsn = %s\nstate_dir = %s\n' "$crdb" "$work/state"
	sed "s|^pg_dir = /run/crdbfeedd\$|pg_dir = $work/pg|" "$work/readme.ini"
} >"$work/readme.conf"
"$CRDBFEEDD" --check-config -c "$work/readme.conf" >"$work/check.out" 2>&1 ||
	fail "crdbfeedd refuses the README's notify feed and pg sink: $(head -n 1 "$work/check.out")"
start_daemon "$work/readme.conf"
wait_for 20 "the LISTEN endpoint's socket" test -S "$work/pg/.s.PGSQL.5432"
wait_for 20 "the notify feed streaming" grep -q 'starting -> streaming' "$daemon_log"
readme_program listener-after "$work/listener.py" "host=/run/crdbfeedd" "host=$work/pg"
readme_program sender-after "$work/sender.py" "postgresql://app@crdb:26257/shop" "$crdb"
run_readme_pair "$work/listener.py" "$work/sender.py" 'orders: 42 shipped \(from process 0\)'
pass "README's after programs: crdbfeed_notify through crdbsim, conn.notifies() on crdbfeedd"
