#!/bin/sh
# e2e-policies.sh: slow consumers. Three sinks on one feed, each with a
# subscriber that stops reading while many rows arrive: `block` pauses the
# feed and loses nothing (every id exactly once); `disconnect` closes the
# slow one with an error line while a fast one on the same sink gets
# everything; `drop` skips lines and then says how many it missed. The
# daemon's memory stays within a bound far below the data volume.
# Its waits add up to more than e2e-lib's default 150 s: on a loaded
# machine the whole test must not be cut short before a wait can say
# which step was slow.
: "${E2E_TIMEOUT:=400}"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

rows=${E2E_POLICY_ROWS:-30000}
# The disconnect sink's bound (1M) leaves its fast subscriber room for the
# bursts a loaded machine causes; its stalled one still overflows it.
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE pol (id INT PRIMARY KEY, pad STRING)"
write_conf "$work/pol.conf" <<EOF2
[feed pol]
tables = pol
start = now
[sink pol-block]
feed = pol
type = unix
path = $work/block.sock
policy = block
buffer = 64k
[sink pol-disconnect]
feed = pol
type = unix
path = $work/disconnect.sock
policy = disconnect
buffer = 1M
[sink pol-drop]
feed = pol
type = unix
path = $work/drop.sock
policy = drop
buffer = 64k
EOF2
start_daemon "$work/pol.conf"
wait_for 20 "the sockets" test -S "$work/drop.sock"
wait_for 20 "streaming" grep -q 'starting -> streaming' "$daemon_log"
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$daemon_pid/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$daemon_pid/status"; }
base_kb=$(rss_kb)

# Slow readers: tiny receive buffers, and stopped (SIGSTOP) from the
# moment they are connected, so that no read happens until the test says
# so, however slowly a loaded machine gets the rows going. The block one
# is let go once it has paused the whole feed; the others once the feed,
# running at full speed again, has overflowed their sinks.
stopped=
trap 'kill -CONT $stopped 2>/dev/null || true; cleanup' EXIT
subscribe_stopped() {
	subscribe "$@"
	kill -STOP "$last_sub_pid"
	stopped="$stopped $last_sub_pid"
}
subscribe_stopped "$work/block.sock" "$work/block.out" --rcvbuf 4096 --duration 100
block_pid=$last_sub_pid
subscribe_stopped "$work/disconnect.sock" "$work/slow-disc.out" --rcvbuf 4096 --duration 100
subscribe "$work/disconnect.sock" "$work/fast-disc.out" --duration 100
subscribe_stopped "$work/drop.sock" "$work/drop.out" --rcvbuf 4096 --duration 100

sql "INSERT INTO pol SELECT g, repeat('x', 80) FROM generate_series(1, $rows) g"
wait_for 60 "the block sink to pause the feed" grep -q 'pausing' "$daemon_log"
sleep 1
kill -CONT "$block_pid"
wait_for 60 "the slow subscriber's disconnect" grep -q 'sink pol-disconnect: .*closed: too slow' "$daemon_log"
wait_for 60 "the slow subscriber's drop" grep -q 'sink pol-drop: .*dropping lines' "$daemon_log"
kill -CONT $stopped
wait_for 100 "all $rows rows at the block subscriber" rows_at_least "$work/block.out" "$rows"
wait_for 20 "all rows at the fast subscriber" rows_at_least "$work/fast-disc.out" "$rows"
wait_for 40 "the drop subscriber's missed line" has_line "$work/drop.out" '.type == "missed"'
hwm=$(hwm_kb)

# block: everything, exactly once (no fault happened, so no repeats).
jq -r 'select(.type == "row") | .key[0]' "$work/block.out" | sort -n >"$work/block.ids"
seq 1 "$rows" >"$work/expected.ids"
cmp -s "$work/block.ids" "$work/expected.ids" ||
	fail "block subscriber lost or repeated rows ($(wc -l <"$work/block.ids") ids)"
grep -q 'pausing' "$daemon_log" || fail "the block sink never paused the feed"

