#!/bin/sh
# e2e-noloss.sh: the no-loss test. A writer commits thousands of numbered
# inserts, updates and deletes, one transaction each, while crdbsim injects
# faults (connections closed, 57P01, transient errors, duplicates). A block
# subscriber must end with the committed state of every row: replaying its
# row lines (the newest `updated` per key wins, §9) gives exactly the table
# that PostgreSQL holds.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

n=${E2E_NOLOSS_ROWS:-4000}
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE nl (id INT PRIMARY KEY, v INT)"
write_conf "$work/nl.conf" <<EOF2
[feed nl]
tables = nl
start = now
updated = yes
stall_timeout = 3s
[sink nl-socket]
feed = nl
type = unix
path = $work/nl.sock
policy = block
EOF2
start_daemon "$work/nl.conf"
wait_for 20 "the socket" test -S "$work/nl.sock"
subscribe "$work/nl.sock" "$work/nl.out" --duration 140
wait_for 20 "streaming" has_line "$work/nl.out" '.type == "state" and .state == "streaming"'

# The writer's statements: insert every id, update every 7th, delete
# every 11th, each statement its own transaction, over about 5 seconds.
i=1
while [ $i -le "$n" ]; do
	echo "INSERT INTO nl VALUES ($i, $i);"
	[ $((i % 7)) -eq 0 ] && echo "UPDATE nl SET v = v + 1000 WHERE id = $((i - 3));"
	[ $((i % 11)) -eq 0 ] && echo "DELETE FROM nl WHERE id = $((i - 5));"
	# Spread the writes over a few seconds, so that the faults land.
	[ $((i % 50)) -eq 0 ] && echo "SELECT pg_sleep(0.05);"
	i=$((i + 1))
done >"$work/writer.sql"
psql -X -q -v ON_ERROR_STOP=1 "$CRDB_DSN" -f "$work/writer.sql" >"$work/writer.log" 2>&1 &
writer=$!
sub_pids="$sub_pids $writer"

# Faults while it writes.
for fault in close-all "dup 20" shutdown-feeds "fail XXUUU injected hiccup" "stall 5000" close-all; do
	sleep 0.4
	kill -0 "$writer" 2>/dev/null || break
	ctl "$fault"
done
wait "$writer" || fail "the writer failed: $(tail -n 3 "$work/writer.log")"

# Committed state, straight from PostgreSQL.
# (crdbsim's defaultdb is the PostgreSQL database of the same name.)
psql -X -q -At -F ' ' "${PG_DSN%/*}/defaultdb" -c "SELECT id, v FROM nl ORDER BY id" >"$work/expected"
[ "$(wc -l <"$work/expected")" -gt $((n / 2)) ] || fail "the writer committed too little"
# A resolved line after the last commit means every change is in.
last=$(psql -X -q -At "$CRDB_DSN" -c "SELECT max(id) FROM nl")
wait_for 60 "the last insert" has_line "$work/nl.out" ".type == \"row\" and .key == [$last]"
mark=$(wc -l <"$work/nl.out")
wait_for 30 "a resolved line after it" sh -c "tail -n +$mark '$work/nl.out' | grep -q '\"type\":\"resolved\"'"
stop_daemon

# Replay: per key, the event with the newest updated timestamp.
jq -s -r '[.[] | select(.type == "row")] | group_by(.key[0]) | .[] |
	(sort_by(.updated) | last) | select(.after != null) | "\(.key[0]) \(.after.v)"' \
	"$work/nl.out" | sort -n >"$work/replayed"
cmp -s "$work/expected" "$work/replayed" ||
	fail "replayed state differs from PostgreSQL: $(diff "$work/expected" "$work/replayed" | head -n 5 | tr '\n' ' ')"
reconnects=$(grep -c 'streaming -> backoff' "$daemon_log")
[ "$reconnects" -ge 3 ] || fail "only $reconnects faults hit the feed"
pass "$(wc -l <"$work/expected") rows match after $reconnects faults"
