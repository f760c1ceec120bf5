#!/bin/sh
# e2e-ctl-status.sh: status and metrics against a known workload through
# crdbsim. N rows inserted, M subscribers: status (JSON and table) and the
# metrics (control command, HTTP on the Unix socket, HTTP on 127.0.0.1)
# must show rows == N, subscribers == M, state streaming, a cursor, a small
# finite lag, and no password; after crdbsim closes every connection the
# reconnect is counted with its reason. HTTP errors (404, 405, 431) and
# HEAD. A reload moves the metrics socket and port (to [::1]) and then
# closes the port. The socket files go away at stop.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

N=25
M=3
port=$(free_port)
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE ctl_status (id INT PRIMARY KEY, note TEXT)"
# A password in the DSN (crdbsim does not ask for one): it must never show.
pw_dsn=$(printf '%s' "$CRDB_DSN" | sed 's|://root@|://root:ctl-s3cret-pw@|')
case $pw_dsn in *ctl-s3cret-pw*) ;; *) fail "cannot put a password into $CRDB_DSN" ;; esac
write_conf "$work/ctl.conf" <<EOF
control_socket = $work/control.sock
metrics_socket = $work/metrics.sock
metrics_listen = 127.0.0.1:$port
[feed t]
dsn = $pw_dsn
tables = ctl_status
start = now
[sink t-sock]
feed = t
type = unix
path = $work/t.sock
EOF
start_daemon "$work/ctl.conf"
wait_for 20 "the control socket" test -S "$work/control.sock"
i=1
while [ $i -le $M ]; do
	subscribe "$work/t.sock" "$work/sub$i.out" --duration 120
	i=$((i + 1))
done
wait_for 20 "streaming" has_line "$work/sub1.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO ctl_status SELECT g, 'note ' || g FROM generate_series(1, $N) g"
i=1
while [ $i -le $M ]; do
	wait_for 20 "$N rows at subscriber $i" rows_at_least "$work/sub$i.out" $N
	i=$((i + 1))
done
# A resolved line after the rows: the lag below is measured against it.
wait_for 20 "a resolved line" has_line "$work/sub1.out" '.type == "resolved"'

# --- status --json
ctl_ok status --json >"$work/status.json"
jq -e --argjson n $N --argjson m $M --argjson pid "$daemon_pid" --arg work "$work" '
	.ok == true and .pid == $pid and .ready == true and
	(.version | length > 0) and (.uptime | type == "number") and
	(.feeds | length == 1) and (.sinks | length == 1) and
	(.feeds[0] | .name == "t" and .state == "streaming" and .paused == false and
		.counters.rows == $n and .subscribers == $m and
		(.cursor | test("^[0-9]+\\.[0-9]{10}$")) and
		(.resolved | test("^[0-9]+\\.[0-9]{10}$")) and
		(.lag | type == "number" and . >= 0 and . < 10) and
		.last_error == null and .tables == ["ctl_status"] and
		(.dsn | test("\\*\\*\\*"))) and
	(.sinks[0] | .name == "t-sock" and .feed == "t" and .type == "unix" and
		.path == ($work + "/t.sock") and .policy == "disconnect" and
		.subscribers == $m and .accepted == $m and (.queued | type == "number"))
' "$work/status.json" >/dev/null || fail "status: $(cat "$work/status.json")"

# --- the table
ctl_ok status >"$work/status.txt"
grep -q "^crdbfeedd .*pid $daemon_pid, up .*, ready$" "$work/status.txt" ||
	fail "status table header: $(cat "$work/status.txt")"
grep -Eq "^t +streaming +$N +[0-9.]+s +$M +[0-9]+\.[0-9]{10} +-$" "$work/status.txt" ||
	fail "status table feed row: $(cat "$work/status.txt")"
grep -Eq "^t-sock +t +unix +disconnect +$M +[0-9]+ +$work/t.sock$" "$work/status.txt" ||
	fail "status table sink row: $(cat "$work/status.txt")"

