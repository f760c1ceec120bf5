#!/bin/sh
# e2e-pg-sink.sh: crdbfeedd's pg sink end to end: senders call
# crdbfeed_notify through crdbsim (CockroachDB 24.1 per connection), an
# ordered feed on crdbfeed_notify releases the rows, and the sink's LISTEN
# endpoint pushes them to PostgreSQL clients: psycopg on the Unix socket
# and on TCP with SCRAM (commit order, exactly once, no rolled-back ones,
# a transaction's together and in order, UNLISTEN), psql's "Asynchronous
# notification" line, libpq through the extended protocol; a second feed's
# rows on channel "table:orders" (table_channels), a line over PostgreSQL's
# payload limit not sent but counted; the counters in status and metrics;
# allow_users on the Unix socket; a reload that changes a pg key reopens
# that sink only; TLS on a TCP address that requires it (e2e-pg-sink.py tls).
# Needs /usr/bin/python3 with psycopg 3.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

PY="/usr/bin/python3 $srcdir/tests/daemon/e2e-pg-sink.py"
DRIVER=$builddir/tests/daemon/listen-pg-driver
LIBPQ=$builddir/tests/daemon/listen-pg-libpq
[ -x "$DRIVER" ] || fail "$DRIVER is not built"
[ -x "$LIBPQ" ] || fail "$LIBPQ is not built"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "python3-psycopg is needed"
command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
. "$srcdir/tests/security/tls-lib.sh"

# Senders need CockroachDB 24.1's functions (crdbsim emulates 23.1 by
# default): crdbsim.version per connection.
case $CRDB_DSN in
*\?) SENDER_DSN="${CRDB_DSN}options=-c%20crdbsim.version%3D24.1.0" ;;
*\?*) SENDER_DSN="$CRDB_DSN&options=-c%20crdbsim.version%3D24.1.0" ;;
*) SENDER_DSN="$CRDB_DSN?options=-c%20crdbsim.version%3D24.1.0" ;;
esac

$PY setup >"$work/setup.out" 2>&1 || fail "setup: $(cat "$work/setup.out")"
"$DRIVER" --verifier alice 's3cret pw' >"$work/auth" || fail "no verifier"
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
tcp_port=$(free_port)
tls_port=$(free_port)
mkdir "$work/pki"
make_ca "$work/pki" ca
make_cert "$work/pki" server ca localhost "DNS:localhost,IP:127.0.0.1"
mkdir -p "$work/n" "$work/t" "$work/g" "$work/s"
control=$work/control.sock
write_conf "$work/c.conf" <<CONF
control_socket = $control

[feed n]
kind = notify

[feed t]
tables = orders

[sink listen]
feed = n
type = pg
pg_dir = $work/n
pg_port = 5433
pg_tcp = 127.0.0.1:$tcp_port
pg_auth_file = $work/auth

[sink tls]
feed = n
type = pg
pg_dir = $work/s
pg_tcp = 127.0.0.1:$tls_port
pg_auth_file = $work/auth
pg_tls_cert = $work/pki/server.crt
pg_tls_key = $work/pki/server.key
pg_tls_require = yes

[sink tables]
feed = t
type = pg
pg_dir = $work/t
table_channels = yes

[sink guarded]
feed = t
type = pg
pg_dir = $work/g
allow_users = 65533
table_channels = yes
CONF
start_daemon "$work/c.conf"
wait_for 10 "the Unix socket" test -S "$work/n/.s.PGSQL.5433"
wait_for 10 "the table sink's socket" test -S "$work/t/.s.PGSQL.5432"

# control CMD: the control socket's answer.
control() {
	printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$control"
}
# pg_stat SINK FIELD: a field of the sink's "pg" status object.
pg_stat() {
	control status | jq -r ".sinks[] | select(.name == \"$1\") | .pg.$2"
}
stat_is() {
	[ "$(pg_stat "$1" "$2")" = "$3" ]
}

# 1. psycopg, Unix socket and TCP.
$PY notify "$work/n" 5433 "$tcp_port" 's3cret pw' >"$work/notify.out" 2>&1 ||
	fail "psycopg: $(cat "$work/notify.out")"

# 1b. TLS: verify-full, require, disable refused; 'N' on the Unix socket.
$PY tls "$tls_port" 's3cret pw' "$work/pki/ca.crt" "$work/s" 5432 >"$work/tls.out" 2>&1 ||
	fail "TLS: $(cat "$work/tls.out")"

# 2. psql on the Unix socket: the line comes with the next statement.
wait_for 10 "psycopg's sessions gone" stat_is listen listeners 0
sent=$(pg_stat listen notifications)
(
	echo 'LISTEN a;'
	wait_for 10 "psql's LISTEN" stat_is listen channels 1
	psql -X -q -At -v ON_ERROR_STOP=1 "$SENDER_DSN" \
		-c "SELECT crdbfeed_notify('a', 'x')" >/dev/null
	wait_for 10 "the notification to psql" stat_is listen notifications $((sent + 1))
	echo 'SELECT 1;'
) | psql -X -q -At "host=$work/n port=5433 user=app dbname=any" >"$work/psql.out" 2>&1 ||
	fail "psql: $(cat "$work/psql.out")"
