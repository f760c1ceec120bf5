#!/bin/sh
# e2e-peercred.sh: who may open crdbfeedd's sockets (needs root: it runs
# clients as user nobody with setpriv, as CI does).
#   - allow_users: root subscribes and gets events; nobody (the socket
#     file is 0666 here, so only SO_PEERCRED stands in the way) gets one
#     error line naming its uid and the sink, and the daemon logs it.
#   - allow_groups by primary gid: nobody with primary group daemon is let
#     in, nobody with nogroup is not, and neither is root (root is not
#     special).
#   - socket files: default mode 0660 with the configured group, so
#     nobody cannot even connect (EACCES); the directory belongs to the
#     daemon; a directory others may write to is warned about.
#   - the control socket: control_allow_users lets root ask for status
#     and refuses nobody with a permission_denied answer; its mode and
#     group are applied.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

need_root "runs clients as nobody"
command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is needed"
id nobody >/dev/null 2>&1 || fail "user nobody is missing"
getent group daemon >/dev/null || fail "group daemon is missing"
nogroup=$(id -gn nobody)

# nobody must reach its output files and the sockets' directory.
chmod 755 "$work"
run=$work/run
mkdir -m 0755 "$run"
loose=$work/loose
mkdir -m 0777 "$loose"
nbdir=$work/nobody
mkdir "$nbdir"
chown nobody "$nbdir"
# The source tree may be out of nobody's reach (a checkout under /root).
cp "$srcdir/tests/daemon/subscriber.py" "$work/subscriber.py"
chmod 644 "$work/subscriber.py"
NB_SUBSCRIBER="/usr/bin/python3 $work/subscriber.py"

# as_nobody [GROUP] CMD...: run CMD as uid nobody, primary group GROUP
# (default nobody's own), no supplementary groups, from / (the test's own
# directory may be out of nobody's reach).
as_nobody() {
	_an_group=$1
	shift
	(cd / && setpriv --reuid=nobody --regid="$_an_group" --clear-groups -- "$@")
}

# connect_errno SOCKET: as the caller, try to connect; print "ok" or the
# errno name.
connect_probe='import errno, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))'

# control_ask SOCKET LINE: send LINE (the daemon may have answered and
# closed before it is written) and print the whole answer.
control_ask='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode() + b"\n")
except OSError:
    pass
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())'

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE pc_t (id INT PRIMARY KEY)"
write_conf "$work/pc.conf" <<EOF2
control_socket = $run/control.sock
control_mode = 0666
control_group = daemon
control_allow_users = root
[feed f]
tables = pc_t
start = now
[sink users]
feed = f
type = unix
path = $run/users.sock
mode = 0666
allow_users = root
[sink groups]
feed = f
type = unix
path = $run/groups.sock
mode = 0666
allow_groups = daemon
[sink default-mode]
feed = f
type = unix
path = $run/default.sock
group = daemon
[sink loose]
feed = f
type = unix
path = $loose/loose.sock
EOF2
start_daemon "$work/pc.conf"
wait_for 20 "the sockets" test -S "$loose/loose.sock"
wait_for 20 "the control socket" test -S "$run/control.sock"

# Socket files: modes and groups as configured, 0660 by default.
[ "$(stat -c %a "$run/users.sock")" = 666 ] || fail "users.sock mode $(stat -c %a "$run/users.sock")"
[ "$(stat -c %a "$run/default.sock")" = 660 ] || fail "default mode is $(stat -c %a "$run/default.sock"), expected 660"
[ "$(stat -c %G "$run/default.sock")" = daemon ] || fail "default.sock group $(stat -c %G "$run/default.sock")"
[ "$(stat -c %a "$loose/loose.sock")" = 660 ] || fail "loose.sock mode $(stat -c %a "$loose/loose.sock")"
[ "$(stat -c %a "$run/control.sock")" = 666 ] || fail "control.sock mode $(stat -c %a "$run/control.sock")"
[ "$(stat -c %G "$run/control.sock")" = daemon ] || fail "control.sock group $(stat -c %G "$run/control.sock")"
for s in users groups default; do
	[ "$(stat -c %U "$run/$s.sock")" = root ] || fail "$s.sock is not the daemon's"
done
[ "$(stat -c %U "$run")" = root ] || fail "the socket directory is not the daemon's"
grep -q "directory $run .*replace" "$daemon_log" && fail "warned about the daemon's own directory"
grep -q "directory $loose is writable by others" "$daemon_log" ||
	fail "no warning about a socket in a directory others may write to"

