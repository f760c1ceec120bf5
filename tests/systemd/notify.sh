#!/bin/sh
# notify.sh: crdbfeedd's sd_notify messages, received on our own
# NOTIFY_SOCKET (notify-helper.py listen) as systemd would:
#  1. READY=1 waits for every feed's first connection attempt: feed "slow"
#     points at a server that accepts and answers nothing for HOLD seconds,
#     then drops the connection; READY=1 must come after that drop (and
#     after feed "fast" streams), not before;
#  2. STATUS= follows a known workload: feed states, subscribers (0, then 1
#     after a subscriber connects), events per second (above 0 while rows
#     arrive, back to 0.0 after), the worst lag named by feed;
#     a feed paused through the control socket shows as paused;
#  3. WATCHDOG=1 about every second under WATCHDOG_USEC=2000000, none while
#     the process is stopped (SIGSTOP), again after SIGCONT;
#  4. SIGHUP: RELOADING=1 with a MONOTONIC_USEC taken during the reload,
#     then READY=1; the same for the control socket's reload;
#  5. SIGTERM: STOPPING=1, then a clean exit.
# Every message must come from the daemon's own pid (NotifyAccess=main).
# Built without libsystemd: one warning and no message instead.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

HOLD=3
HELPER="/usr/bin/python3 $srcdir/tests/systemd/notify-helper.py"
messages=$work/notify.jsonl
helper_pids=
cleanup_helpers() {
	for p in $helper_pids; do
		kill "$p" 2>/dev/null || true
	done
	cleanup
}
# (Keep the status: dash would return the handler's.)
trap 'rc=$?; cleanup_helpers; exit $rc' EXIT

$HELPER listen "$work/notify.sock" "$messages" &
helper_pids="$helper_pids $!"
$HELPER blackhole "$work/blackhole.port" "$HOLD" "$work/blackhole.jsonl" &
helper_pids="$helper_pids $!"
wait_for 10 "the notify socket" test -S "$work/notify.sock"
wait_for 10 "the black hole's port" test -s "$work/blackhole.port"
port=$(cat "$work/blackhole.port")

# msgs JQ_CONDITION: the matching messages, one JSON object a line.
msgs() {
	jq -c "select($1)" "$messages" 2>/dev/null
}
has_msg() {
	[ -n "$(msgs "$1")" ]
}
# The last STATUS= text.
last_status() {
	msgs '.msg | startswith("STATUS=")' | tail -n 1 | jq -r '.msg'
}
status_matches() {
	last_status | grep -q -- "$1"
}

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE nt_fast (id INT PRIMARY KEY, v INT)"
write_conf "$work/nt.conf" <<EOF2
control_socket = $work/control.sock
[feed fast]
tables = nt_fast
start = now
[sink fast-socket]
feed = fast
type = unix
path = $work/fast.sock
[feed slow]
dsn = postgresql://root@127.0.0.1:$port/defaultdb?sslmode=disable
tables = nt_slow
start = now
backoff_initial = 30s
backoff_max = 30s
[sink slow-socket]
feed = slow
type = unix
path = $work/slow.sock
EOF2

NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=2000000
export NOTIFY_SOCKET WATCHDOG_USEC
start_daemon "$work/nt.conf"
unset NOTIFY_SOCKET WATCHDOG_USEC

# Built without libsystemd (configure --without-systemd) the documented
# behaviour is one warning and no message at all.
if ! grep -q '^#define HAVE_SYSTEMD 1' "$builddir/config.h"; then
	wait_for 10 "feed fast streaming" grep -q 'feed fast: .* -> streaming' "$daemon_log"
	sleep 2
	[ "$(grep -c 'NOTIFY_SOCKET is set but crdbfeedd was built without systemd support' "$daemon_log")" -eq 1 ] ||
		fail "no single warning about NOTIFY_SOCKET without systemd support"
	[ ! -s "$messages" ] || fail "messages sent without systemd support: $(cat "$messages")"
	stop_daemon
	pass "built without systemd: one warning, no notification"
	exit 0
fi

