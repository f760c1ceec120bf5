#!/bin/sh
# e2e-sockets.sh: config mode with a Unix-socket sink. Two subscribers both
# get every event; a subscriber's request line narrows what it gets (tables,
# ops, resolved); a bad request gets an error line and is closed; a stale
# socket file is replaced, a live one is not; mode and group are applied.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE sock_a (id INT PRIMARY KEY, v STRING)"
sql "CREATE TABLE sock_b (id INT PRIMARY KEY, v STRING)"
sock=$work/feed.sock
# A stale socket file (nobody listening) must be replaced.
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
write_conf "$work/sock.conf" <<EOF2
[feed ab]
tables = sock_a, sock_b
start = now
diff = yes
[sink ab-socket]
feed = ab
type = unix
path = $sock
mode = 0660
group = daemon
policy = disconnect
buffer = 1M
EOF2
start_daemon "$work/sock.conf"
wait_for 20 "the listener" grep -q "listening on $sock" "$daemon_log"
grep -q "replacing stale socket $sock" "$daemon_log" || fail "stale socket not replaced"
[ "$(stat -c %a "$sock")" = 660 ] || fail "socket mode is $(stat -c %a "$sock"), expected 660"
[ "$(stat -c %G "$sock")" = daemon ] || fail "socket group is $(stat -c %G "$sock"), expected daemon"

subscribe "$sock" "$work/all1.out" --duration 60 --until-type missed
subscribe "$sock" "$work/all2.out" --duration 60 --until-type missed
subscribe "$sock" "$work/filtered.out" --duration 60 --until-type missed \
	--request '{"tables":["sock_b"],"ops":["delete"],"resolved":false}'
subscribe "$sock" "$work/bad.out" --duration 10 --request '{"tables":"sock_b"}'
wait_for 20 "the filter's acknowledgement" has_line "$work/filtered.out" '.type == "subscribed"'
wait_for 20 "streaming" has_line "$work/all1.out" '.type == "state" and .state == "streaming"'

sql "INSERT INTO sock_a VALUES (1, 'a1'), (2, 'a2')"
sql "INSERT INTO sock_b VALUES (1, 'b1'), (2, 'b2')"
sql "DELETE FROM sock_a WHERE id = 1"
sql "DELETE FROM sock_b WHERE id = 2"
wait_for 20 "all events at subscriber 1" rows_at_least "$work/all1.out" 6
wait_for 20 "all events at subscriber 2" rows_at_least "$work/all2.out" 6
wait_for 20 "resolved lines at subscriber 1" has_line "$work/all1.out" '.type == "resolved"'
wait_for 20 "the filtered delete" has_line "$work/filtered.out" '.type == "row"'
sleep 1   # anything the filter should have held back would arrive now

for f in all1 all2; do
	n=$(count_rows "$work/$f.out")
	[ "$n" -eq 6 ] || fail "$f got $n rows, expected 6"
	[ "$(count_rows "$work/$f.out" '.table == "sock_a" and .op == "insert"')" -eq 2 ] || fail "$f: inserts of sock_a"
	[ "$(count_rows "$work/$f.out" '.op == "delete"')" -eq 2 ] || fail "$f: deletes"
	head -n 1 "$work/$f.out" | jq -e '.type == "state"' >/dev/null || fail "$f: first line is not a state line"
done
# The filter: after its acknowledgement, only sock_b deletes, no resolved.
sed -n '/"type":"subscribed"/,$p' "$work/filtered.out" >"$work/after-ack.out"
has_line "$work/after-ack.out" '.type == "subscribed" and .tables == ["sock_b"] and .ops == ["delete"] and .resolved == false' ||
	fail "acknowledgement wrong: $(grep subscribed "$work/filtered.out")"
[ "$(count_rows "$work/after-ack.out")" -eq 1 ] || fail "filtered subscriber got $(count_rows "$work/after-ack.out") rows, expected 1"
has_line "$work/after-ack.out" '.type == "row" and .table == "sock_b" and .op == "delete" and .key == [2]' ||
	fail "filtered subscriber did not get the sock_b delete"
has_line "$work/after-ack.out" '.type == "resolved"' && fail "filtered subscriber got resolved lines"
# The bad request: one error line, then the daemon closed the connection.
wait_for 10 "the bad request's error" has_line "$work/bad.out" '.type == "error"'
has_line "$work/bad.out" '.type == "error" and (.error | test("tables"))' || fail "error line does not say what was wrong"
grep -q 'bad request' "$daemon_log" || fail "bad request not logged"

# A second daemon must not steal a live socket.
rc=0
timeout 10 "$CRDBFEEDD" -c "$work/sock.conf" >/dev/null 2>"$work/second.err" || rc=$?
[ $rc -eq 71 ] || fail "second daemon on a live socket: exit $rc, expected 71"
grep -q 'in use' "$work/second.err" || fail "second daemon does not say the socket is in use"
daemon_alive || fail "the first daemon died"
stop_daemon
[ ! -e "$sock" ] || fail "socket left behind after SIGTERM"
pass "two subscribers, filters, bad request, stale and live sockets"