# Default mode 0660: nobody, not in group daemon, cannot connect at all.
r=$(as_nobody "$nogroup" /usr/bin/python3 -c "$connect_probe" "$run/default.sock")
[ "$r" = EACCES ] || fail "nobody connecting to a 0660 socket: $r, expected EACCES"
# ... but its group can (and then the allow-list-free sink lets it in).
r=$(as_nobody daemon /usr/bin/python3 -c "$connect_probe" "$run/default.sock")
[ "$r" = ok ] || fail "group daemon connecting to default.sock: $r"

# allow_users = root.
subscribe "$run/users.sock" "$work/root-users.out" --duration 60
as_nobody "$nogroup" $NB_SUBSCRIBER "$run/users.sock" "$nbdir/users.out" --duration 5 &
sub_pids="$sub_pids $!"
# allow_groups = daemon.
as_nobody daemon $NB_SUBSCRIBER "$run/groups.sock" "$nbdir/groups-daemon.out" --duration 60 &
sub_pids="$sub_pids $!"
as_nobody "$nogroup" $NB_SUBSCRIBER "$run/groups.sock" "$nbdir/groups-nogroup.out" --duration 5 &
sub_pids="$sub_pids $!"
subscribe "$run/groups.sock" "$work/root-groups.out" --duration 5

nobody_uid=$(id -u nobody)
wait_for 20 "nobody's error line on users" has_line "$nbdir/users.out" '.type == "error"'
has_line "$nbdir/users.out" ".type == \"error\" and (.error | test(\"uid $nobody_uid .*sink users\"))" ||
	fail "the error line does not name the uid and the sink: $(cat "$nbdir/users.out")"
[ "$(count_rows "$nbdir/users.out")" -eq 0 ] || fail "a refused subscriber got rows"
wait_for 20 "nobody's error line on groups" has_line "$nbdir/groups-nogroup.out" '.type == "error"'
wait_for 20 "root's error line on groups" has_line "$work/root-groups.out" '.type == "error"'
wait_for 10 "the refusals in the log" log_count_at_least 'refused subscriber' 3
grep -q "sink users: refused subscriber pid [0-9]* uid $nobody_uid gid [0-9]*: not in allow_users/allow_groups" "$daemon_log" ||
	fail "the daemon's refusal line is missing or unclear"
grep -q "sink groups: refused subscriber pid [0-9]* uid 0 gid 0" "$daemon_log" ||
	fail "root was not refused by allow_groups"

wait_for 20 "streaming (root on users)" has_line "$work/root-users.out" '.type == "state" and .state == "streaming"'
wait_for 20 "streaming (daemon group)" has_line "$nbdir/groups-daemon.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO pc_t VALUES (1), (2), (3)"
wait_for 20 "the rows (root on users)" rows_at_least "$work/root-users.out" 3
wait_for 20 "the rows (nobody in group daemon)" rows_at_least "$nbdir/groups-daemon.out" 3

# The control socket: root is let in, nobody is refused with a reason.
status=$(/usr/bin/python3 -c "$control_ask" "$run/control.sock" status) || fail "root cannot ask for status"
printf '%s' "$status" | jq -e '.feeds' >/dev/null || fail "root's status answer: $status"
denied=$(as_nobody "$nogroup" /usr/bin/python3 -c "$control_ask" "$run/control.sock" status) ||
	fail "nobody could not even connect to the 0666 control socket"
printf '%s' "$denied" | jq -e ".ok == false and (.error | test(\"permission denied: uid $nobody_uid\"))" >/dev/null ||
	fail "nobody on the control socket: '$denied'"
printf '%s' "$denied" | grep -q '"feeds"' && fail "nobody got the status"
grep -q "control client pid=[0-9]* uid=$nobody_uid gid=[0-9]* refused: not in the control allow-list" "$daemon_log" ||
	fail "the control refusal is not logged"

echo "sink refusal line:    $(grep -m 1 'sink users: refused' "$daemon_log")"
echo "subscriber got:       $(head -n 1 "$nbdir/users.out")"
echo "control refusal:      $denied"
daemon_alive || fail "crdbfeedd died"
stop_daemon
pass "allow_users, allow_groups (root not special), modes and groups, control_allow_users"
