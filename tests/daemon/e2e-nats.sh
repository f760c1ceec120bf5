#!/bin/sh
# e2e-nats.sh: a type = nats sink end to end (crdbfeedd(8), BEYOND ONE
# MACHINE) on Debian's nats-server (tests/nats/nats-env, one node) and
# crdbsim: an ordered feed's rows reach a JetStream stream the sink creates,
# each row once, in commit order (Crdb-Seq contiguous, updated never going
# back), on subjects PREFIX.FEED.TABLE with the Nats-Msg-Id, Crdb-Seq,
# Crdb-Updated and Crdb-Table headers, and resolved messages on
# PREFIX.FEED._resolved; with nats-server down when the daemon starts, down
# again mid-stream, and crdbfeedd killed -9 while it publishes, the stream
# still holds every committed row exactly once, in order. A sink with a CA
# that did not sign the server's certificate and one with a wrong token
# fail with one clear line in crdbfeedctl status and the log, and the
# token never appears in either.
if [ -z "${NATS_URL:-}" ]; then
	exec "${top_srcdir:-$(dirname "$0")/../..}/tests/nats/nats-env" "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0))s"; }
CONSUME=$builddir/tests/nats/nats-consume
CTL=$builddir/daemon/crdbfeedctl
[ -x "$CONSUME" ] || fail "$CONSUME is not built"
command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
node_pid() { cat "$NATS_ENV_DIR/node-1.pid"; }

status() { "$CTL" -s "$work/ctl.sock" status --json; }
# nats_stat SINK FIELD: the sink's nats.FIELD in status.
nats_stat() {
	status | jq -r --arg s "$1" ".sinks[] | select(.name == \$s) | .nats.$2"
}
nats_stat_is() { [ "$(nats_stat "$1" "$2")" = "$3" ]; }
nats_stat_at_least() { [ "$(nats_stat "$1" "$2")" -ge "$3" ]; }
released_seq() { status | jq -r '.feeds[] | select(.name == "f") | .ordered.released_seq'; }
journal_oldest() { status | jq -r '.feeds[] | select(.name == "f") | .ordered.journal.oldest_seq'; }
# acked_all: the bus sink has every released row acknowledged.
acked_all() {
	_r=$(released_seq)
	[ "$_r" -gt 0 ] && [ "$(nats_stat bus acked_seq)" -ge "$_r" ]
}
feed_streaming() { [ "$(status | jq -r '.feeds[] | select(.name == "f") | .state')" = streaming ]; }
released_at_least() { [ "$(released_seq)" -ge "$1" ]; }
# nats_error_matches SINK REGEX: the sink's status error matches (jq test, case-insensitive).
nats_error_matches() {
	status | jq -e --arg s "$1" --arg re "$2" '.sinks[] | select(.name == $s) | .nats.error // "" | test($re; "i")'
}
# start_node: nats-server again from its config, not our child (nats-env
# stops it through its pid file).
start_node() { ("$NATS_SERVER" -c "$NATS_ENV_DIR/node-1.conf" >/dev/null 2>&1 &); }
rows_committed() { sql "SELECT count(*) FROM nt"; }
# insert_rows FROM TO: transactions of 10 rows, 20 ms apart, on one session.
insert_rows() {
	/usr/bin/python3 -c '
import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
for i in range(a, b + 1, 10):
    print("INSERT INTO nt SELECT g, %s || g FROM generate_series(%d, %d) AS g;" % ("\x27v\x27", i, min(i + 9, b)))
    print("SELECT pg_sleep(0.02);")
' "$1" "$2" | psql -X -q -At -v ON_ERROR_STOP=1 "$CRDB_DSN" >/dev/null
}

# A second nats-server with TLS and a token, for the sinks that must fail.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=e2e-ca \
	-keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null || fail "openssl: the CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=other-ca \
	-keyout "$work/other.key" -out "$work/other.pem" 2>/dev/null || fail "openssl: the other CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
	-keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null || fail "openssl: the server key"
printf 'subjectAltName = IP:127.0.0.1\n' >"$work/srv.ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
	-CAcreateserial -days 2 -extfile "$work/srv.ext" -out "$work/srv.pem" 2>/dev/null ||
	fail "openssl: the server certificate"
