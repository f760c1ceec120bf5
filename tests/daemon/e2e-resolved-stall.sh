#!/bin/sh
# e2e-resolved-stall.sh: a feed whose rows keep coming while its resolved
# timestamp stops advancing (crdbsim's closed-timestamp target raised to an
# hour makes resolved trail by an hour: it stops moving, as in CockroachDB
# issue 144846) is restarted from its checkpoint after
# resolved_stall_timeout, counted as resolved_stall; once resolved moves
# again every held row is released, once each, seq contiguous.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE rs (id INT PRIMARY KEY, v INT)"
sql "INSERT INTO rs SELECT g, g FROM generate_series(1, 20) g"
mkdir -p "$work/state"
write_conf "$work/rs.conf" <<EOF2
[feed rs]
tables = rs
start = initial_scan
delivery = ordered
resolved = 200ms
resolved_stall_timeout = 2s
[sink rs-stdout]
feed = rs
type = stdout
EOF2
start_daemon "$work/rs.conf" "$work/rs.out"
wait_for 30 "the initial scan released" rows_at_least "$work/rs.out" 20

sql "SET CLUSTER SETTING kv.closed_timestamp.target_duration = '1h'"
i=21
while [ $i -le 40 ]; do
	sql "INSERT INTO rs VALUES ($i, $i)"
	i=$((i + 1))
	sleep 0.2
done
wait_for 30 "the resolved-stall restart" grep -q 'resolved timestamp has not advanced' "$daemon_log"
[ "$(count_rows "$work/rs.out" '.key[0] > 20')" -eq 0 ] ||
	fail "rows were released while resolved did not advance"
sql "SET CLUSTER SETTING kv.closed_timestamp.target_duration = '100ms'"
wait_for 30 "rows 21..40 released" rows_at_least "$work/rs.out" 40
stop_daemon
jq -r 'select(.type == "row") | .key[0]' "$work/rs.out" | sort -n >"$work/ids"
seq 1 40 | cmp -s - "$work/ids" || fail "rows lost or repeated: $(tr '\n' ' ' <"$work/ids")"
jq -r 'select(.type == "row") | .seq' "$work/rs.out" >"$work/seqs"
seq 1 40 | cmp -s - "$work/seqs" || fail "seq not contiguous: $(tr '\n' ' ' <"$work/seqs")"
pass "resolved stall restarted the feed; every row released once in seq order"