# disconnect: the slow one was closed. What it got is the start of the
# fast one's rows, line for line, with nothing lost or changed in between;
# a final error line (crdbfeedd.conf(5): "when possible", i.e. when its
# socket has room, which a stopped reader's full socket seldom has) comes
# last and says why. The stream may end inside a line: that piece is not
# compared.
grep -q "sink pol-disconnect: subscriber pid=[0-9]* uid=[0-9]* .*closed: too slow" "$daemon_log" ||
	fail "no disconnect logged with the subscriber's identity"
[ "$(count_rows "$work/slow-disc.out")" -lt "$rows" ] || fail "the slow subscriber was not disconnected"
if [ -n "$(tail -c 1 "$work/slow-disc.out")" ]; then
	sed '$d' "$work/slow-disc.out" >"$work/slow-disc.whole"
else
	cp "$work/slow-disc.out" "$work/slow-disc.whole"
fi
if tail -n 1 "$work/slow-disc.whole" | grep -q -F '"type":"error"'; then
	tail -n 1 "$work/slow-disc.whole" |
		jq -e '.feed == "pol" and (.error | test("^too slow: [0-9]+ bytes queued"))' >/dev/null ||
		fail "the slow subscriber's error line: $(tail -n 1 "$work/slow-disc.whole")"
	sed -i '$d' "$work/slow-disc.whole"
	echo "the slow subscriber got its error line"
fi
grep -F '"type":"error"' "$work/slow-disc.whole" &&
	fail "an error line before the end of the slow subscriber's stream"
grep -F '"type":"row"' "$work/slow-disc.whole" >"$work/slow-disc.rows" || true
slow_rows=$(wc -l <"$work/slow-disc.rows")
[ "$slow_rows" -gt 0 ] || fail "the slow subscriber got no row before its disconnect"
grep -F '"type":"row"' "$work/fast-disc.out" | head -n "$slow_rows" | cmp -s - "$work/slow-disc.rows" ||
	fail "the slow subscriber's $slow_rows rows are not the fast one's first $slow_rows"
[ "$(count_rows "$work/fast-disc.out")" -eq "$rows" ] || fail "the fast subscriber of the disconnect sink lost rows"

# drop: fewer rows, and missed lines that account for the rest.
got=$(count_rows "$work/drop.out")
missed=$(jq -s '[.[] | select(.type == "missed") | .missed] | add' "$work/drop.out")
[ "$got" -lt "$rows" ] || fail "the drop subscriber dropped nothing"
[ $((got + missed)) -ge "$rows" ] || fail "drop: $got rows + $missed missed < $rows"
grep -q "sink pol-drop: subscriber pid=[0-9]* uid=[0-9]* .*dropping lines" "$daemon_log" ||
	fail "no drop logged with the subscriber's identity"

# Memory: the queues are bounded, so the daemon grew far less than the
# volume of lines (about 170 bytes each).
# Not measurable under a sanitizer (shadow memory, quarantine) or valgrind.
volume_kb=$((rows * 170 / 1024))
growth=$((hwm - base_kb))
real_bin=$CRDBFEEDD
[ -x "$(dirname "$CRDBFEEDD")/.libs/crdbfeedd" ] && real_bin=$(dirname "$CRDBFEEDD")/.libs/crdbfeedd
exe=$(basename "$(readlink "/proc/$daemon_pid/exe")")
if [ -n "${ASAN_OPTIONS:-}" ] || ldd "$real_bin" 2>/dev/null | grep -q 'libasan'; then
	echo "memory bound not checked: $CRDBFEEDD uses AddressSanitizer"
elif case $exe in *crdbfeedd) false ;; *) true ;; esac; then
	echo "memory bound not checked: the daemon runs under $exe"
else
	[ "$growth" -lt $((volume_kb / 2)) ] ||
		fail "memory grew by ${growth} kB for ${volume_kb} kB of lines: queues not bounded"
fi
stop_daemon
pass "block lost nothing, disconnect and drop as documented, growth ${growth} kB for ${volume_kb} kB"
