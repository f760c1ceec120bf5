#!/bin/sh
# e2e-ctl-errors.sh: crdbfeedctl's errors and the control socket's limits.
# No daemon (no socket, a stale socket), permission denied by the file mode
# and by the allow-list (as user nobody: needs root, as CI runs), an
# unknown feed or command, a request line over 1 KiB, an idle client cut
# after ~10 s, the cap on concurrent connections (per socket), stale and
# foreign files at the socket path, and a second daemon on the same socket.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

need_root "runuser to nobody"
command -v runuser >/dev/null 2>&1 || fail "runuser is needed"
# nobody runs a copy: the build tree may be out of its reach.
shared_copy "$CRDBFEEDCTL"
nobody_ctl=$shared_path

# The sockets live where nobody may look (the test dir is 0700).
sockdir=$(mktemp -d /tmp/ctl-errors.XXXXXX)
chmod 755 "$sockdir"
cleanup_sockdir() { rm -rf "$sockdir"; }
trap 'cleanup_sockdir; cleanup' EXIT
ctl_socket=$sockdir/control.sock

# raw_ctl LINE: one request on the control socket, the raw answer.
raw_ctl() {
	printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$ctl_socket"
}

# as_nobody ARGS...: crdbfeedctl as user nobody; status in $ctl_rc,
# stderr in $work/ctl.err.
as_nobody() {
	ctl_rc=0
	as_user nobody "$nobody_ctl" -s "$ctl_socket" "$@" >/dev/null 2>"$work/ctl.err" || ctl_rc=$?
}

# --- no daemon
ctl_expect 3 "crdbfeedd is not running \\(no socket at $sockdir/control.sock\\)" status
rc=0
CRDBFEEDCTL_SOCKET=$sockdir/env.sock "$CRDBFEEDCTL" reload 2>"$work/env.err" || rc=$?
[ $rc -eq 3 ] && grep -q "no socket at $sockdir/env.sock" "$work/env.err" ||
	fail "CRDBFEEDCTL_SOCKET not used: exit $rc, $(cat "$work/env.err")"
# A socket file nobody listens on (a crashed daemon's).
/usr/bin/python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$ctl_socket"
[ -S "$ctl_socket" ] || fail "could not make a stale socket"
ctl_expect 3 "crdbfeedd is not running \\(nobody answers at $ctl_socket\\)" metrics

# --- a daemon whose control socket is 0600 (its stale file is replaced)
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE ctl_err (id INT PRIMARY KEY)"
conf() {
	cat <<EOF
control_socket = $ctl_socket
metrics_socket = $sockdir/metrics.sock
control_mode = $1
${2:-}
[feed t]
tables = ctl_err
start = now
[sink t-sock]
feed = t
type = unix
path = $work/t.sock
EOF
}
conf 0600 | write_conf "$work/ctl.conf"
start_daemon "$work/ctl.conf"
wait_for 20 "the control socket answering" status_has '.ok'
grep -q "replacing stale socket $ctl_socket" "$daemon_log" || fail "the stale socket was not reported"
[ "$(stat -c %a "$ctl_socket")" = 600 ] || fail "control socket mode $(stat -c %a "$ctl_socket"), want 600"
as_nobody status
[ $ctl_rc -eq 4 ] && grep -q '^crdbfeedctl: permission denied: cannot connect to' "$work/ctl.err" ||
	fail "nobody on a 0600 socket: exit $ctl_rc, $(cat "$work/ctl.err")"

# --- the allow-list: 0666 but only root (uid 0) let in; a live reload
conf 0666 "control_allow_users = 0" | write_conf "$work/ctl.conf"
ctl_ok reload
[ "$(stat -c %a "$ctl_socket")" = 666 ] || fail "reload did not chmod the socket: $(stat -c %a "$ctl_socket")"
as_nobody pause t
[ $ctl_rc -eq 4 ] && grep -q '^crdbfeedctl: permission denied: uid [0-9]* gid [0-9]* is not allowed' "$work/ctl.err" ||
	fail "nobody refused by the allow-list: exit $ctl_rc, $(cat "$work/ctl.err")"
wait_for 5 "the refusal in the log" grep -q 'warning: .*control client pid=[0-9]* uid=[0-9]* .*refused' "$daemon_log"
status_has '.feeds[0].paused == false' || fail "a refused pause paused the feed"
ctl_ok status --json >/dev/null
# By group: nobody's primary group lets it in.
nogroup=$(id -g nobody)
conf 0666 "control_allow_users = 0
control_allow_groups = $nogroup" | write_conf "$work/ctl.conf"
ctl_ok reload
as_nobody status
[ $ctl_rc -eq 0 ] || fail "nobody by its group: exit $ctl_rc, $(cat "$work/ctl.err")"

# The group: 0660 with nobody's group lets nobody in, without a list.
conf 0660 "control_group = $(id -gn nobody)" | write_conf "$work/ctl.conf"
ctl_ok reload
[ "$(stat -c '%a %G' "$ctl_socket")" = "660 $(id -gn nobody)" ] ||
	fail "control_group after reload: $(stat -c '%a %G' "$ctl_socket")"
as_nobody status
[ $ctl_rc -eq 0 ] || fail "nobody through control_group: exit $ctl_rc, $(cat "$work/ctl.err")"