# 1. READY=1 only after the black hole dropped the slow feed.
wait_for 20 "READY=1" has_msg '.msg | split("\n") | index("READY=1") != null'
ready_t=$(msgs '.msg | split("\n") | index("READY=1") != null' | head -n 1 | jq '.t')
accept_t=$(jq -s 'map(select(.event == "accept")) | .[0].t // empty' "$work/blackhole.jsonl")
close_t=$(jq -s 'map(select(.event == "close")) | .[0].t // empty' "$work/blackhole.jsonl")
[ -n "$accept_t" ] || fail "the slow feed never connected to the black hole"
[ -n "$close_t" ] || fail "READY=1 came although the slow feed's server never answered: $(cat "$messages")"
awk -v r="$ready_t" -v c="$close_t" 'BEGIN { exit !(r > c) }' ||
	fail "READY=1 at $ready_t came before the slow feed's attempt ended at $close_t"
awk -v r="$ready_t" -v a="$accept_t" -v h="$HOLD" 'BEGIN { exit !(r - a >= h - 0.2) }' ||
	fail "READY=1 only $(awk -v r="$ready_t" -v a="$accept_t" 'BEGIN { print r - a }') s after the slow feed's connect"
grep -q 'feed fast: .* -> streaming' "$daemon_log" || fail "READY=1 before feed fast streamed"
grep -q 'feed slow: .* -> reconnecting\|feed slow: .* -> backoff' "$daemon_log" ||
	fail "no backoff of feed slow in the log"
[ "$(msgs '.msg | split("\n") | index("READY=1") != null' | wc -l)" -eq 1 ] || fail "more than one READY=1 at start"
pass "READY=1 $(awk -v r="$ready_t" -v a="$accept_t" 'BEGIN { printf "%.2f", r - a }') s after the slow feed's connect, after its failure"

# 2. STATUS=: states and subscribers, then events per second and lag.
wait_for 10 "a STATUS with both feeds' states" status_matches \
	'^STATUS=feeds: 1 streaming, 1 reconnecting, 0 failed, 0 paused; .*; 0 subscribers$'
subscribe "$work/fast.sock" "$work/fast.out" --duration 60
wait_for 10 "STATUS with 1 subscriber" status_matches '; 1 subscribers$'
wait_for 10 "a lag for feed fast" status_matches 'worst lag [0-9][0-9]*\.[0-9]s (fast)'
# 80 rows, one statement each, spread over a few seconds.
insert_start=$(date +%s.%N)
i=1
while [ $i -le 80 ]; do
	sql "INSERT INTO nt_fast VALUES ($i, $i)"
	i=$((i + 1))
	sleep 0.05
done
insert_end=$(date +%s.%N)
wait_for 20 "80 rows at the subscriber" rows_at_least "$work/fast.out" 80
avg_rate=$(awk -v a="$insert_start" -v b="$insert_end" 'BEGIN { printf "%.1f", 80 / (b - a) }')
rates=$(msgs '.msg | startswith("STATUS=")' | jq -r '.msg' |
	sed -n 's/.*; \([0-9][0-9]*\.[0-9]\) events\/s;.*/\1/p')
max_rate=$(echo "$rates" | sort -n | tail -n 1)
# The busiest one-second window sees at least about the average insert
# rate, and never more than the 80 rows (a loaded machine delivers them in
# bursts; 1.5: timer jitter).
awk -v m="$max_rate" -v r="$avg_rate" 'BEGIN { exit !(m >= r / 2 && m <= 80 * 1.5) }' ||
	fail "events/s never showed the workload of $avg_rate rows/s (rates seen: $(echo $rates))"
