#!/bin/sh
# e2e-replay.sh: replay from an ordered feed's journal (delivery = ordered,
# crdbfeedd(8) "Delivery guarantees"). While a writer inserts at full speed
# (transactions of 1-5 rows, at most 20,000 rows), a subscriber is cut off 100 times
# (REPLAY_CUTS) and resumes each time with {"after": LAST_SEQ}: over all
# its connections every seq comes exactly once, each connection going on
# from its "after", and the rows are exactly the committed ones. Then
# {"since": HLC} and {"since": RFC 3339 time} give exactly the rows with
# updated at or after it (the HLC being the last row of a group: the whole
# group comes); an "after" beyond the last seq gets an error line; on a
# feed with journal_retention = 1s, an "after" older than what is kept
# gets a gap line naming the first seq kept, then every row from it; and
# quick mode with --ordered prints rows with contiguous seqs, group_end on
# a transaction's last row only, and resolved lines with the last seq.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

cuts=${REPLAY_CUTS:-100}
check="/usr/bin/python3 $srcdir/tests/daemon/e2e-replay-check.py"
[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set"
pgdb="${PG_DSN%/*}/defaultdb"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE rp (k INT PRIMARY KEY, v INT NOT NULL)"
sql "CREATE TABLE rt (k INT PRIMARY KEY)"
sql "CREATE TABLE rq (k INT PRIMARY KEY)"
write_conf "$work/replay.conf" <<EOF
[feed rp]
tables = rp
start = now
delivery = ordered
resolved = 200ms
[sink rp]
feed = rp
type = unix
path = $work/rp.sock
[feed rt]
tables = rt
start = now
delivery = ordered
resolved = 200ms
journal_retention = 1s
[sink rt]
feed = rt
type = unix
path = $work/rt.sock
EOF
start_daemon "$work/replay.conf"
wait_for 20 "the sockets" test -S "$work/rp.sock" -a -S "$work/rt.sock"
# start = now: rows committed before the changefeeds run are not theirs.
wait_for 20 "both feeds streaming" sh -c "grep -q 'feed rp: starting -> streaming' '$daemon_log' &&
	grep -q 'feed rt: starting -> streaming' '$daemon_log'"

# ask SOCKET REQUEST SECONDS OUT: one connection that sends REQUEST and
# keeps what comes within SECONDS (times E2E_TIME_FACTOR) in OUT (or until
# the daemon closes it).
ask() {
	$SUBSCRIBER "$1" "$4" --request "$2" --duration "$(($3 * E2E_TIME_FACTOR))" >/dev/null 2>&1 || true
}

# --- 100 cuts and resumes during a full-speed write ------------------------
/usr/bin/python3 "$srcdir/tests/daemon/e2e-replay-hopper.py" "$work/rp.sock" "$work/hops" "$cuts" "$work/stop-ns" \
	2>"$work/hopper.err" &
hopper=$!
sub_pids="$sub_pids $hopper"
/usr/bin/python3 - "$pgdb" "$work/stop-writer" >"$work/writer.out" 2>"$work/writer.err" <<'EOF' &
import os, random, sys
import psycopg
dsn, stop = sys.argv[1:3]
k = 0
with psycopg.connect(dsn, autocommit=True) as conn:
    while not os.path.exists(stop) and k < 20000:
        with conn.transaction():
            for _ in range(random.randint(1, 5)):
                k += 1
                conn.execute("INSERT INTO rp VALUES (%s, %s)", (k, k * 7))
print(k)
EOF
writer=$!
sub_pids="$sub_pids $writer"
hops_done() {
	[ "$(cat "$work/hops.cuts" 2>/dev/null || echo 0)" -ge "$cuts" ]
}
wait_for 60 "$cuts cuts of the subscriber" hops_done
touch "$work/stop-writer"
wait "$writer" || fail "the writer failed: $(tail -n 3 "$work/writer.err")"
date +%s%N >"$work/stop-ns"
hopper_done() {
	! kill -0 "$hopper" 2>/dev/null
}
wait_for 60 "the subscriber to see a resolved line past the last commit" hopper_done
rc=0
wait "$hopper" || rc=$?
[ $rc -eq 0 ] || fail "the subscriber did not see a resolved line past the last commit: $(cat "$work/hopper.err")"
$check union "$work/hops" "$pgdb" rp || fail "replay with after lost or repeated rows"

# --- since: an HLC, an RFC 3339 time -------------------------------------
top=$(jq -s 'map(select(.type == "row") | .seq) | max' "$work/hops")
for kind in hlc time; do
	since=$($check pick-$kind "$work/hops") || fail "no position to test since with"
	ask "$work/rp.sock" "{\"since\":\"$since\"}" 1 "$work/since-$kind"
	$check since "$work/hops" "$work/since-$kind" "$since" || fail "since $since ($kind)"
done

# --- after in the future ---------------------------------------------------
ask "$work/rp.sock" "{\"after\":$((top + 1000))}" 1 "$work/future"
has_line "$work/future" '.type == "error"' || fail "after $((top + 1000)) (last seq $top) got no error line: $(head -c 300 "$work/future")"
[ "$(count_rows "$work/future")" -eq 0 ] || fail "after in the future got rows"

# --- a position older than the retention -----------------------------------
psql -X -q -v ON_ERROR_STOP=1 "$pgdb" -c "INSERT INTO rt SELECT generate_series(1, 5)" \
	-c "INSERT INTO rt SELECT generate_series(6, 10)" -c "INSERT INTO rt SELECT generate_series(11, 15)" ||
	fail "cannot write rt"
rt_released() {
	ask "$work/rt.sock" '{"after":0}' 1 "$work/rt-all"
	has_line "$work/rt-all" '.type == "row" and .seq == 15'
}
# (Each try takes a second: wait_for's 2 means 20 tries.)
wait_for 2 "the first 15 rows of rt released" rt_released
# Older than journal_retention once trimmed; new rows make new commits.
n=16
rt_trimmed() {
	psql -X -q "$pgdb" -c "INSERT INTO rt VALUES ($n)" >/dev/null 2>&1
	n=$((n + 1))
	ask "$work/rt.sock" '{"after":2}' 1 "$work/rt-gap"
	has_line "$work/rt-gap" '.type == "gap"'
}
wait_for 3 "a gap line for a position older than journal_retention" rt_trimmed
$check from "$work/rt-gap" 2 || fail "the gap line or the rows after it are wrong: $(head -c 600 "$work/rt-gap")"
stop_daemon

# --- quick mode --ordered ----------------------------------------------------
daemon_log=$work/quick.log
"$CRDBFEEDD" --dsn "$CRDB_DSN" --ordered -o resolved=200ms rq >"$work/quick.out" 2>"$daemon_log" &
daemon_pid=$!
wait_for 20 "quick mode streaming" has_line "$work/quick.out" '.type == "state" and .state == "streaming"'
psql -X -q -v ON_ERROR_STOP=1 "$pgdb" -c "BEGIN" -c "INSERT INTO rq VALUES (3), (1), (2)" -c "COMMIT" \
	-c "INSERT INTO rq VALUES (4)" || fail "cannot write rq"
wait_for 20 "quick mode's resolved line after seq 4" has_line "$work/quick.out" '.type == "resolved" and .seq == 4'
stop_daemon
jq -s -e 'map(select(.type == "row")) |
	(map(.seq) == [1, 2, 3, 4]) and (map(.key[0]) == [1, 2, 3, 4]) and
	(map(.group_end == true) == [false, false, true, true]) and
	(.[0].updated == .[2].updated) and (.[2].updated < .[3].updated)' "$work/quick.out" >/dev/null ||
	fail "quick mode --ordered: rows, seqs or group_end wrong: $(grep '"type":"row"' "$work/quick.out")"
pass "every seq once over $cuts resumes, since (HLC, RFC 3339), after in the future, gap, quick --ordered"
