#!/bin/sh
# e2e-ordered-checkpoint.sh: an ordered feed's checkpoint (the status
# cursor) moves when a large window's last chunk commits, from the event
# loop, not one resolved timestamp later: once the resolved line closing a
# window of 3,000 rows (released in chunks) is out, the status shows that
# resolved timestamp or a newer one, while the next resolved timestamp is
# still 5 s away.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

CRDBFEEDCTL=${CRDBFEEDCTL:-$builddir/daemon/crdbfeedctl}
[ -x "$CRDBFEEDCTL" ] || fail "$CRDBFEEDCTL is not built"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE oc (id INT PRIMARY KEY)"
mkdir -p "$work/state"
write_conf "$work/oc.conf" <<EOF2
control_socket = $work/ctl.sock
[feed oc]
tables = oc
start = now
delivery = ordered
resolved = 5s
[sink oc-stdout]
feed = oc
type = stdout
EOF2

# hlc_not_older A B: A is B or a later HLC.
hlc_not_older() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n | tail -n 1)" = "$1" ]
}
window_closed() {
	has_line "$work/oc.out" '.type == "resolved" and .seq == 3000'
}

start_daemon "$work/oc.conf" "$work/oc.out"
wait_for 30 "the feed streaming" grep -q 'feed oc: starting -> streaming' "$daemon_log"
sql "INSERT INTO oc SELECT g FROM generate_series(1, 3000) g"
wait_for 30 "the window's resolved line" window_closed
want=$(jq -r 'select(.type == "resolved" and .seq == 3000) | .resolved' "$work/oc.out" | head -n 1)
"$CRDBFEEDCTL" -s "$work/ctl.sock" status --json >"$work/status.json" ||
	fail "crdbfeedctl status failed"
cursor=$(jq -r '.feeds[0].cursor' "$work/status.json")
[ "$(count_rows "$work/oc.out")" -eq 3000 ] || fail "$(count_rows "$work/oc.out") rows, expected 3000"
hlc_not_older "$cursor" "$want" ||
	fail "the status cursor $cursor is older than the window's resolved line $want"
stop_daemon
pass "the checkpoint moved with the window's last chunk"
