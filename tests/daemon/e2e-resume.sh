#!/bin/sh
# e2e-resume.sh: checkpoints. A running feed writes STATE_DIR/FEED.checkpoint
# (an HLC that only moves forward); SIGTERM exits 0 with the checkpoint
# written; rows committed while the daemon is down arrive after a restart,
# which resumes from the checkpoint (cursor, no initial scan) without loss.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE res (id INT PRIMARY KEY, v INT)"
sql "INSERT INTO res SELECT g, g FROM generate_series(1, 10) g"
mkdir -p "$work/state"
write_conf "$work/res.conf" <<EOF2
[feed res]
tables = res
start = initial_scan
[sink res-stdout]
feed = res
type = stdout
EOF2
ckpt=$work/state/res.checkpoint
hlc_re='^[0-9]+\.[0-9]{10}$'

start_daemon "$work/res.conf" "$work/run1.out"
wait_for 30 "the initial scan" rows_at_least "$work/run1.out" 10
sql "INSERT INTO res SELECT g, g FROM generate_series(11, 20) g"
wait_for 30 "rows 11..20" rows_at_least "$work/run1.out" 20
wait_for 30 "a checkpoint file" test -s "$ckpt"
first=$(cat "$ckpt")
echo "$first" | grep -Eq "$hlc_re" || fail "checkpoint is not an HLC: $first"
# It moves forward while resolved timestamps arrive.
wait_for 30 "the checkpoint to advance" sh -c "[ \"\$(cat '$ckpt')\" != '$first' ]"
stop_daemon
last=$(cat "$ckpt")
echo "$last" | grep -Eq "$hlc_re" || fail "checkpoint after SIGTERM is not an HLC: $last"
# The checkpoint is not older than the last resolved line written out.
resolved=$(jq -r 'select(.type == "resolved") | .resolved' "$work/run1.out" | tail -n 1)
[ "$(printf '%s\n%s\n' "$resolved" "$last" | sort -t. -k1,1n -k2,2n | tail -n 1)" = "$last" ] ||
	fail "checkpoint $last is older than the last resolved line $resolved"
grep -q 'stopping -> stopped' "$daemon_log" || fail "no clean stop logged"
ls "$work/state" | grep -q tmp && fail "temporary checkpoint file left behind"

# While the daemon is down.
sql "INSERT INTO res SELECT g, g FROM generate_series(21, 30) g"
sql "UPDATE res SET v = -1 WHERE id = 5"

start_daemon "$work/res.conf" "$work/run2.out"
wait_for 30 "the rows written while down" has_line "$work/run2.out" '.type == "row" and .key == [5] and .after.v == -1'
wait_for 30 "rows 21..30" rows_at_least "$work/run2.out" 10 '.key[0] > 20'
grep -q "resuming from checkpoint $last" "$daemon_log" || fail "second run did not resume from $last"
# No initial scan on resume: rows 1..4 (unchanged since) do not come again.
[ "$(count_rows "$work/run2.out" '.key[0] < 5')" -eq 0 ] || fail "resume scanned the table again"
stop_daemon
# Every id 1..30 was delivered over the two runs.
jq -r 'select(.type == "row") | .key[0]' "$work/run1.out" "$work/run2.out" | sort -n | uniq >"$work/ids"
seq 1 30 | cmp -s - "$work/ids" || fail "ids lost across the restart"
pass "checkpoint written, forward only, resumed after restart without loss"
