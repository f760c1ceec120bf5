#!/bin/sh
# e2e-nats-relay.sh: a relay (source = nats; crdbfeedd(8), BEYOND ONE
# MACHINE) end to end on Debian's nats-server (tests/nats/nats-env, one
# node) and crdbsim. Daemon A runs an ordered feed with a type = nats sink;
# daemon B, on its own state dir, relays the stream (source = nats) to a
# Unix socket. B is killed -9 while rows flow and started again; its
# subscriber reconnects with {"after": LAST_SEQ}: over both connections it
# sees every committed row once, in commit order, with B's own seq
# contiguous from 1. B's status and metrics show the consumer.
if [ -z "${NATS_URL:-}" ]; then
	exec "${top_srcdir:-$(dirname "$0")/../..}/tests/nats/nats-env" "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

CTL=$builddir/daemon/crdbfeedctl
relay_pid=
relay_log=$work/relay.log

# On failure the relay's log too (fail shows daemon A's).
trap 'rc=$?; if [ $rc -ne 0 ] && [ -f "$relay_log" ]; then echo "--- relay log (last 40 lines) ---"; tail -n 40 "$relay_log"; fi; cleanup' EXIT

relay_status() { "$CTL" -s "$work/b.sock" status --json; }
relay_stat() { relay_status | jq -r ".feeds[] | select(.name == \"r\") | $1"; }
relay_streaming() { [ "$(relay_stat .state)" = streaming ] && [ "$(relay_stat .nats.connected)" = true ]; }
start_relay() {
	"$CRDBFEEDD" -v -c "$work/b.conf" >/dev/null 2>>"$relay_log" &
	relay_pid=$!
	sub_pids="$sub_pids $relay_pid"
}
insert_rows() { # FROM TO, in transactions of 10
	_i=$1
	while [ "$_i" -le "$2" ]; do
		sql "INSERT INTO rt SELECT g, 'v' || g FROM generate_series($_i, $((_i + 9))) AS g"
		_i=$((_i + 10))
	done
}
last_seq() { jq -r 'select(.type == "row") | .seq' "$1" | tail -n 1; }

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "DROP TABLE IF EXISTS rt; CREATE TABLE rt (id INT PRIMARY KEY, v STRING)"
write_conf "$work/a.conf" <<EOF
control_socket = $work/a.sock
[feed f]
tables = rt
start = now
delivery = ordered
resolved = 200ms
[sink bus]
feed = f
type = nats
nats_url = $NATS_URL
nats_subject_prefix = e2e.relay
nats_stream = RELAY
nats_stream_create = yes
nats_max_pending = 64
EOF
# B: no dsn, no tables; its own state dir.
cat >"$work/b.conf" <<EOF
[crdbfeedd]
state_dir = $work/state-b
control_socket = $work/b.sock
log_level = debug
[feed r]
source = nats
nats_url = $NATS_URL
nats_subject_prefix = e2e.relay
nats_stream = RELAY
nats_feed = f
nats_fetch_batch = 32
nats_ack_wait = 5s
[sink local]
feed = r
path = $work/r.sock
EOF

start_daemon "$work/a.conf"
wait_for 20 "daemon A's control socket" test -S "$work/a.sock"
start_relay
wait_for 20 "the relay's control socket" test -S "$work/b.sock"
wait_for 20 "the relay consuming" relay_streaming
[ "$(relay_stat .nats.durable)" = crdbfeed_r ] || fail "durable consumer $(relay_stat .nats.durable), not crdbfeed_r"
subscribe "$work/r.sock" "$work/sub1" --request '{"after":0}' --duration 60

insert_rows 1 600 &
writer=$!
wait_for 20 "the subscriber seeing 150 rows" rows_at_least "$work/sub1" 150
kill -9 "$relay_pid"
wait "$relay_pid" 2>/dev/null || true
wait_for 10 "the first subscriber closed" sh -c "! kill -0 $last_sub_pid 2>/dev/null"
seen=$(last_seq "$work/sub1")
[ -n "$seen" ] || fail "the first subscriber got no row"
start_relay
wait_for 20 "the relay's control socket again" test -S "$work/b.sock"
subscribe "$work/r.sock" "$work/sub2" --request "{\"after\":$seen}" --duration 60
wait "$writer" || fail "the writer failed"
committed=$(sql "SELECT count(*) FROM rt")
wait_for 30 "every row after seq $seen on the second subscriber" \
	rows_at_least "$work/sub2" $((committed - seen))

# Both connections together: every committed row once, in commit order,
# seq contiguous from 1 (the first up to LAST_SEQ, the second after it).
/usr/bin/python3 - "$work/sub1" "$work/sub2" "$seen" "$committed" <<'EOP' || fail "the relay's subscribers lost, repeated or reordered rows (above)"
import json, sys
seen = int(sys.argv[3]); want = int(sys.argv[4])
rows = []
for path, keep in ((sys.argv[1], lambda s: s <= seen), (sys.argv[2], lambda s: s > seen)):
    for line in open(path):
        m = json.loads(line)
        if m.get("type") == "row" and keep(m["seq"]):
            rows.append(m)
bad = 0
ids = [m["after"]["id"] for m in rows]
for n, m in enumerate(rows, 1):
    if m["seq"] != n:
        print("seq %d where %d was due" % (m["seq"], n)); bad = 1; break
    if m["feed"] != "r" or m["table"] != "rt" or "seq" not in m:
        print("not a row of the relay's feed:", m); bad = 1; break
last = (0, 0)
for m in rows:
    w, _, l = m["updated"].partition(".")
    u = (int(w), int(l))
    if u < last:
        print("updated %s after a later one" % m["updated"]); bad = 1; break
    last = u
if len(ids) != len(set(ids)):
    print("%d rows repeated" % (len(ids) - len(set(ids)))); bad = 1
if set(ids) != set(range(1, want + 1)):
    print("%d distinct rows, %d committed" % (len(set(ids)), want)); bad = 1
print("relay: %d rows, seq 1..%d, the first connection up to %d" % (len(rows), len(rows), seen))
sys.exit(bad)
EOP
pass "relay killed -9 after seq $seen: $committed rows once each, in order, seq contiguous"

# Status and metrics of the relay after the restart.
delivered=$(relay_stat .nats.delivered)
[ "$delivered" -gt 0 ] || fail "status: no message delivered to the relay"
[ "$(relay_stat .source)" = nats ] || fail "status: source is $(relay_stat .source)"
[ "$(relay_stat .nats.malformed)" -eq 0 ] || fail "status: malformed messages"
"$CTL" -s "$work/b.sock" status >"$work/status.txt"
grep -q '^NATS RELAY' "$work/status.txt" || fail "no NATS RELAY table in crdbfeedctl status"
"$CTL" -s "$work/b.sock" metrics >"$work/metrics"
grep -q '^crdbfeedd_feed_nats_connected{feed="r"} 1' "$work/metrics" ||
	fail "metrics: crdbfeedd_feed_nats_connected of r is not 1"
grep -q '^crdbfeedd_feed_nats_delivered_total{feed="r"} [1-9]' "$work/metrics" ||
	fail "metrics: no crdbfeedd_feed_nats_delivered_total for r"
pass "relay after the restart: $delivered delivered, $(relay_stat .nats.redelivered) redelivered, $(relay_stat .nats.duplicates) duplicates dropped, $(relay_stat .nats.ignored_resolved) resolved ignored"

kill -TERM "$relay_pid"
wait "$relay_pid" || fail "the relay exited $? after SIGTERM"
relay_pid=
! grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$relay_log" ||
	fail "sanitizer report in the relay's log"
stop_daemon
pass "done"
