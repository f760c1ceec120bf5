#!/bin/sh
# e2e-shutdown.sh: SIGTERM with a block subscriber that stopped reading.
# The daemon flushes for a bounded time (5 s), then writes the checkpoint
# and exits 0; a second
# signal during the flush exits at once with 128 + the signal.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE sd (id INT PRIMARY KEY, pad STRING)"
write_conf "$work/sd.conf" <<EOF2
[feed sd]
tables = sd
start = now
[sink sd-socket]
feed = sd
type = unix
path = $work/sd.sock
policy = block
buffer = 16k
EOF2
start_stalled() {
	start_daemon "$work/sd.conf"
	wait_for 20 "streaming" grep -q 'starting -> streaming' "$daemon_log"
	subscribe "$work/sd.sock" "$work/$1.out" --stall 60 --rcvbuf 4096 --duration 1
		sql "INSERT INTO sd SELECT g, repeat('x', 200) FROM generate_series($2, $(($2 + 4999))) g"
	wait_for 30 "the feed to pause" grep -q 'pausing' "$daemon_log"
}

# 1. One SIGTERM: bounded flush, then exit 0.
start_stalled first 1
before=$(date +%s)
stop_daemon
took=$(($(date +%s) - before))
[ "$took" -ge 4 ] && [ "$took" -le 12 ] || fail "shutdown took ${took}s, expected about 5"
grep -q 'still queued for subscribers after 5000 ms; closing anyway' "$daemon_log" || fail "no flush timeout logged"

# 2. A second SIGTERM during the flush: exit at once with 143.
: >"$daemon_log"
start_stalled second 100001
kill -TERM "$daemon_pid"
sleep 0.5
before=$(date +%s)
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
took=$(($(date +%s) - before))
[ $rc -eq 143 ] || fail "second SIGTERM: exit $rc, expected 143"
[ "$took" -le 2 ] || fail "second SIGTERM took ${took}s"
grep -q 'second signal 15: exiting at once' "$daemon_log" || fail "second signal not logged"
pass "bounded flush then exit 0; second signal exits at once (143)"
