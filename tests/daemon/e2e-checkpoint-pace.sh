#!/bin/sh
# e2e-checkpoint-pace.sh: a stream feed writes its checkpoint file at most
# once per checkpoint_interval, however often resolved timestamps come,
# while the checkpoint in memory follows each one; a reload and the stop
# write what the file still lags.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

CRDBFEEDCTL=${CRDBFEEDCTL:-$builddir/daemon/crdbfeedctl}
[ -x "$CRDBFEEDCTL" ] || fail "$CRDBFEEDCTL is not built"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE cpp (id INT PRIMARY KEY)"
mkdir -p "$work/state"
write_conf "$work/cpp.conf" <<EOF2
control_socket = $work/ctl.sock
[feed cpp]
tables = cpp
start = now
resolved = 100ms
checkpoint_interval = 1h
[sink cpp-stdout]
feed = cpp
type = stdout
EOF2
ckpt=$work/state/cpp.checkpoint

# status FIELD: one of the feed's counters, or its cursor.
status() {
	"$CRDBFEEDCTL" -s "$work/ctl.sock" status --json >"$work/status.json" 2>/dev/null ||
		return 1
	jq -r ".feeds[0].$1" "$work/status.json"
}
resolved_at_least() {
	[ "$(status counters.resolved)" -ge "$1" ] 2>/dev/null
}
# hlc_newer A B: A is a later HLC than B.
hlc_newer() {
	[ "$1" != "$2" ] &&
		[ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n | tail -n 1)" = "$1" ]
}

start_daemon "$work/cpp.conf" "$work/cpp.out"
wait_for 30 "the first checkpoint file" test -s "$ckpt"
first=$(cat "$ckpt")
# About 20 resolved timestamps, each moving the checkpoint in memory.
wait_for 30 "20 resolved timestamps" resolved_at_least 20
writes=$(status counters.checkpoint_writes)
[ "$writes" -eq 1 ] || fail "$writes checkpoint writes within the interval, expected 1"
[ "$(cat "$ckpt")" = "$first" ] || fail "the file changed within the interval"
cursor=$(status cursor)
hlc_newer "$cursor" "$first" || fail "the checkpoint in memory ($cursor) did not pass the file's ($first)"

# A reload (the same file) writes what the file lags.
kill -HUP "$daemon_pid"
wait_for 20 "the checkpoint written at the reload" sh -c "[ \"\$(cat '$ckpt')\" != '$first' ]"
at_reload=$(cat "$ckpt")
hlc_newer "$at_reload" "$cursor" || [ "$at_reload" = "$cursor" ] ||
	fail "the file at the reload ($at_reload) is older than the cursor before it ($cursor)"
n=$(status counters.resolved)
wait_for 30 "10 more resolved timestamps" resolved_at_least $((n + 10))
[ "$(status counters.checkpoint_writes)" -eq 2 ] ||
	fail "$(status counters.checkpoint_writes) checkpoint writes, expected 2 (the first, the reload)"

# The stop writes the newest.
cursor=$(status cursor)
hlc_newer "$cursor" "$at_reload" || fail "the checkpoint in memory did not move after the reload"
stop_daemon
last=$(cat "$ckpt")
hlc_newer "$last" "$cursor" || [ "$last" = "$cursor" ] ||
	fail "the file after the stop ($last) is older than the cursor before it ($cursor)"
pass "one checkpoint write per interval; the reload and the stop write the newest"