grep -q '^Asynchronous notification "a" with payload "x" received from server process' \
	"$work/psql.out" || fail "psql printed: $(cat "$work/psql.out")"

# 3. libpq: LISTEN through the extended protocol, PQnotifies.
wait_for 10 "psql's session gone" stat_is listen listeners 0
"$LIBPQ" "host=$work/n port=5433 user=app dbname=any" ext 2 >"$work/libpq.out" 2>&1 &
libpq_pid=$!
sub_pids="$sub_pids $libpq_pid"
wait_for 10 "libpq listening" grep -q '^listening' "$work/libpq.out"
psql -X -q -At -v ON_ERROR_STOP=1 "$SENDER_DSN" \
	-c "BEGIN; SELECT crdbfeed_notify('ext', 'one'); SELECT crdbfeed_notify('ext', 'two'); COMMIT" >/dev/null
wait "$libpq_pid" || fail "libpq: $(cat "$work/libpq.out")"
printf 'listening\nnotify ext one 0\nnotify ext two 0\n' >"$work/libpq.want"
cmp -s "$work/libpq.want" "$work/libpq.out" || fail "libpq got: $(cat "$work/libpq.out")"

# 4. table_channels: rows as JSON on table:orders; a long line refused.
$PY tables "$work/t" 5432 >"$work/tables.out" 2>&1 || fail "tables: $(cat "$work/tables.out")"
[ "$(pg_stat tables too_large)" = 2 ] || fail "too_large is $(pg_stat tables too_large), not 2"
# Logged with its feed and table, once a minute at most: one line for two.
[ "$(grep -c 'sink tables: feed t table orders: a line of [0-9]* bytes' "$daemon_log")" = 1 ] ||
	fail "not one log line for the refused rows: $(grep 'feed t table orders' "$daemon_log")"

# 5. allow_users reaches the endpoint: a peer not listed is refused.
[ "$(id -u)" != 65533 ] || fail "run as another uid than 65533"
! psql -X -At "host=$work/g port=5432 user=app dbname=any" -c 'SELECT 1' >"$work/peer.out" 2>&1 ||
	fail "a peer not in allow_users got in"
[ "$(pg_stat guarded refused.peer)" = 1 ] || fail "refused.peer is $(pg_stat guarded refused.peer): $(cat "$work/peer.out")"

# 6. The counters: status and metrics.
[ "$(pg_stat listen refused.auth)" = 0 ] || fail "auth failures counted: $(pg_stat listen refused.auth)"
[ "$(pg_stat listen notifications)" -ge 21 ] || fail "notifications: $(pg_stat listen notifications)"
"$builddir/daemon/crdbfeedctl" -s "$control" status >"$work/status.txt" ||
	fail "crdbfeedctl status failed"
grep -qE '^tables +0 +0 +4 +0/0/0 +0 +2 +0$' "$work/status.txt" ||
	fail "crdbfeedctl status: $(cat "$work/status.txt")"
control metrics >"$work/metrics" || fail "no metrics"
grep -q '^crdbfeedd_sink_pg_too_large_total{sink="tables",feed="t"} 2$' "$work/metrics" ||
	fail "metrics: $(grep pg_ "$work/metrics")"
grep -q '^crdbfeedd_sink_pg_listeners{sink="listen",feed="n"} ' "$work/metrics" ||
	fail "metrics: no pg_listeners"

# 7. A reload that changes a pg key reopens that sink (its sessions are
# closed; clients connect again), and keeps the other.
psql -X -q -At "host=$work/t port=5432 user=app dbname=any" \
	-c 'SELECT 1' >/dev/null 2>&1 || fail "the table sink does not answer"
sed -i 's/^table_channels = yes$/table_channels = yes\npg_max_channels = 5/' "$work/c.conf"
kill -HUP "$daemon_pid"
wait_for 10 "the table sink reopened" log_count_at_least 'sink tables changed: reopening' 1
! grep -q 'sink listen changed' "$daemon_log" || fail "the unchanged pg sink was reopened"
wait_for 10 "the reopened table sink" psql -X -q -At "host=$work/t port=5432 user=app dbname=any" -c 'SELECT 1'
[ "$(pg_stat tables too_large)" = 0 ] || fail "the reopened sink kept its counters"

stop_daemon
[ ! -e "$work/n/.s.PGSQL.5433" ] || fail "the socket file is left after shutdown"
pass "pg sink: psycopg (Unix, SCRAM, TLS), psql, libpq, table channels"
