#!/bin/sh
# e2e-notify-kill.sh: crdbfeedd killed -9 twice and restarted while
# notifications flow (through crdbsim, crdbfeed_notify, one or two per
# transaction) and two listeners reconnect on their own: a channel
# subscriber on a Unix socket sink that resumes with "after" gets every
# notification exactly once, in commit order, seqs contiguous; a psycopg
# listener on the LISTEN endpoint (no position) gets no duplicate, nothing
# out of order, and every notification committed after its last
# reconnection (those released while it was away are not kept for it, as
# on PostgreSQL).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
CLIENT="/usr/bin/python3 $srcdir/tests/daemon/notify-kill-client.py"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "python3-psycopg is needed"

crdb="$CRDB_DSN$(case $CRDB_DSN in *\?*) echo '&' ;; *) echo '?' ;; esac)options=-c%20crdbsim.version%3D24.1.0"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
psql -X -q -v ON_ERROR_STOP=1 "$crdb" -f "$srcdir/conf/notify.sql" >/dev/null 2>"$work/notify-sql.err" ||
	fail "loading conf/notify.sql through crdbsim: $(cat "$work/notify-sql.err")"
mkdir -p "$work/pg"
cat >"$work/kill.conf" <<CONF
[crdbfeedd]
dsn = $crdb
state_dir = $work/state
resolved = 200ms
backoff_initial = 100ms
backoff_max = 300ms
[feed notify]
kind = notify
[sink sock]
feed = notify
path = $work/n.sock
[sink listen]
feed = notify
type = pg
pg_dir = $work/pg
CONF
"$CRDBFEEDD" --check-config -c "$work/kill.conf" >"$work/check.out" 2>&1 ||
	fail "crdbfeedd refuses the notify feed and pg sink: $(head -n 1 "$work/check.out")"

# streams_count N: the daemon log shows N "starting -> streaming".
streams_count() {
	[ "$(grep -c 'starting -> streaming' "$daemon_log")" -ge "$1" ]
}
# listens_at_least N: the psycopg listener has sent LISTEN N times.
listens_at_least() {
	[ "$(grep -c '^listening' "$work/pg.out")" -ge "$1" ]
}
# lines_at_least FILE N
lines_at_least() {
	[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

start_daemon "$work/kill.conf"
wait_for 20 "the notify feed streaming" streams_count 1
$CLIENT socket "$work/n.sock" "$work/sock.out" 2>"$work/sock.err" &
sock_pid=$!
$CLIENT pg "host=$work/pg" "$work/pg.out" 2>"$work/pg.err" &
pg_pid=$!
sub_pids="$sub_pids $sock_pid $pg_pid"
wait_for 20 "the psycopg listener" grep -q '^listening' "$work/pg.out"

# 300 notifications, 1 or 2 per transaction, about 150/s; "PAYLOAD TIME"
# per notification once its transaction committed.
/usr/bin/python3 - "$crdb" "$work/sent" >"$work/sender.err" 2>&1 <<'PY' &
import sys, time, psycopg
n = 0
with psycopg.connect(sys.argv[1]) as conn, open(sys.argv[2], "w") as out:
    while n < 300:
        batch = [n + 1] if n % 3 else [n + 1, n + 2]
        with conn.transaction():
            for i in batch:
                conn.execute("SELECT crdbfeed_notify('k', %s)", (str(i),))
        now = time.time()
        for i in batch:
            out.write("%d %.6f\n" % (i, now))
        out.flush()
        n += len(batch)
        time.sleep(0.01)
PY
sender_pid=$!
sub_pids="$sub_pids $sender_pid"
for at in 100 200; do
	wait_for 30 "$at notifications sent" lines_at_least "$work/sent" $at
	kill -9 "$daemon_pid"
	wait "$daemon_pid" 2>/dev/null || true
	sleep 0.3
	start_daemon "$work/kill.conf"
	wait_for 30 "the notify feed streaming again" streams_count $((at / 100 + 1))
done
wait "$sender_pid" || fail "the sender: $(cat "$work/sender.err")"
# Once the listener has listened again after the last restart, "end".
wait_for 30 "the psycopg listener's third LISTEN" listens_at_least 3
psql -X -q -v ON_ERROR_STOP=1 "$crdb" -c "SELECT crdbfeed_notify('k', 'end')" >/dev/null ||
	fail "sending end"
wait_for 60 "the socket subscriber's end" grep -q ' end$' "$work/sock.out"
wait_for 60 "the psycopg listener's end" grep -q '^end ' "$work/pg.out"
wait "$sock_pid" || fail "the socket subscriber: $(cat "$work/sock.err")"
wait "$pg_pid" || fail "the psycopg listener: $(cat "$work/pg.err")"
sub_pids=

/usr/bin/python3 - "$work/sent" "$work/sock.out" "$work/pg.out" <<'PY' || fail "see above"
import sys
sent = {int(l.split()[0]): float(l.split()[1]) for l in open(sys.argv[1])}
assert sorted(sent) == list(range(1, 301)), "the sender did not send 1..300"
sock = [l.split() for l in open(sys.argv[2])]
seqs = [int(s) for s, _ in sock]
payloads = [p for _, p in sock]
if payloads != [str(i) for i in range(1, 301)] + ["end"]:
    missing = sorted(set(range(1, 301)) - {int(p) for p in payloads[:-1]})
    sys.exit("socket subscriber: %d lines, missing %s, first lines %s" % (len(payloads), missing[:10], payloads[:5]))
if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
    sys.exit("socket subscriber: seqs not contiguous: %s" % seqs)
got, last_listen = [], 0.0
for l in open(sys.argv[3]):
    what, when = l.split()
    if what == "listening":
        last_listen = float(when)
    elif what != "end":
        got.append(int(what))
if got != sorted(set(got)):
    sys.exit("psycopg listener: duplicates or out of order: %s" % got)
want = [i for i, t in sent.items() if t > last_listen]
lost = sorted(set(want) - set(got))
if lost:
    sys.exit("psycopg listener: lost %d committed after its last LISTEN: %s" % (len(lost), lost[:10]))
print("socket: 300 + end, seqs %d..%d; psycopg: %d of 300, %d after its last LISTEN"
      % (seqs[0], seqs[-1], len(got), len(want)))
PY
pass "kill -9 twice: the socket subscriber with after got all 300 once in order; the psycopg listener no duplicate, nothing lost after its last LISTEN"