tls_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/tls.conf" <<EOF
listen: 127.0.0.1:$tls_port
tls { cert_file: "$work/srv.pem", key_file: "$work/srv.key" }
authorization { token: "right-token-8e1f" }
EOF
"$NATS_SERVER" -c "$work/tls.conf" >"$work/tls-server.log" 2>&1 &
tls_pid=$!
trap 'kill $tls_pid 2>/dev/null || true; cleanup' EXIT
printf 'right-token-8e1f\n' >"$work/right.token"
printf 'wrong-token-77c2\n' >"$work/wrong.token"
chmod 600 "$work/right.token" "$work/wrong.token"

sql "DROP TABLE IF EXISTS nt; CREATE TABLE nt (id INT PRIMARY KEY, v STRING)"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
write_conf "$work/nats.conf" <<EOF
control_socket = $work/ctl.sock
[feed f]
tables = nt
start = now
delivery = ordered
resolved = 200ms
journal_retention = 1s
[feed g]
tables = nt
start = now
delivery = ordered
resolved = 200ms
[sink bus]
feed = f
type = nats
nats_url = $NATS_URL
nats_subject_prefix = e2e.cdc
nats_stream = E2E
nats_stream_create = yes
nats_max_pending = 64
nats_ack_timeout = 1s
nats_connect_timeout = 500ms
[sink badca]
feed = g
type = nats
nats_url = tls://ops:url-secret-5d1a@127.0.0.1:$tls_port
nats_tls_ca = $work/other.pem
nats_token_file = $work/right.token
nats_stream = BADCA
nats_stream_create = yes
[sink badtoken]
feed = g
type = nats
nats_url = tls://127.0.0.1:$tls_port
nats_tls_ca = $work/ca.pem
nats_token_file = $work/wrong.token
nats_stream = BADTOKEN
nats_stream_create = yes
EOF

# NATS down at start: the feed journals, the sink waits.
kill -9 "$(node_pid)"
start_daemon "$work/nats.conf"
wait_for 20 "the control socket" test -S "$work/ctl.sock"
wait_for 20 "the feed streaming" feed_streaming
insert_rows 1 200
wait_for 20 "200 rows released" released_at_least 200
nats_stat_is bus connected false || fail "the bus sink is connected with nats-server down"
[ "$(nats_stat bus acked_seq)" -eq 0 ] || fail "rows acknowledged with nats-server down"
start_node
wait_for 20 "the rows published once nats-server is up" acked_all
pass "nats-server down at start: 200 rows journaled, published once it came up [at $(elapsed)]"

# crdbfeedd killed -9 while it publishes, then restarted.
insert_rows 201 1000 &
writer=$!
wait_for 20 "publishing under way" nats_stat_at_least bus acked_seq 400
acked_at_kill=$(nats_stat bus acked_seq)
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=
killed_at=$(cat "$work/state/bus.nats" 2>/dev/null || echo none)
start_daemon "$work/nats.conf"
wait "$writer" || fail "the writer failed"
wait_for 20 "the control socket again" test -S "$work/ctl.sock"
wait_for 30 "1000 rows published after the restart" nats_stat_at_least bus acked_seq 1000
pass "crdbfeedd killed -9 with seq $acked_at_kill acknowledged, saved position '$killed_at': resumed, $(nats_stat bus skipped) lines skipped by the high-water mark, $(nats_stat bus duplicates) duplicates dropped by the stream [at $(elapsed)]"

# nats-server stopped mid-stream for longer than the journal's retention
# pass (every 10 s; journal_retention = 1s): the rows not acknowledged are
# kept for the sink.
insert_rows 1001 1300 &
writer=$!
wait_for 20 "publishing under way" nats_stat_at_least bus acked_seq 1050
kill -9 "$(node_pid)"
sleep 11
oldest=$(journal_oldest)
[ "$oldest" != null ] || oldest=$(($(released_seq) + 1)) # all trimmed
saved=$(cut -d' ' -f2 "$work/state/bus.nats")
[ "$oldest" -gt 1 ] || fail "the journal's retention never ran (oldest seq $oldest)"
[ "$oldest" -le $((saved + 1)) ] ||
	fail "retention dropped rows after the sink's saved position $saved (oldest kept $oldest)"
nats_stat_is bus connected false || fail "the bus sink still says connected with nats-server down"
start_node
wait "$writer" || fail "the writer failed"
wait_for 20 "1300 rows released" released_at_least 1300
wait_for 30 "1300 rows published after the outage" acked_all
pass "nats-server down 11 s mid-stream: reconnected ($(nats_stat bus reconnects) reconnects) [at $(elapsed)]"