# --- unknown feed and command, bad lines
ctl_expect 5 'unknown feed "nope"' pause nope
ctl_expect 2 'unknown command "frobnicate"' frobnicate
raw_ctl frobnicate | jq_true '.ok == false and .code == "unknown_command" and (.error | test("unknown command"))' ||
	fail "raw unknown command: $(raw_ctl frobnicate)"
raw_ctl "" | jq_true '.ok == false and .code == "unknown_command" and (.error | test("empty"))' ||
	fail "raw empty line: $(raw_ctl "")"
raw_ctl "status extra" | jq_true '.ok == false and .code == "unknown_command"' ||
	fail "status with an argument: $(raw_ctl "status extra")"
long=$(head -c 2000 /dev/zero | tr '\0' x)
raw_ctl "$long" | jq_true '.ok == false and .code == "bad_request" and (.error | test("longer than 1024"))' ||
	fail "a 2000-byte line: $(raw_ctl "$long" | head -c 200)"
# 1023 bytes and the newline fit: an unknown command, not a long line.
long=$(head -c 1023 /dev/zero | tr '\0' y)
raw_ctl "$long" | jq_true '.code == "unknown_command"' ||
	fail "a 1023-byte line: $(raw_ctl "$long" | head -c 200)"
# No newline before the end of input still counts.
printf status | socat -t 5 - "UNIX-CONNECT:$ctl_socket" | jq_true '.ok == true and (.feeds | length == 1)' ||
	fail "status without a newline"
# A feed name that is not UTF-8 is an unknown feed, quoted printable.
raw_ctl "$(printf 'pause \377\376x')" | jq_true '.code == "unknown_feed" and .error == "unknown feed \"??x\""' ||
	fail "a non-UTF-8 feed name: $(raw_ctl "$(printf 'pause \377\376x')")"
# Control bytes are answered, never echoed raw.
raw_ctl "$(printf 'x\001\033[31m')" | jq_true '.ok == false and (.error | test("\u001b") | not)' ||
	fail "control bytes echoed in the answer"

# --- an idle client is cut after ~10 s; the cap on connections
/usr/bin/python3 - "$ctl_socket" >"$work/idle.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.settimeout(30)
data = s.recv(100)
print("closed after %.1f s with %r" % (time.monotonic() - t0, data))
PY
idle_pid=$!
# Accepted before the holders below fill every slot.
wait_for 10 "the idle client accepted" grep -q "control client pid=$idle_pid .*connected" "$daemon_log"
/usr/bin/python3 - "$ctl_socket" "$work/hold" <<'PY' &
import os, socket, sys, time
conns = []
for _ in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
open(sys.argv[2] + ".ready", "w").close()
while not os.path.exists(sys.argv[2] + ".release"):
    time.sleep(0.05)
PY
hold_pid=$!
sub_pids="$sub_pids $idle_pid $hold_pid"
wait_for 10 "40 connections held" test -f "$work/hold.ready"
sleep 0.5
ctl_expect 1 'crdbfeedd closed the connection without answering' status
grep -q "control socket: 32 connections already open" "$daemon_log" || fail "the cap was not logged"
# The cap is per socket: the metrics are still served.
http_get "UNIX-CONNECT:$sockdir/metrics.sock" /metrics "$work/m.capped"
expect_metric "$work/m.capped" crdbfeedd_ready = 1
touch "$work/hold.release"
wait $hold_pid || fail "the holder failed"
wait_for 5 "status after the holders left" status_has '.ok'
wait $idle_pid || fail "the idle client failed: $(cat "$work/idle.out")"
grep -Eq "^closed after (9|1[0-4])\.[0-9] s with b''$" "$work/idle.out" ||
	fail "idle client: $(cat "$work/idle.out")"

# --- a second daemon on the same control socket is refused; the first
# keeps answering.
conf 0666 | write_conf "$work/second.conf"
sed -i "s|path = $work/t.sock|path = $work/t2.sock|" "$work/second.conf"
rc=0
timeout 20 "$CRDBFEEDD" -c "$work/second.conf" 2>"$work/second.log" || rc=$?
[ $rc -ne 0 ] || fail "a second daemon started on a socket in use"
grep -q "$ctl_socket is in use by another process" "$work/second.log" ||
	fail "second daemon: $(tail -n 3 "$work/second.log")"
status_has '.ok' || fail "the first daemon stopped answering"

stop_daemon
[ ! -e "$ctl_socket" ] || fail "the control socket was left behind"

# --- a file that is not a socket at the path is never replaced
echo keep >"$ctl_socket"
rc=0
timeout 20 "$CRDBFEEDD" -c "$work/ctl.conf" 2>"$work/third.log" || rc=$?
[ $rc -ne 0 ] || fail "the daemon started over a regular file"
grep -q "$ctl_socket exists and is not a socket" "$work/third.log" ||
	fail "over a regular file: $(tail -n 3 "$work/third.log")"
[ "$(cat "$ctl_socket")" = keep ] || fail "the regular file was touched"
pass "not running, stale socket, permission denied (mode and allow-list), unknown feed/command, long line, idle cut, connection cap, socket in use, foreign file"
