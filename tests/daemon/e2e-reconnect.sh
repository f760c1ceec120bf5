#!/bin/sh
# e2e-reconnect.sh: faults. After crdbsim closes every connection
# (close-all), the feed logs the reason, tells subscribers "reconnecting",
# reconnects from its checkpoint after a backoff, and rows written after
# the fault still arrive; a permanent error (rangefeeds off, §7) puts the
# feed in the failed state with the reason while the daemon keeps running;
# a second feed on a missing table fails from the start without disturbing
# the first.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE rec (id INT PRIMARY KEY)"
write_conf "$work/rec.conf" <<EOF2
[feed rec]
tables = rec
start = now
[sink rec-socket]
feed = rec
type = unix
path = $work/rec.sock
policy = block
[feed missing]
tables = no_such_table
start = now
[sink missing-socket]
feed = missing
type = unix
path = $work/missing.sock
EOF2
start_daemon "$work/rec.conf"
wait_for 20 "the socket" test -S "$work/rec.sock"
subscribe "$work/rec.sock" "$work/rec.out" --duration 60 --until-type failed
wait_for 20 "streaming" has_line "$work/rec.out" '.type == "state" and .state == "streaming"'
# A feed that fails for good does not disturb the other one.
wait_for 20 "feed missing failed" grep -q 'feed missing: .* -> failed: .*no_such_table' "$daemon_log"
sql "INSERT INTO rec SELECT generate_series(1, 5)"
wait_for 20 "rows 1..5" rows_at_least "$work/rec.out" 5
wait_for 20 "a checkpoint" test -s "$work/state/rec.checkpoint"

ctl close-all
wait_for 20 "the reconnecting line" has_line "$work/rec.out" '.type == "state" and .state == "reconnecting" and (.reason | length > 0)'
sql "INSERT INTO rec SELECT generate_series(6, 10)"
wait_for 30 "rows 6..10 after the reconnect" rows_at_least "$work/rec.out" 5 '.key[0] > 5'
grep -q 'streaming -> backoff' "$daemon_log" || fail "the fault was not logged"
[ "$(grep -c 'resolved' "$work/rec.out")" -gt 0 ] || fail "no resolved lines"
jq -r 'select(.type == "row") | .key[0]' "$work/rec.out" | sort -n | uniq >"$work/ids"
seq 1 10 | cmp -s - "$work/ids" || fail "rows lost across the reconnect"

# A permanent error: rangefeeds off, then force a reconnect.
sql "SET CLUSTER SETTING kv.rangefeed.enabled = false"
ctl close-all
wait_for 30 "the failed state" has_line "$work/rec.out" '.type == "state" and .state == "failed"'
has_line "$work/rec.out" '.type == "state" and .state == "failed" and (.reason | test("rangefeed"))' ||
	fail "failed line does not give the reason: $(grep failed "$work/rec.out")"
grep -q -- '-> failed:.*rangefeed' "$daemon_log" || fail "failure not logged with the reason"
daemon_alive || fail "the daemon exited on a permanent feed error"
# A reload retries a failed feed.
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
kill -HUP "$daemon_pid"
wait_for 30 "the feed streaming again" log_count_at_least 'starting -> streaming' 3
stop_daemon
pass "reconnect after close-all without loss, permanent error, retry on reload"