sed "s/^/    /" "$work/status.txt"

# --- metrics, three ways, the same figures
ctl_ok metrics >"$work/metrics.ctl"
http_get "UNIX-CONNECT:$work/metrics.sock" /metrics "$work/metrics.unix"
http_get "TCP:127.0.0.1:$port" /metrics "$work/metrics.tcp"
for how in unix tcp; do
	head -n 1 "$work/metrics.$how.head" | grep -q '^HTTP/1.0 200 OK' ||
		fail "metrics over $how: $(head -n 1 "$work/metrics.$how.head")"
	grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$work/metrics.$how.head" ||
		fail "metrics over $how: no 0.0.4 content type"
	len=$(sed -n 's/^Content-Length: \([0-9]*\).*/\1/p' "$work/metrics.$how.head")
	[ "$len" = "$(wc -c <"$work/metrics.$how")" ] ||
		fail "metrics over $how: Content-Length $len for $(wc -c <"$work/metrics.$how") bytes"
done
for how in ctl unix tcp; do
	f=$work/metrics.$how
	expect_metric "$f" 'crdbfeedd_feed_rows_total{feed="t"}' = $N
	expect_metric "$f" 'crdbfeedd_sink_subscribers{sink="t-sock",feed="t"}' = $M
	expect_metric "$f" 'crdbfeedd_sink_accepted_total{sink="t-sock",feed="t"}' = $M
	expect_metric "$f" 'crdbfeedd_feed_state{feed="t",state="streaming"}' = 1
	expect_metric "$f" 'crdbfeedd_feed_state{feed="t",state="paused"}' = 0
	expect_metric "$f" 'crdbfeedd_feed_paused{feed="t"}' = 0
	expect_metric "$f" 'crdbfeedd_feed_lag_seconds{feed="t"}' '<' 10
	expect_metric "$f" 'crdbfeedd_feed_lag_seconds{feed="t"}' '>=' 0
	expect_metric "$f" 'crdbfeedd_feed_bad_rows_total{feed="t"}' = 0
	expect_metric "$f" 'crdbfeedd_ready' = 1
	expect_metric "$f" 'process_resident_memory_bytes' '>' 100000
	expect_metric "$f" 'process_open_fds' '>' 5
	expect_metric "$f" 'crdbfeedd_feed_reconnects_total{feed="t",reason="lost"}' = 0
	# Every line is a comment or a sample; every family has HELP and TYPE.
	prom_wellformed "$f"
done
# rows * subscribers lines at least went out of the sink
[ "$(metric_value "$work/metrics.ctl" 'crdbfeedd_sink_lines_total{sink="t-sock",feed="t"}')" -ge $((N * M)) ] ||
	fail "sink lines_total below N * M"
# uptime agrees with status within a few seconds
up=$(metric_value "$work/metrics.ctl" crdbfeedd_uptime_seconds)
awk -v a="$up" -v b="$(jq .uptime "$work/status.json")" 'BEGIN { d = a - b; exit !(d >= 0 && d < 30) }' ||
	fail "uptime $up vs status $(jq .uptime "$work/status.json")"

# --- HTTP errors
http_get "UNIX-CONNECT:$work/metrics.sock" /nowhere "$work/404"
head -n 1 "$work/404.head" | grep -q '^HTTP/1.0 404' || fail "GET /nowhere: $(head -n 1 "$work/404.head")"
printf 'POST /metrics HTTP/1.0\r\n\r\n' | socat -t 5 - "TCP:127.0.0.1:$port" >"$work/405" ||
	fail "POST over TCP"
head -n 1 "$work/405" | grep -q '^HTTP/1.0 405' || fail "POST /metrics: $(head -n 1 "$work/405")"
# A head over 8 KiB: 431, and the daemon reads the rest away before closing.
{ printf 'GET /metrics HTTP/1.0\r\nX-Big: '; head -c 9000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } |
	socat -t 5 - "UNIX-CONNECT:$work/metrics.sock" >"$work/431" || fail "a 9 KB head"
