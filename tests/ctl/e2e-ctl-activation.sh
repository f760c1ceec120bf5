#!/bin/sh
# e2e-ctl-activation.sh: the control and metrics sockets handed over by
# systemd (systemd-socket-activate, FileDescriptorName= "control" and
# "metrics"). A TCP "metrics" socket stands in for metrics_listen (the
# configured metrics_socket is still bound), a Unix one for metrics_socket
# (whose configured path then stays unbound); the passed control socket
# answers crdbfeedctl; a reload keeps the passed sockets; the daemon never
# unlinks systemd's socket files.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

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
sql "CREATE TABLE ctl_act (id INT PRIMARY KEY)"
conf() {
	write_conf "$work/act.conf" <<EOF
control_socket = $work/cfg-control.sock
metrics_socket = $work/cfg-metrics.sock
$1
[feed a]
tables = ctl_act
start = now
[sink a-sock]
feed = a
type = unix
path = $work/a.sock
EOF
}
wait_s=$((10 * E2E_TIME_FACTOR))

# 1. control (Unix) and metrics (TCP) passed.
port=$(free_port)
conf ""
activate "$work/act.conf" -l "$work/act-control.sock" -l "127.0.0.1:$port" \
	--fdname=control:metrics
wait_for 10 "systemd-socket-activate listening" test -S "$work/act-control.sock"
# This connection starts the daemon.
printf 'GET /metrics HTTP/1.0\r\n\r\n' | socat -t "$wait_s" - "TCP:127.0.0.1:$port" >"$work/first.raw" ||
	fail "GET on the passed TCP socket"
head -n 1 "$work/first.raw" | grep -q '^HTTP/1.0 200 OK' || fail "passed TCP metrics: $(head -n 1 "$work/first.raw")"
grep -q '^crdbfeedd_feed_rows_total{feed="a"} 0' "$work/first.raw" || fail "no feed metrics on the passed TCP socket"
ctl_socket=$work/act-control.sock
wait_for 20 "status (ready) on the passed control socket" status_has '.feeds[0].name == "a" and .ready'
[ ! -e "$work/cfg-control.sock" ] || fail "the configured control path was bound despite the passed socket"
# The TCP socket took metrics_listen's place: metrics_socket is ours.
wait_for 10 "the configured metrics socket" test -S "$work/cfg-metrics.sock"
http_get "UNIX-CONNECT:$work/cfg-metrics.sock" /metrics "$work/m.unix"
expect_metric "$work/m.unix" 'crdbfeedd_ready' = 1
grep -q "control socket: using the socket passed by systemd as \"control\" instead of $work/cfg-control.sock" "$daemon_log" ||
	fail "the log does not name the passed control socket"
grep -q 'metrics port: using the socket passed by systemd as "metrics"$' "$daemon_log" ||
	fail "the log does not name the passed metrics socket"
# A reload keeps both passed sockets (and chmods our own).
conf "control_mode = 0640"
ctl_ok reload
[ "$(stat -c %a "$work/cfg-metrics.sock")" = 640 ] || fail "reload did not chmod our metrics socket"
http_get "TCP:127.0.0.1:$port" /metrics "$work/m.tcp"
expect_metric "$work/m.tcp" 'crdbfeedd_ready' = 1
status_has '.ok' || fail "the passed control socket stopped answering after a reload"
stop_daemon
[ -S "$work/act-control.sock" ] || fail "the daemon unlinked systemd's control socket"
[ ! -e "$work/cfg-metrics.sock" ] || fail "our own metrics socket was left behind"
rm -f "$work/act-control.sock"

# 2. metrics passed as a Unix socket: metrics_socket is not bound.
conf ""
activate "$work/act.conf" -l "$work/act-metrics.sock" --fdname=metrics
wait_for 10 "systemd-socket-activate listening" test -S "$work/act-metrics.sock"
printf 'GET /metrics HTTP/1.0\r\n\r\n' | socat -t "$wait_s" - "UNIX-CONNECT:$work/act-metrics.sock" >"$work/second.raw" ||
	fail "GET on the passed Unix socket"
head -n 1 "$work/second.raw" | grep -q '^HTTP/1.0 200 OK' || fail "passed Unix metrics: $(head -n 1 "$work/second.raw")"
ctl_socket=$work/cfg-control.sock
wait_for 20 "our own control socket" status_has '.ok'
[ ! -e "$work/cfg-metrics.sock" ] || fail "metrics_socket was bound despite the passed Unix socket"
stop_daemon
[ -S "$work/act-metrics.sock" ] || fail "the daemon unlinked systemd's metrics socket"
pass "control and metrics (TCP, then Unix) served on sockets passed by systemd, kept across a reload"
