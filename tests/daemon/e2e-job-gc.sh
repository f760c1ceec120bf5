#!/bin/sh
# e2e-job-gc.sh: crdbfeedd down for longer than the GC window. A sinkless
# feed's cursor falls behind the GC threshold and the feed fails with
# CockroachDB's GC error; a job feed's job keeps a protected timestamp at
# its high-water mark (doc/crdb-wire.md §16.5), so its history survives and
# the feed resumes without loss. Two daemons, so that the sinkless one
# stops first and its cursor is older than the job's high-water mark.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/daemon/job-lib.sh"

job_setup "$work"
sql "DROP TABLE IF EXISTS gcj; CREATE TABLE gcj (id INT PRIMARY KEY, v STRING)"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"

write_conf "$work/sinkless.conf" <<EOF
[feed s]
tables = gcj
start = now
delivery = ordered
[sink ss]
feed = s
path = $work/s.sock
EOF
sed -i "s|^state_dir = .*|state_dir = $work/state-s|" "$work/sinkless.conf"
write_conf "$work/job.conf" <<EOF
control_socket = $work/ctl.sock
[feed j]
source = job
tables = gcj
start = now
job_poll = 500ms
$(job_keys)
[sink js]
feed = j
path = $work/j.sock
EOF

start_daemon "$work/sinkless.conf"
sinkless_pid=$daemon_pid
# cleanup stops it too when the test fails before it is stopped below.
sub_pids="$sub_pids $sinkless_pid"
wait_for 20 "the sinkless socket" test -S "$work/s.sock"
daemon_log=$work/crdbfeedd-job.log
"$CRDBFEEDD" -v -c "$work/job.conf" 2>>"$daemon_log" &
daemon_pid=$!
wait_for 20 "the job running" job_status_is running
job=$(cat "$work/state/j.job")
subscribe "$work/s.sock" "$work/s1" --duration 60
subscribe "$work/j.sock" "$work/j1" --duration 60
# Both changefeeds run (a resolved line has come) before the rows are
# written: start = now begins where each statement ran.
wait_for 30 "the sinkless feed's first resolved line" has_line "$work/s1" '.type == "resolved"'
wait_for 30 "the job feed's first resolved line" has_line "$work/j1" '.type == "resolved"'
sql "INSERT INTO gcj VALUES (1, 'a'), (2, 'b')"
wait_for 30 "both feeds' rows" sh -c "[ \$(jq -c 'select(.type == \"row\")' '$work/s1' | wc -l) -ge 2 ] && [ \$(jq -c 'select(.type == \"row\")' '$work/j1' | wc -l) -ge 2 ]"

# The sinkless daemon stops first; the job's high-water mark moves past its
# checkpoint before the job daemon stops.
kill -TERM "$sinkless_pid"
wait "$sinkless_pid" || fail "the sinkless daemon exited badly"
stopped_ms=$(($(date +%s%N) / 1000000))
hw_past_sinkless() {
	hw=$(crdbfeedctl_status | jq -r '.feeds[0].job.high_water // "0"')
	[ "${hw%%.*}" -gt "$((stopped_ms * 1000000 + 500000000))" ]
}
wait_for 30 "the job's high-water mark past the sinkless checkpoint" hw_past_sinkless
stop_daemon

# Both down: rows written, then garbage collection up to now, except what
# a protected timestamp keeps.
sql "INSERT INTO gcj VALUES (3, 'down'), (4, 'down')"
sql "UPDATE gcj SET v = 'down too' WHERE id = 1"
sleep 1
ctl "gc 0"

# The sinkless feed fails with the GC error.
start_daemon "$work/sinkless.conf"
wait_for 30 "the sinkless feed failing on GC" grep -q 'GC threshold\|garbage collect' "$daemon_log"
grep -q 'failed' "$daemon_log" || fail "the sinkless feed did not fail"
stop_daemon
pass "the sinkless feed fails: its cursor is behind the GC threshold"

# The job feed resumes from its high-water mark and loses nothing.
last=$(jq -s '[.[] | select(.type == "row") | .seq] | max' "$work/j1")
start_daemon "$work/job.conf"
subscribe "$work/j.sock" "$work/j2" --request "{\"after\":$last}" --duration 60
wait_for 30 "the rows written while down" rows_at_least "$work/j2" 3
sleep 1
[ "$(count_rows "$work/j2")" -eq 3 ] || fail "expected 3 rows after the GC, got $(count_rows "$work/j2")"
check_ordered "$work/j2" "$last"
[ "$(cat "$work/state/j.job")" = "$job" ] || fail "the job changed"
! grep 'feed j' "$daemon_log" | grep -q 'GC threshold' || fail "the job feed met the GC threshold"
stop_daemon
pass "the job feed resumes past the GC: 3 rows once, in order"
