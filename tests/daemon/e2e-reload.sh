#!/bin/sh
# e2e-reload.sh: SIGHUP. Adding a feed keeps the unchanged feed streaming
# and its subscriber connected; an invalid file is refused and everything
# keeps running; a removed feed stops and its socket goes; a changed feed
# restarts from its checkpoint while its unchanged sink keeps subscribers.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE rl_a (id INT PRIMARY KEY, v INT)"
sql "CREATE TABLE rl_b (id INT PRIMARY KEY, v INT)"
feed_a() {
	cat <<EOF2
[feed a]
tables = rl_a
start = now
$1
[sink a-socket]
feed = a
type = unix
path = $work/a.sock
EOF2
}
feed_b() {
	cat <<EOF2
[feed b]
tables = rl_b
start = now
[sink b-socket]
feed = b
type = unix
path = $work/b.sock
EOF2
}
feed_a "" | write_conf "$work/rl.conf"
start_daemon "$work/rl.conf"
wait_for 20 "socket a" test -S "$work/a.sock"
subscribe "$work/a.sock" "$work/a.out" --duration 90
a_pid=$last_sub_pid
wait_for 20 "feed a streaming" has_line "$work/a.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO rl_a VALUES (1, 1)"
wait_for 20 "row 1" rows_at_least "$work/a.out" 1

# 1. Add feed b.
state_lines() { jq -c 'select(.type == "state")' "$work/a.out" | wc -l; }
states_before=$(state_lines)
{ feed_a ""; feed_b; } | write_conf "$work/rl.conf"
kill -HUP "$daemon_pid"
wait_for 20 "socket b" test -S "$work/b.sock"
subscribe "$work/b.sock" "$work/b.out" --duration 90
wait_for 20 "feed b streaming" has_line "$work/b.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO rl_a VALUES (2, 2)"
sql "INSERT INTO rl_b VALUES (1, 1)"
wait_for 20 "row 2 of a on the old connection" rows_at_least "$work/a.out" 2
wait_for 20 "row 1 of b" rows_at_least "$work/b.out" 1
kill -0 "$a_pid" || fail "subscriber a was disconnected by the reload"
[ "$(state_lines)" -eq "$states_before" ] ||
	fail "feed a changed state during the reload: $(grep state "$work/a.out")"
[ "$(grep -c 'feed a: .* -> streaming' "$daemon_log")" -eq 1 ] || fail "feed a reconnected on reload"

# 2. An invalid file: refused, nothing changes.
cp "$work/rl.conf" "$work/rl.good"
echo "this is not ini" >>"$work/rl.conf"
kill -HUP "$daemon_pid"
wait_for 20 "the refused reload" grep -q 'reload failed' "$daemon_log"
grep -q 'rl.conf:[0-9]*:' "$daemon_log" || fail "refused reload does not name file:line"
sql "INSERT INTO rl_a VALUES (3, 3)"
wait_for 20 "row 3 of a" rows_at_least "$work/a.out" 3
daemon_alive || fail "the daemon died on a bad reload"

# 3. Remove feed b and change feed a (diff): a restarts from its
# checkpoint, its subscriber stays; b stops and its socket goes.
wait_for 20 "a checkpoint for a" test -s "$work/state/a.checkpoint"
feed_a "diff = yes" | write_conf "$work/rl.conf"
kill -HUP "$daemon_pid"
wait_for 20 "socket b removed" test ! -e "$work/b.sock"
wait_for 20 "b's subscriber told" has_line "$work/b.out" '.type == "error" and (.error | test("removed in a reload"))'
wait_for 20 "feed a restarted" grep -q 'feed a: restarting from the checkpoint' "$daemon_log"
sql "UPDATE rl_a SET v = 30 WHERE id = 3"
wait_for 20 "the update with its before image" has_line "$work/a.out" '.type == "row" and .key == [3] and .after.v == 30 and .before.v == 3'
jq -r 'select(.type == "row") | .key[0]' "$work/a.out" | sort -n | uniq | tr '\n' ' ' | grep -q '^1 2 3 $' ||
	fail "subscriber a missed rows: $(jq -c 'select(.type == "row") | .key' "$work/a.out" | tr '\n' ' ')"
stop_daemon
pass "reload adds, refuses, removes and restarts feeds; unchanged sink keeps its subscriber"