head -n 1 "$work/431" | grep -q '^HTTP/1.0 431' || fail "a 9 KB head: $(head -n 1 "$work/431")"
# HEAD: the head of a GET, no body.
printf 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n' | socat -t 5 - "TCP:127.0.0.1:$port" >"$work/head" ||
	fail "HEAD over TCP"
head -n 1 "$work/head" | grep -q '^HTTP/1.0 200 OK' || fail "HEAD: $(head -n 1 "$work/head")"
grep -q '^Content-Length: [1-9][0-9]*' "$work/head" || fail "HEAD without the GET's Content-Length"
[ "$(tail -c 4 "$work/head" | od -An -c | tr -d ' ')" = '\r\n\r\n' ] || fail "HEAD answered with a body"

# --- no password anywhere
for f in "$work/status.json" "$work/status.txt" "$work/metrics.ctl" "$work/metrics.unix"; do
	! grep -q 'ctl-s3cret-pw' "$f" || fail "the DSN's password shows in $f"
done

# --- a fault: crdbsim closes every connection; the reconnect is counted
ctl close-all
wait_for 30 "a counted reconnect" status_has \
	'.feeds[0] | (.counters.reconnects | add) >= 1 and .state == "streaming"'
ctl_ok metrics >"$work/metrics.after"
expect_metric "$work/metrics.after" 'crdbfeedd_feed_reconnects_total{feed="t",reason="lost"}' '>=' 1
expect_metric "$work/metrics.after" 'crdbfeedd_feed_rows_total{feed="t"}' '>=' $N
ctl_ok status --json >"$work/status2.json"
jq -e '.feeds[0].counters.reconnects.lost >= 1 and (.feeds[0].last_error | type == "string")' \
	"$work/status2.json" >/dev/null || fail "status after close-all: $(cat "$work/status2.json")"

# --- a reload moves the metrics socket and the TCP port (to IPv6 loopback)
port6=$(/usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])') ||
	fail "no IPv6 loopback"
sed -i -e "s|^metrics_socket = .*|metrics_socket = $work/metrics2.sock|" \
	-e "s|^metrics_listen = .*|metrics_listen = [::1]:$port6|" "$work/ctl.conf"
ctl_ok reload
[ ! -e "$work/metrics.sock" ] || fail "the old metrics socket is still there after the reload"
http_get "UNIX-CONNECT:$work/metrics2.sock" /metrics "$work/metrics.moved"
expect_metric "$work/metrics.moved" 'crdbfeedd_feed_rows_total{feed="t"}' '>=' $N
http_get "TCP6:[::1]:$port6" /metrics "$work/metrics.v6"
expect_metric "$work/metrics.v6" 'crdbfeedd_feed_rows_total{feed="t"}' '>=' $N
! printf 'GET /metrics HTTP/1.0\r\n\r\n' | socat -t 2 - "TCP:127.0.0.1:$port" >/dev/null 2>&1 ||
	fail "127.0.0.1:$port still answers after metrics_listen moved"
# Then off altogether.
sed -i -e '/^metrics_listen = /d' "$work/ctl.conf"
ctl_ok reload
! printf 'GET /metrics HTTP/1.0\r\n\r\n' | socat -t 2 - "TCP6:[::1]:$port6" >/dev/null 2>&1 ||
	fail "[::1]:$port6 still answers after metrics_listen was removed"

stop_daemon
[ ! -e "$work/control.sock" ] || fail "the control socket was left behind"
[ ! -e "$work/metrics2.sock" ] || fail "the metrics socket was left behind"
pass "status and metrics (control, Unix HTTP, TCP HTTP) match $N rows and $M subscribers; reconnect counted"
