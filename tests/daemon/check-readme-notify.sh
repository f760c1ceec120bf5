#!/bin/sh
# check-readme-notify.sh: README.md's before/after LISTEN/NOTIFY programs
# ("Moving LISTEN/NOTIFY code to CockroachDB"). The listener changes only
# its connection string, the sender its connection string and pg_notify
# for crdbfeed_notify (same arguments); the "before" pair runs as written
# against crdbsim-env's PostgreSQL and prints the line the README shows
# (with PostgreSQL's sender PID). The "after" pair runs in
# e2e-readme-notify.sh, through crdbsim and crdbfeedd.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/daemon/readme-notify-lib.sh"
[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set: run under tests/crdbsim/crdbsim-env"

# --- what changes between before and after, and nothing else
for p in listener-before listener-after sender-before sender-after; do
	readme_program "$p" "$work/$p.py"
done
diff "$work/listener-before.py" "$work/listener-after.py" | grep '^[<>]' >"$work/listener.diff" || true
printf '%s\n' '< conn = psycopg.connect("host=/run/postgresql dbname=shop", autocommit=True)' \
	'> conn = psycopg.connect("host=/run/crdbfeedd", autocommit=True)' >"$work/listener.want"
cmp -s "$work/listener.want" "$work/listener.diff" ||
	fail "the README listener changes more than its connection string: $(cat "$work/listener.diff")"
diff "$work/sender-before.py" "$work/sender-after.py" | grep '^[<>]' |
	sed 's/psycopg\.connect("[^"]*")/psycopg.connect(DSN)/; s/pg_notify(/NOTIFY(/; s/crdbfeed_notify(/NOTIFY(/' |
	cut -c3- | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ' >"$work/sender.diff"
[ "$(cat "$work/sender.diff")" = "2 2 " ] ||
	fail "the README sender changes more than its connection string and pg_notify: $(diff "$work/sender-before.py" "$work/sender-after.py")"

# --- the "before" pair on PostgreSQL
psql -X -q -v ON_ERROR_STOP=1 "$PG_DSN" \
	-c "CREATE TABLE orders (id INT PRIMARY KEY, state TEXT); INSERT INTO orders VALUES (42, 'new')" ||
	fail "cannot create the orders table in PostgreSQL"
readme_program listener-before "$work/listener.py" "host=/run/postgresql dbname=shop" "$PG_DSN"
readme_program sender-before "$work/sender.py" "host=/run/postgresql dbname=shop" "$PG_DSN"
run_readme_pair "$work/listener.py" "$work/sender.py" 'orders: 42 shipped \(from process [1-9][0-9]*\)'
[ "$(psql -X -At "$PG_DSN" -c 'SELECT state FROM orders WHERE id = 42')" = shipped ] ||
	fail "the README sender's UPDATE did not commit"
pass "README's listener and sender: before/after differ as the README says; before runs on PostgreSQL"
