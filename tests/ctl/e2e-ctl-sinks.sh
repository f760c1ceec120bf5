#!/bin/sh
# e2e-ctl-sinks.sh: the sink metrics against what the subscribers saw.
# A stalled subscriber on a drop sink: crdbfeedd_sink_dropped_lines_total
# equals the sum of its "missed" lines (which count resolved lines too),
# and rows + missed >= all rows. A
# stalled one on a disconnect sink: disconnects{reason="slow"} = 1; one
# that left early: disconnects{reason="other"} = 1.
# A sink whose allow-list keeps nobody out: refused_total = 1 (needs root,
# as CI runs). Status JSON carries the same figures.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

need_root "runuser to nobody"
rows=${CTL_SINK_ROWS:-5000}
sockdir=$(mktemp -d /tmp/ctl-sinks.XXXXXX)
chmod 755 "$sockdir"
trap 'rm -rf "$sockdir"; cleanup' EXIT

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE ctl_s (id INT PRIMARY KEY, pad TEXT)"
write_conf "$work/s.conf" <<EOF
control_socket = $work/control.sock
[feed s]
tables = ctl_s
start = now
[sink s-drop]
feed = s
type = unix
path = $work/drop.sock
policy = drop
buffer = 64k
[sink s-disc]
feed = s
type = unix
path = $work/disc.sock
policy = disconnect
buffer = 64k
[sink s-locked]
feed = s
type = unix
path = $sockdir/locked.sock
mode = 0666
allow_users = 0
EOF
start_daemon "$work/s.conf"
wait_for 20 "streaming" status_has '.feeds[0].state == "streaming"'

subscribe "$work/drop.sock" "$work/drop.out" --stall 10 --rcvbuf 4096 --duration 90
subscribe "$work/disc.sock" "$work/slow.out" --stall 10 --rcvbuf 4096 --duration 90
subscribe "$work/disc.sock" "$work/gone.out" --duration 0.2
timeout 10 sh -c 'cd / && exec runuser -u nobody -- "$@"' - socat -t 2 -u "UNIX-CONNECT:$sockdir/locked.sock" - >"$work/locked.out" 2>&1 || true
wait_for 10 "the early subscriber gone" sh -c "! kill -0 $last_sub_pid 2>/dev/null"

sql "INSERT INTO ctl_s SELECT g, repeat('p', 200) FROM generate_series(1, $rows) g"
wait_for 60 "all rows published" status_has ".feeds[0].counters.rows == $rows"
# The drop subscriber wakes up, drains and is told what it missed.
drop_complete() {
	_dc_got=$(count_rows "$work/drop.out")
	_dc_missed=$(jq -s '[.[] | select(.type == "missed") | .missed] | add // 0' "$work/drop.out")
	[ "$_dc_missed" -gt 0 ] && [ $((_dc_got + _dc_missed)) -ge "$rows" ]
}
wait_for 60 "rows + missed >= $rows at the drop subscriber" drop_complete
wait_for 20 "the slow subscriber disconnected" status_has \
	'.sinks[] | select(.name == "s-disc") | .disconnected_slow == 1'

ctl_ok metrics >"$work/m"
ctl_ok status --json >"$work/status.json"
missed=$(jq -s '[.[] | select(.type == "missed") | .missed] | add' "$work/drop.out")
[ "$missed" -gt 0 ] || fail "the drop subscriber missed nothing: the test did not overflow 64k"
expect_metric "$work/m" 'crdbfeedd_sink_dropped_lines_total{sink="s-drop",feed="s"}' = "$missed"
expect_metric "$work/m" 'crdbfeedd_sink_disconnects_total{sink="s-drop",feed="s",reason="slow"}' = 0
expect_metric "$work/m" 'crdbfeedd_sink_disconnects_total{sink="s-disc",feed="s",reason="slow"}' = 1
expect_metric "$work/m" 'crdbfeedd_sink_disconnects_total{sink="s-disc",feed="s",reason="other"}' = 1
expect_metric "$work/m" 'crdbfeedd_sink_subscribers{sink="s-disc",feed="s"}' = 0
expect_metric "$work/m" 'crdbfeedd_sink_subscribers{sink="s-drop",feed="s"}' = 1
expect_metric "$work/m" 'crdbfeedd_sink_accepted_total{sink="s-disc",feed="s"}' = 2
expect_metric "$work/m" 'crdbfeedd_sink_refused_total{sink="s-locked",feed="s"}' = 1
expect_metric "$work/m" 'crdbfeedd_sink_accepted_total{sink="s-locked",feed="s"}' = 0
expect_metric "$work/m" 'crdbfeedd_sink_buffer_bytes{sink="s-drop",feed="s"}' = 65536
expect_metric "$work/m" 'crdbfeedd_sink_info{sink="s-drop",feed="s",type="unix",policy="drop"}' = 1
expect_metric "$work/m" 'crdbfeedd_feed_rows_total{feed="s"}' = "$rows"
# The drop subscriber got rows + its missed lines (+ state lines).
expect_metric "$work/m" 'crdbfeedd_sink_lines_total{sink="s-drop",feed="s"}' '>=' "$(count_rows "$work/drop.out")"
jq -e --argjson missed "$missed" '
	(.sinks[] | select(.name == "s-drop") | .dropped == $missed and .buffer == 65536) and
	(.sinks[] | select(.name == "s-disc") | .disconnected_slow == 1 and
		.disconnected_other == 1 and .subscribers == 0) and
	(.sinks[] | select(.name == "s-locked") | .refused == 1 and .accepted == 0) and
	.feeds[0].subscribers == 1' "$work/status.json" >/dev/null ||
	fail "status sinks: $(jq -c .sinks "$work/status.json")"
prom_wellformed "$work/m"
stop_daemon
pass "sink metrics: $missed dropped = missed lines, 1 slow and 1 other disconnect, 1 refused"
