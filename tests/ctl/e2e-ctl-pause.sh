#!/bin/sh
# e2e-ctl-pause.sh: crdbfeedctl pause, resume, reload and tail against
# crdbsim. A paused feed reports "paused" (status, metrics, a state line to
# subscribers) and delivers nothing; rows committed meanwhile all arrive,
# each once, after the resume, which is counted as a reconnect "resume".
# A reload through crdbfeedctl adds a feed; a broken file is refused with
# its problem and changes nothing. tail --table shows only that table's
# rows and no resolved lines, --resolved adds them, ^C ends it with 0.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE ctl_pa (id INT PRIMARY KEY)"
sql "CREATE TABLE ctl_pb (id INT PRIMARY KEY)"
sql "CREATE TABLE ctl_pc (id INT PRIMARY KEY)"
conf_t() {
	cat <<EOF
control_socket = $work/control.sock
[feed t]
tables = ctl_pa, ctl_pb
start = now
[sink t-sock]
feed = t
type = unix
path = $work/t.sock
policy = block
EOF
}
conf_t | write_conf "$work/ctl.conf"
start_daemon "$work/ctl.conf"
wait_for 20 "the control socket" test -S "$work/control.sock"
subscribe "$work/t.sock" "$work/sub.out" --duration 120
wait_for 20 "streaming" has_line "$work/sub.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO ctl_pa SELECT generate_series(1, 10)"
wait_for 20 "rows 1..10" rows_at_least "$work/sub.out" 10

# --- pause
ctl_ok pause t >"$work/pause.out"
[ ! -s "$work/pause.out" ] || fail "pause printed: $(cat "$work/pause.out")"
wait_for 10 "status paused" status_has '.feeds[0] | .state == "paused" and .paused == true'
wait_for 10 "the paused state line" has_line "$work/sub.out" '.type == "state" and .state == "paused"'
ctl_ok metrics >"$work/m.paused"
expect_metric "$work/m.paused" 'crdbfeedd_feed_state{feed="t",state="paused"}' = 1
expect_metric "$work/m.paused" 'crdbfeedd_feed_state{feed="t",state="streaming"}' = 0
expect_metric "$work/m.paused" 'crdbfeedd_feed_paused{feed="t"}' = 1
sql "INSERT INTO ctl_pa SELECT generate_series(11, 30)"
# Several resolved intervals (500 ms): a live feed would have sent them.
sleep 3
[ "$(count_rows "$work/sub.out" '.key[0] > 10')" -eq 0 ] ||
	fail "rows arrived while paused: $(jq -c 'select(.type == "row" and .key[0] > 10)' "$work/sub.out" | head -3)"
status_has '.feeds[0] | .state == "paused" and .counters.rows == 10' ||
	fail "status while paused: $("$CRDBFEEDCTL" -s "$ctl_socket" status --json)"

# --- resume: everything committed meanwhile, each row once, after it
ctl_ok resume t
wait_for 30 "rows 11..30 after the resume" rows_at_least "$work/sub.out" 20 '.key[0] > 10'
jq -r 'select(.type == "row" and .key[0] > 10) | .key[0]' "$work/sub.out" | sort -n >"$work/late"
seq 11 30 | cmp -s - "$work/late" || fail "rows 11..30 not each exactly once: $(tr '\n' ' ' <"$work/late")"
jq -r 'select(.type == "row") | .key[0]' "$work/sub.out" | sort -n | uniq >"$work/all"
seq 1 30 | cmp -s - "$work/all" || fail "rows lost across the pause"
# Order: the paused line, then a streaming line, then the late rows.
jq -r 'if .type == "state" then .state elif .type == "row" and .key[0] > 10 then "late" else empty end' \
	"$work/sub.out" >"$work/order"
awk '$0 == "paused" { p = NR } $0 == "streaming" && p && !s { s = NR }
     $0 == "late" && !l { l = NR } END { exit !(p && s > p && l > s) }' "$work/order" ||
	fail "late rows not after paused -> streaming: $(tr '\n' ' ' <"$work/order")"
wait_for 20 "streaming after the resume" status_has '.feeds[0] | .state == "streaming" and .paused == false'
status_has '.feeds[0].counters.reconnects.resume == 1' ||
	fail "the resume is not counted: $("$CRDBFEEDCTL" -s "$ctl_socket" status --json)"
ctl_ok metrics >"$work/m.resumed"
expect_metric "$work/m.resumed" 'crdbfeedd_feed_reconnects_total{feed="t",reason="resume"}' = 1
expect_metric "$work/m.resumed" 'crdbfeedd_feed_paused{feed="t"}' = 0

