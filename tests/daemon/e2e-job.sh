#!/bin/sh
# e2e-job.sh: a job feed (source = job) end to end on crdbsim's changefeed
# jobs (doc/crdb-wire.md §16): crdbfeedd creates the job, its K nodes post
# to the HTTPS endpoint, subscribers get every row once, in commit order,
# with contiguous seqs; a restart finds the same job (no second one); bad
# requests are refused with the right status and leave nothing behind;
# pause/resume act on the job; job_id = adopts an existing job.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/daemon/job-lib.sh"

job_setup "$work"
sql "DROP TABLE IF EXISTS jt; CREATE TABLE jt (id INT PRIMARY KEY, v STRING, n DECIMAL)"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"

write_conf "$work/job.conf" <<EOF
control_socket = $work/ctl.sock
[feed j]
source = job
tables = jt
start = now
job_poll = 500ms
$(job_keys)
[sink js]
feed = j
path = $work/j.sock
EOF
start_daemon "$work/job.conf"
wait_for 20 "the socket" test -S "$work/j.sock"
wait_for 20 "the job created" test -s "$work/state/j.job"
job=$(cat "$work/state/j.job")
[ "$(jobs_count)" -eq 1 ] || fail "expected one job in SHOW CHANGEFEED JOBS, saw $(jobs_count)"
wait_for 20 "the job running in status" job_status_is running
subscribe "$work/j.sock" "$work/sub1" --duration 60
# The job's changefeed runs (a resolved timestamp was posted) before the
# rows are written.
wait_for 30 "the job's first resolved line" has_line "$work/sub1" '.type == "resolved"'

# Several transactions of several rows: out of order across nodes, in
# order for subscribers. 12345678901234567890.000 must keep its digits.
i=0
while [ $i -lt 20 ]; do
	sql "BEGIN; INSERT INTO jt VALUES ($((i * 3 + 1)), 'a', 12345678901234567890.000), ($((i * 3 + 2)), 'b', 1.5), ($((i * 3 + 3)), 'c', 0); COMMIT"
	i=$((i + 1))
done
sql "UPDATE jt SET v = 'u' WHERE id <= 6"
sql "DELETE FROM jt WHERE id = 60"
wait_for 30 "67 rows" rows_at_least "$work/sub1" 67
sleep 1
[ "$(count_rows "$work/sub1")" -eq 67 ] || fail "expected 67 rows, got $(count_rows "$work/sub1")"
check_ordered "$work/sub1"
grep -q '"n":12345678901234567890.000' "$work/sub1" || fail "a DECIMAL lost its digits: $(grep -m1 '"id":1,' "$work/sub1")"
has_line "$work/sub1" '.type == "state" and .source == "job"' || fail "no state line with source job"
metric() {
	"$builddir/daemon/crdbfeedctl" -s "$work/ctl.sock" metrics |
		awk -v m="$1{feed=\"j\"}" '$1 == m { print $2 }'
}
[ "$(metric crdbfeedd_feed_ingest_rows_total)" -ge 67 ] || fail "ingest rows metric: $(metric crdbfeedd_feed_ingest_rows_total)"
[ "$(metric crdbfeedd_feed_job_running)" = 1 ] || fail "job running metric: $(metric crdbfeedd_feed_job_running)"
[ -n "$(metric crdbfeedd_feed_job_high_water_seconds)" ] || fail "no job high-water metric"
pass "67 rows once, in commit order, from the job's nodes"

# Refusals: nothing of a refused body is kept.
held_before=$(crdbfeedctl_status | jq '.feeds[0].ordered.held_rows')
post 401 "wrong token" '{"payload":[],"length":0}'
post_raw 400 '{"payload":[{"after":{"id":999},"key":[999],"topic":"jt","updated":"1.0000000000"},{"after":{"id":998},"key":"not an array","topic":"jt","updated":"1.0000000000"}],"length":2}'
post_raw 400 '{"payload":[{"after":{"id":999},"key":[999],"topic":"jt","updated":"1.0000000000"}'
post_raw 400 '{"payload":[{"after":{"id":999},"key":[999],"topic":"jt","updated":"1.0000000000"}],"length":5}'
# A batch the parser takes whose second row the feed refuses (no
# updated): the first row must not be held either.
post_raw 400 '{"payload":[{"after":{"id":997},"key":[997],"topic":"jt","updated":"4000000000000000000.0000000000"},{"after":{"id":996},"key":[996],"topic":"jt"}],"length":2}'
post_big 413
post_path 404
held_after=$(crdbfeedctl_status | jq '.feeds[0].ordered.held_rows')
[ "$held_before" = "$held_after" ] || fail "a refused body left rows in the hold ($held_before -> $held_after)"
! grep -q '"id":99[6-9]' "$work/sub1" || fail "a refused row reached a subscriber"
log_count_at_least 'payload\[1\]' 1 || fail "the bad key's refusal is not logged with where it is"
[ "$(crdbfeedctl_status | jq '.feeds[0].job.ingest.answered_4xx')" -ge 5 ] || fail "4xx answers not counted"
[ "$(crdbfeedctl_status | jq '.feeds[0].job.ingest.unauthorized')" -ge 1 ] || fail "the wrong token not counted"
pass "bad token 401, bad key/truncated/length 400, oversize 413, wrong path 404; nothing kept"