wait_for 10 "events/s back to 0.0" status_matches '; 0\.0 events/s;'
# The text is sent only when it changed.
dups=$(msgs '.msg | startswith("STATUS=")' | jq -r '.msg' | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "the same STATUS= was sent twice in a row"
control() {
	printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$work/control.sock"
}
control "pause fast" | jq -e '.ok == true' >/dev/null || fail "pause fast refused"
wait_for 10 "STATUS with feed fast paused" status_matches \
	'^STATUS=feeds: 0 streaming, 1 reconnecting, 0 failed, 1 paused;'
control "resume fast" | jq -e '.ok == true' >/dev/null || fail "resume fast refused"
wait_for 20 "STATUS with feed fast streaming again" status_matches \
	'^STATUS=feeds: 1 streaming, 1 reconnecting, 0 failed, 0 paused;'
pass "STATUS= followed the workload (peak $max_rate events/s for $avg_rate rows/s inserted) and a pause"

# 3. WATCHDOG=1 about every second (half of WATCHDOG_USEC).
wd_intervals() {
	msgs '.msg == "WATCHDOG=1"' | jq -s -r '[.[].t] | . as $t | range(1; length) | $t[.] - $t[. - 1]'
}
wd_count() {
	[ "$(msgs '.msg == "WATCHDOG=1"' | wc -l)" -ge "$1" ]
}
wait_for 15 "6 watchdog pings" wd_count 6
median=$(wd_intervals | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }')
awk -v m="$median" 'BEGIN { exit !(m >= 0.8 && m <= 1.3) }' ||
	fail "watchdog pings every $median s, want about 1 s: $(wd_intervals | tr '\n' ' ')"
# A stopped process sends nothing (from 1 s after SIGSTOP: a ping sent
# before it may reach a busy listener late); the pings resume after SIGCONT.
kill -STOP "$daemon_pid"
stop_t=$(/usr/bin/python3 -c 'import time; print(time.monotonic())')
sleep 3
cont_t=$(/usr/bin/python3 -c 'import time; print(time.monotonic())')
kill -CONT "$daemon_pid"
n_stopped=$(msgs ".msg == \"WATCHDOG=1\" and .t > $stop_t + 1.0 and .t < $cont_t" | wc -l)
[ "$n_stopped" -eq 0 ] || fail "$n_stopped watchdog pings while the daemon was stopped"
wd_after() {
	[ "$(msgs ".msg == \"WATCHDOG=1\" and .t > $cont_t" | wc -l)" -ge 2 ]
}
wait_for 10 "watchdog pings after SIGCONT" wd_after
pass "WATCHDOG=1 every $median s (median), none while stopped"

# 4. SIGHUP: RELOADING=1 + MONOTONIC_USEC, then READY=1.
before_usec=$(/usr/bin/python3 -c 'import time; print(time.monotonic_ns() // 1000)')
nready_before=$(msgs '.msg | split("\n") | index("READY=1") != null' | wc -l)
kill -HUP "$daemon_pid"
wait_for 10 "RELOADING=1" has_msg '.msg | startswith("RELOADING=1")'
reload_ready() {
	[ "$(msgs '.msg | split("\n") | index("READY=1") != null' | wc -l)" -gt "$nready_before" ]
}
wait_for 10 "READY=1 after the reload" reload_ready
after_usec=$(/usr/bin/python3 -c 'import time; print(time.monotonic_ns() // 1000)')
reloading=$(msgs '.msg | startswith("RELOADING=1")' | head -n 1)
usec=$(printf '%s\n' "$reloading" | jq -r '.msg' | sed -n 's/^MONOTONIC_USEC=\([0-9]*\)$/\1/p')
[ -n "$usec" ] || fail "RELOADING=1 without MONOTONIC_USEC: $reloading"
[ "$usec" -ge "$before_usec" ] && [ "$usec" -le "$after_usec" ] ||
	fail "MONOTONIC_USEC=$usec is not between $before_usec and $after_usec"
order=$(jq -s -r '[.[] | .msg | split("\n")[0]] | map(select(. == "READY=1" or . == "RELOADING=1")) | join(",")' "$messages")
[ "$order" = "READY=1,RELOADING=1,READY=1" ] || fail "READY/RELOADING order is $order"
pass "SIGHUP: RELOADING=1 (MONOTONIC_USEC within the reload), then READY=1"

# The control socket's reload notifies the same way.
control reload | jq -e '.ok == true' >/dev/null || fail "reload through the control socket refused"
ready_order() {
	jq -s -r '[.[] | .msg | split("\n")[0]] | map(select(. == "READY=1" or . == "RELOADING=1")) | join(",")' "$messages"
}
order_is() {
	[ "$(ready_order)" = "$1" ]
}
wait_for 10 "RELOADING=1 and READY=1 of the control reload" \
	order_is "READY=1,RELOADING=1,READY=1,RELOADING=1,READY=1"
pass "control reload: RELOADING=1, then READY=1"

# 5. SIGTERM: STOPPING=1, clean exit; every message from the daemon's pid.
pid=$daemon_pid
stop_daemon
wait_for 5 "STOPPING=1" has_msg '.msg | startswith("STOPPING=1")'
others=$(msgs ".pid != $pid" | head -n 3)
[ -z "$others" ] || fail "messages from another pid than the daemon's $pid: $others"
pass "SIGTERM: STOPPING=1; all $(wc -l <"$messages") messages from pid $pid"