# The sinks that cannot connect say why, in one line, without the token.
wait_for 20 "the bad CA's error in status" nats_error_matches badca 'certificate|verify|tls'
wait_for 20 "the wrong token's error in status" nats_error_matches badtoken 'authori'
for s in badca badtoken; do
	err=$(nats_stat $s error)
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "$s: the error is not one line: $err"
	nats_stat_is $s connected false || fail "$s says connected"
	grep -q "sink $s.*NATS: " "$daemon_log" || fail "$s: the error is not logged"
done
"$CTL" -s "$work/ctl.sock" status >"$work/status.txt"
"$CTL" -s "$work/ctl.sock" status --json >>"$work/status.txt"
grep -q '^NATS SINK' "$work/status.txt" || fail "no NATS SINK table in crdbfeedctl status"
! grep -q 'token-8e1f\|token-77c2' "$daemon_log" "$work/status.txt" ||
	fail "a token appears in the log or status"
! grep -q 'url-secret-5d1a' "$daemon_log" "$work/status.txt" ||
	fail "the password of a nats_url appears in the log or status"
"$CTL" -s "$work/ctl.sock" metrics >"$work/metrics"
grep -q '^crdbfeedd_sink_nats_acked_seq{sink="bus",feed="f"} ' "$work/metrics" ||
	fail "metrics: no crdbfeedd_sink_nats_acked_seq for bus"
grep -q '^crdbfeedd_sink_nats_connected{sink="badca",feed="g"} 0' "$work/metrics" ||
	fail "metrics: badca not 0 in crdbfeedd_sink_nats_connected"
pass "bad CA: $(nats_stat badca error); wrong token: $(nats_stat badtoken error) [at $(elapsed)]"

# The stream: every committed row once, in commit order, with its headers.
# Stopped first: an idle feed goes on publishing resolved timestamps.
committed=$(rows_committed)
stop_daemon
kill "$tls_pid" 2>/dev/null || true
"$CONSUME" --url "$NATS_URL" --stream E2E --idle-exit 1 --timeout 20 >"$work/stream" ||
	fail "nats-consume failed"
/usr/bin/python3 - "$work/stream" "$committed" <<'EOP' || fail "the stream is not every row once, in order (above)"
import json, sys
rows = 0; resolved = 0; seq = 0; last = (0, 0); ids = set(); bad = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    h = m["headers"]; p = json.loads(m["payload"])
    if m["subject"] == "e2e.cdc.f._resolved":
        resolved += 1
        if h.get("Crdb-Type") != "resolved" or "Nats-Msg-Id" not in h:
            print("resolved message without its headers:", m); bad = 1
        continue
    if m["subject"] != "e2e.cdc.f.nt":
        print("unexpected subject", m["subject"]); bad = 1; continue
    rows += 1
    for k in ("Nats-Msg-Id", "Crdb-Seq", "Crdb-Updated", "Crdb-Table"):
        if k not in h:
            print("row without", k, m); bad = 1
    if h.get("Crdb-Table") != "nt" or h.get("Crdb-Type") != "row":
        print("row headers", h); bad = 1
    if int(h["Crdb-Seq"]) != p["seq"] or h["Crdb-Updated"] != p["updated"]:
        print("headers disagree with the payload", h, p); bad = 1
    seq += 1
    if p["seq"] != seq:
        print("seq %d where %d was due (stream seq %d)" % (p["seq"], seq, m["stream_seq"])); bad = 1; seq = p["seq"]
    w, _, l = p["updated"].partition(".")
    u = (int(w), int(l or 0))
    if u < last:
        print("updated %s after a later one" % p["updated"]); bad = 1
    last = u
    i = p["after"]["id"]
    if i in ids:
        print("duplicate row id", i); bad = 1
    ids.add(i)
want = int(sys.argv[2])
if rows != want or ids != set(range(1, want + 1)):
    print("stream has %d rows (%d distinct ids), %d committed" % (rows, len(ids), want)); bad = 1
if resolved == 0:
    print("no resolved message"); bad = 1
print("stream: %d rows, %d resolved messages" % (rows, resolved))
sys.exit(bad)
EOP
pass "stream E2E: $committed committed rows once each, in commit order, with subjects and headers [at $(elapsed)]"

pass "done [at $(elapsed)]"