# A restart finds the same job; rows written while the daemon is down
# arrive after it.
stop_daemon
sql "INSERT INTO jt VALUES (100, 'down', 1), (101, 'down', 2)"
start_daemon "$work/job.conf"
wait_for 20 "the job running again" job_status_is running
[ "$(cat "$work/state/j.job")" = "$job" ] || fail "the job id changed across a restart"
[ "$(jobs_count)" -eq 1 ] || fail "a restart created a second job ($(jobs_count))"
last=$(jq -s '[.[] | select(.type == "row") | .seq] | max' "$work/sub1")
subscribe "$work/j.sock" "$work/sub2" --request "{\"after\":$last}" --duration 30
sql "INSERT INTO jt VALUES (102, 'after', 3)"
wait_for 30 "the rows written while down" rows_at_least "$work/sub2" 3
sleep 1
[ "$(count_rows "$work/sub2")" -eq 3 ] || fail "expected 3 new rows after the restart, got $(count_rows "$work/sub2")"
check_ordered "$work/sub2" "$last"
pass "a restart reuses job $job; rows written while down arrive once"

# Pause and resume act on the job.
"$builddir/daemon/crdbfeedctl" -s "$work/ctl.sock" pause j >/dev/null || fail "pause failed"
wait_for 20 "the job paused" job_sql_status_is paused
"$builddir/daemon/crdbfeedctl" -s "$work/ctl.sock" resume j >/dev/null || fail "resume failed"
wait_for 20 "the job running" job_sql_status_is running
pass "pause and resume map to PAUSE JOB and RESUME JOB"

# Adoption: a second daemon with job_id = the job, its own state dir.
stop_daemon
write_conf "$work/adopt.conf" <<EOF
control_socket = $work/ctl.sock
[feed j]
source = job
tables = jt
start = now
job_id = $job
job_poll = 500ms
$(job_keys)
[sink js]
feed = j
path = $work/j.sock
EOF
sed -i "s|^state_dir = .*|state_dir = $work/state2|" "$work/adopt.conf"
start_daemon "$work/adopt.conf"
wait_for 20 "the adopted job running" job_status_is running
[ "$(crdbfeedctl_status | jq -r '.feeds[0].job.id')" = "$job" ] || fail "the adopted job's id is not shown"
[ "$(jobs_count)" -eq 1 ] || fail "adoption created a job ($(jobs_count))"
stop_daemon
pass "job_id = $job adopted without a second job"

# crdbfeedctl cancel: CANCEL JOB, the feed failed; a reload makes a new
# job from the checkpoint, and rows written meanwhile arrive.
start_daemon "$work/job.conf"
wait_for 20 "the job running" job_status_is running
"$builddir/daemon/crdbfeedctl" -s "$work/ctl.sock" cancel j >/dev/null || fail "cancel failed"
wait_for 20 "the job cancelled" job_sql_status_is canceled
wait_for 20 "the feed failed" sh -c "'$builddir/daemon/crdbfeedctl' -s '$work/ctl.sock' status --json | jq -e '.feeds[0].state == \"failed\"'"
sql "INSERT INTO jt VALUES (103, 'while cancelled', 4)"
kill -HUP "$daemon_pid"
wait_for 20 "a new job" sh -c "[ \"\$(cat '$work/state/j.job')\" != '$job' ]"
wait_for 20 "the new job running" job_status_is running
last=$(jq -s '[.[] | select(.type == "row") | .seq] | max' "$work/sub2")
subscribe "$work/j.sock" "$work/sub3" --request "{\"after\":$last}" --duration 30
wait_for 30 "the row written while cancelled" rows_at_least "$work/sub3" 1
sleep 1
[ "$(count_rows "$work/sub3")" -eq 1 ] || fail "expected 1 row after the new job, got $(count_rows "$work/sub3")"
check_ordered "$work/sub3" "$last"
stop_daemon
pass "cancel fails the feed; a reload creates job $(cat "$work/state/j.job") from the checkpoint"