# --- refusals
ctl_expect 1 'feed "t" is not paused' resume t
ctl_expect 5 'unknown feed "nope"' pause nope
ctl_expect 5 'unknown feed "nope"' resume nope
ctl_expect 2 'usage: crdbfeedctl pause FEED' pause
daemon_alive || fail "the daemon died"

# --- reload through crdbfeedctl: a second feed appears
{
	conf_t
	cat <<EOF
[feed u]
tables = ctl_pc
start = now
[sink u-sock]
feed = u
type = unix
path = $work/u.sock
EOF
} | write_conf "$work/ctl.conf.new"
mv "$work/ctl.conf.new" "$work/ctl.conf"
ctl_ok reload
status_has '[.feeds[].name] == ["t", "u"] and [.sinks[].name] == ["t-sock", "u-sock"]' ||
	fail "status after reload: $("$CRDBFEEDCTL" -s "$ctl_socket" status --json)"
wait_for 20 "feed u streaming" status_has '.feeds[1].state == "streaming"'
# A broken file: refused with the problem, nothing changes.
{ conf_t; echo "no_such_key = 1"; } | write_conf "$work/ctl.conf.new"
mv "$work/ctl.conf.new" "$work/ctl.conf"
ctl_expect 1 'reload failed: .*no_such_key' reload
status_has '[.feeds[].name] == ["t", "u"]' || fail "a refused reload changed the feeds"
daemon_alive || fail "the daemon died on a bad reload"

# --- tail: only ctl_pb, no resolved lines, ^C ends it
subs_before=$("$CRDBFEEDCTL" -s "$ctl_socket" status --json | jq '.sinks[0].subscribers')
"$CRDBFEEDCTL" -s "$ctl_socket" tail t --table ctl_pb >"$work/tail.out" 2>"$work/tail.err" &
tail_pid=$!
sub_pids="$sub_pids $tail_pid"
wait_for 10 "the tail subscriber" status_has ".sinks[0].subscribers == $((subs_before + 1))"
wait_for 10 "the tail's first state line" has_line "$work/tail.out" '.type == "state"'
sql "INSERT INTO ctl_pa SELECT generate_series(101, 110)"
sql "INSERT INTO ctl_pb SELECT generate_series(201, 205)"
sql "INSERT INTO ctl_pa SELECT generate_series(111, 120)"
wait_for 20 "5 ctl_pb rows in tail" rows_at_least "$work/tail.out" 5
wait_for 20 "ctl_pa rows at the other subscriber" rows_at_least "$work/sub.out" 20 '.key[0] > 100'
sleep 1
kill -INT $tail_pid
tail_rc=0
wait $tail_pid || tail_rc=$?
[ $tail_rc -eq 0 ] || fail "tail exited $tail_rc after SIGINT: $(cat "$work/tail.err")"
[ ! -s "$work/tail.err" ] || fail "tail wrote errors: $(cat "$work/tail.err")"
jq -e . "$work/tail.out" >/dev/null || fail "tail printed something that is not JSON lines"
[ "$(count_rows "$work/tail.out" '.table != "ctl_pb"')" -eq 0 ] ||
	fail "tail --table ctl_pb printed other tables: $(jq -c 'select(.type == "row" and .table != "ctl_pb")' "$work/tail.out" | head -3)"
jq -r 'select(.type == "row") | .key[0]' "$work/tail.out" | sort -n >"$work/tail.ids"
seq 201 205 | cmp -s - "$work/tail.ids" || fail "tail rows: $(tr '\n' ' ' <"$work/tail.ids")"
! has_line "$work/tail.out" '.type == "resolved"' || fail "tail printed resolved lines without --resolved"
! has_line "$work/tail.out" '.type == "subscribed"' || fail "tail printed its own acknowledgement"

# --resolved adds resolved lines; --sink picks the sink by name.
"$CRDBFEEDCTL" -s "$ctl_socket" tail t --resolved --sink t-sock >"$work/tail2.out" 2>"$work/tail2.err" &
tail_pid=$!
sub_pids="$sub_pids $tail_pid"
wait_for 20 "a resolved line in tail --resolved" has_line "$work/tail2.out" '.type == "resolved"'
kill -INT $tail_pid
wait $tail_pid || fail "tail --resolved exited $? after SIGINT: $(cat "$work/tail2.err")"

ctl_expect 5 'unknown feed "nope"' tail nope
ctl_expect 1 'feed "t" has no sink "u-sock"' tail t --sink u-sock
ctl_expect 2 'usage: crdbfeedctl tail FEED' tail

stop_daemon
pass "pause/resume without loss (20 rows each once after the resume), reload via crdbfeedctl, tail --table and --resolved"
