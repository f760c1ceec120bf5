#!/bin/sh
# activation.sh: socket activation through systemd-socket-activate, which
# passes named listening sockets (LISTEN_FDS, LISTEN_FDNAMES) like a
# .socket unit with FileDescriptorName=:
#  1. sockets named "first" (a [sink first]) and "control": crdbfeedd binds
#     neither configured path; the connection that started it is served;
#     a subscriber gets rows through the passed socket; the control socket
#     answers status; a reload that changes the sink reopens it on the same
#     passed socket; at exit the socket file (systemd's) stays;
#  2. a socket named "bogus" that nothing claims: exit 78 naming it;
#  3. a datagram socket: exit 71 saying it is not a stream socket.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

command -v systemd-socket-activate >/dev/null 2>&1 || fail "systemd-socket-activate is needed"

# activate CONF OPTIONS...: crdbfeedd under systemd-socket-activate, which
# execs it in place (same pid) on the first connection.
activate() {
	_conf=$1
	shift
	daemon_log=$work/crdbfeedd.log
	systemd-socket-activate "$@" "$CRDBFEEDD" -v -c "$_conf" 2>>"$daemon_log" &
	daemon_pid=$!
}

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE ac_a (id INT PRIMARY KEY, v INT)"
conf() {
	write_conf "$work/ac.conf" <<EOF2
control_socket = $work/cfg-control.sock
[feed a]
tables = ac_a
start = now
[sink first]
feed = a
type = unix
path = $work/cfg-first.sock
$1
EOF2
}

# 1. Two named sockets.
conf ""
activate "$work/ac.conf" -l "$work/act-first.sock" -l "$work/act-control.sock" \
	--fdname=first:control
wait_for 10 "systemd-socket-activate listening" test -S "$work/act-first.sock"
# This connection starts the daemon (activation on the first connection).
subscribe "$work/act-first.sock" "$work/first.out" --duration 60
first_pid=$last_sub_pid
wait_for 20 "feed a streaming at the first subscriber" has_line "$work/first.out" \
	'.type == "state" and .state == "streaming"'
sql "INSERT INTO ac_a VALUES (1, 1)"
wait_for 20 "row 1 through the passed socket" rows_at_least "$work/first.out" 1
grep -q 'sink first: using the socket passed by systemd' "$daemon_log" ||
	fail "the log does not say the passed socket is used"
[ ! -e "$work/cfg-first.sock" ] || fail "the sink bound its configured path despite the passed socket"
[ ! -e "$work/cfg-control.sock" ] || fail "the control socket bound its path despite the passed socket"
status=$(printf 'status\n' | socat -t 5 - "UNIX-CONNECT:$work/act-control.sock")
printf '%s\n' "$status" | jq -e '[.. | objects | select(.name? == "a")] | length > 0' >/dev/null ||
	fail "no status for feed a on the passed control socket: $status"
pass "sink and control served on the passed sockets, configured paths unused"

# A reload that changes the sink reopens it on the same passed socket.
conf "buffer = 2M"
kill -HUP "$daemon_pid"
wait_for 20 "the first subscriber told of the change" has_line "$work/first.out" \
	'.type == "error" and (.error | test("changed in a reload"))'
wait_for 10 "the first subscriber closed" sh -c "! kill -0 $first_pid 2>/dev/null"
subscribe "$work/act-first.sock" "$work/second.out" --duration 60
wait_for 20 "feed a streaming at the second subscriber" has_line "$work/second.out" \
	'.type == "state" and .state == "streaming"'
sql "INSERT INTO ac_a VALUES (2, 2)"
wait_for 20 "row 2 through the reopened sink" rows_at_least "$work/second.out" 1 '.key == [2]'
[ "$(grep -c 'sink first: using the socket passed by systemd' "$daemon_log")" -eq 2 ] ||
	fail "the reload did not reuse the passed socket"
[ ! -e "$work/cfg-first.sock" ] || fail "the reload bound the configured path"
stop_daemon
test -S "$work/act-first.sock" || fail "crdbfeedd removed systemd's socket file"
pass "a reload reopened the sink on the passed socket; its file outlived the daemon"

# 2. An unclaimed name.
rm -f "$work/act-first.sock" "$work/act-control.sock"
activate "$work/ac.conf" -l "$work/act-first.sock" -l "$work/act-bogus.sock" \
	--fdname=first:bogus
wait_for 10 "systemd-socket-activate listening" test -S "$work/act-bogus.sock"
socat -u /dev/null "UNIX-CONNECT:$work/act-bogus.sock" || fail "cannot trigger the activation"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
[ $rc -eq 78 ] || fail "an unclaimed socket gave exit status $rc, want 78"
grep -q 'error: .*socket named "bogus" but no \[sink bogus\]' "$daemon_log" ||
	fail "the error does not name the unclaimed socket"
pass "an unclaimed socket \"bogus\": exit 78 naming it"

# 3. Not a stream socket.
activate "$work/ac.conf" --datagram -l "$work/act-dgram.sock" --fdname=first
wait_for 10 "systemd-socket-activate listening" test -S "$work/act-dgram.sock"
printf 'x' | socat -u - "UNIX-SENDTO:$work/act-dgram.sock" || fail "cannot trigger the activation"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
[ $rc -eq 71 ] || fail "a datagram socket gave exit status $rc, want 71"
grep -q 'error: socket activation: passed socket first is not a stream socket' "$daemon_log" ||
	fail "the error does not say what is wrong with the socket"
pass "a datagram socket: exit 71"
