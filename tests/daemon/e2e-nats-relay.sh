#!/bin/sh
# e2e-nats-relay.sh: a relay (source = nats; crdbfeedd(8), BEYOND ONE
# MACHINE) end to end on Debian's nats-server (tests/nats/nats-env, one
# node) and crdbsim. Daemon A runs an ordered feed with a type = nats sink;
# daemon B, on its own state dir, relays the stream (source = nats) to a
# Unix socket. B is killed -9 while rows flow and started again; its
# subscriber reconnects with {"after": LAST_SEQ}: over both connections it
# sees every committed row once, in commit order, with B's own seq
# contiguous from 1. A second relay feed of B reads a stream written by
# tests/nats/nats-publish in the format a nats sink publishes: its rows
# waiting for their resolved timestamp, acknowledged to JetStream, survive
# the kill (the hold is durable) and are released by the resolved message
# published after the restart; a malformed message is counted and passed
# over, a resolved timestamp below the highest seen is ignored. B's status
# and metrics show the consumers.
if [ -z "${NATS_URL:-}" ]; then
	exec "${top_srcdir:-$(dirname "$0")/../..}/tests/nats/nats-env" "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

CTL=$builddir/daemon/crdbfeedctl
PUBLISH=$builddir/tests/nats/nats-publish
[ -x "$PUBLISH" ] || fail "$PUBLISH is not built"
relay_pid=
relay_log=$work/relay.log

# On failure the relay's log too (fail shows daemon A's).
trap 'rc=$?; if [ $rc -ne 0 ] && [ -f "$relay_log" ]; then echo "--- relay log (last 40 lines) ---"; tail -n 40 "$relay_log"; fi; cleanup' EXIT

relay_status() { "$CTL" -s "$work/b.sock" status --json; }
relay_stat() { relay_status | jq -r ".feeds[] | select(.name == \"${2:-r}\") | $1"; }
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
# hand_held: feed h holds 10 rows, every message acknowledged, the
# malformed one counted and the stale resolved ignored: a kill now loses
# the rows unless the hold is durable.
hand_held() {
	relay_status | jq -e '.feeds[] | select(.name == "h") | .ordered.held_rows == 10 and .nats.acked == .nats.delivered and .nats.malformed == 1 and .nats.resolved_ignored == 1'
}
# hand_messages FROM TO [RESOLVED]: rows FROM..TO of feed "hand" (table ht,
# updated 1700000000000000000 + i ms) as a nats sink publishes them, then
# a resolved message at RESOLVED's updated.
hand_messages() {
	/usr/bin/python3 - "$@" <<'EOP'
import json, sys
def hlc(i): return "%d.0000000000" % (1700000000000000000 + i * 1000000)
def msg(subject, kind, seq, updated, payload, table=None):
    h = {"Nats-Msg-Id": "1-%032x" % (seq * 2 + (kind == "resolved")), "Crdb-Type": kind,
         "Crdb-Seq": str(seq), "Crdb-Updated": updated}
    if table: h["Crdb-Table"] = table
    print(json.dumps({"subject": subject, "headers": h, "payload": json.dumps(payload, separators=(",", ":"))}))
a = sys.argv[1:]
for i in range(int(a[0]), int(a[1]) + 1):
    msg("e2e.relay.hand.ht", "row", i, hlc(i), {"v": 1, "type": "row", "feed": "hand", "table": "ht",
        "key": [i], "op": "upsert", "after": {"id": i}, "updated": hlc(i), "seq": i}, "ht")
if len(a) > 2:
    r = int(a[2])
    msg("e2e.relay.hand._resolved", "resolved", r, hlc(r), {"v": 1, "type": "resolved", "feed": "hand", "resolved": hlc(r), "seq": r})
EOP
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
[feed h]
source = nats
nats_url = $NATS_URL
nats_subject_prefix = e2e.relay
nats_stream = HAND
nats_feed = hand
[sink hand]
feed = h
path = $work/h.sock
EOF
"$PUBLISH" --url "$NATS_URL" --stream HAND --subjects 'e2e.relay.hand.>' </dev/null ||
	fail "nats-publish cannot create stream HAND"

start_daemon "$work/a.conf"
wait_for 20 "daemon A's control socket" test -S "$work/a.sock"
start_relay
wait_for 20 "the relay's control socket" test -S "$work/b.sock"
wait_for 20 "the relay consuming" relay_streaming
[ "$(relay_stat .nats.durable)" = crdbfeed_r ] || fail "durable consumer $(relay_stat .nats.durable), not crdbfeed_r"
subscribe "$work/r.sock" "$work/sub1" --request '{"after":0}' --duration 60
sub1_pid=$last_sub_pid

subscribe "$work/h.sock" "$work/h1" --request '{"after":0}' --duration 60

# Feed h: rows 1..10 and their resolved timestamp, rows 11..20 without,
# a message that is no line, a resolved timestamp below the highest.
{
	hand_messages 1 10 10
	hand_messages 11 20
	printf '{"subject":"e2e.relay.hand.ht","headers":{},"payload":"not a line"}\n'
	hand_messages 5 4 5
} | "$PUBLISH" --url "$NATS_URL" || fail "nats-publish failed"
wait_for 20 "rows 1..10 of feed h released" rows_at_least "$work/h1" 10
wait_for 20 "rows 11..20 of feed h held and acknowledged" hand_held

insert_rows 1 400 &
writer=$!
wait_for 20 "the subscriber seeing 150 rows" rows_at_least "$work/sub1" 150
at_kill=$(relay_status | jq -c '.feeds[] | select(.name == "r") | {held: .ordered.held_rows, released: .ordered.released_seq, delivered: .nats.delivered, acked: .nats.acked}')
kill -9 "$relay_pid"
wait "$relay_pid" 2>/dev/null || true
wait_for 10 "the first subscriber closed" sh -c "! kill -0 $sub1_pid 2>/dev/null"
seen=$(last_seq "$work/sub1")
[ -n "$seen" ] || fail "the first subscriber got no row"
start_relay
wait_for 20 "the relay's control socket again" test -S "$work/b.sock"
subscribe "$work/r.sock" "$work/sub2" --request "{\"after\":$seen}" --duration 60
subscribe "$work/h.sock" "$work/h2" --request '{"after":10}' --duration 60
hand_messages 1 0 20 | "$PUBLISH" --url "$NATS_URL" || fail "nats-publish failed"
wait_for 20 "rows 11..20 of feed h after the restart" rows_at_least "$work/h2" 10
[ "$(jq -c 'select(.type == "row") | [.seq, .after.id]' "$work/h2" | tr -d '\n')" = \
  "$(seq 11 20 | sed 's/.*/[&,&]/' | tr -d '\n')" ] ||
	fail "feed h after the restart: $(jq -c 'select(.type == "row") | [.seq, .after.id]' "$work/h2" | tr '\n' ' ')"
pass "feed h: 10 rows held and acknowledged survived kill -9, released by the resolved published after it; 1 malformed message and 1 stale resolved passed over"
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
pass "relay killed -9 at $at_kill, after seq $seen: $committed rows once each, in order, seq contiguous"

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
pass "relay after the restart: $delivered delivered, $(relay_stat .nats.redelivered) redelivered, $(relay_stat .nats.duplicates) duplicates dropped, $(relay_stat .nats.resolved_ignored) resolved ignored"

kill -TERM "$relay_pid"
wait "$relay_pid" || fail "the relay exited $? after SIGTERM"
relay_pid=
! grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$relay_log" ||
	fail "sanitizer report in the relay's log"
stop_daemon
pass "done"
