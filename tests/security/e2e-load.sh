#!/bin/sh
# e2e-load.sh: crdbfeedd under load and abuse (load.py runs the phases and
# says what each checks): 1,000 subscribers on one feed for LOAD_SECONDS
# (default 10 in make check; make faults runs 30) of steady inserts, each
# getting every row; 10,000 connects and disconnects with descriptors back
# to the baseline and RSS flat; a low descriptor limit (prlimit on the
# running daemon) that accept backs off from and recovers; subscribers
# that never read or send endless bytes while the daemon's RSS stays under
# its bound. About 50 s (70 s in make faults).
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "python3-psycopg is needed"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE load_t (id INT PRIMARY KEY, v TEXT)"
write_conf "$work/load.conf" <<EOF2
[feed f]
tables = load_t
start = now
[sink main]
feed = f
type = unix
path = $work/main.sock
policy = block
buffer = 1M
[sink hostile]
feed = f
type = unix
path = $work/hostile.sock
policy = drop
buffer = 256k
EOF2
# 1,000 subscribers need more than the common default of 1024
# descriptors: the daemon gets 4096 (a unit would set LimitNOFILE=).
daemon_log=$work/crdbfeedd.log
(ulimit -n 4096 && exec "$CRDBFEEDD" -c "$work/load.conf") >/dev/null 2>>"$daemon_log" &
daemon_pid=$!
wait_for 20 "the sockets" test -S "$work/hostile.sock"
wait_for 20 "streaming" grep -q 'starting -> streaming' "$daemon_log"
# The libtool wrapper (uninstalled builds) execs the real binary: same pid.
real_pid=$daemon_pid

# RSS bounds mean nothing under a sanitizer (shadow memory, quarantine) or
# valgrind: then only descriptors and delivery are checked.
rss_flag=
real_bin=$CRDBFEEDD
[ -x "$(dirname "$CRDBFEEDD")/.libs/crdbfeedd" ] && real_bin=$(dirname "$CRDBFEEDD")/.libs/crdbfeedd
exe=$(basename "$(readlink "/proc/$real_pid/exe")")
if [ -n "${ASAN_OPTIONS:-}" ] || ldd "$real_bin" 2>/dev/null | grep -q 'libasan'; then
	echo "RSS bounds not checked: crdbfeedd uses AddressSanitizer"
	rss_flag=--no-rss-bounds
elif case $exe in *crdbfeedd) false ;; *) true ;; esac; then
	echo "RSS bounds not checked: the daemon runs under $exe"
	rss_flag=--no-rss-bounds
fi

rc=0
/usr/bin/python3 "$srcdir/tests/security/load.py" --pid "$real_pid" $rss_flag \
	--log "$daemon_log" --socket "$work/main.sock" \
	--hostile-socket "$work/hostile.sock" --dsn "$CRDB_DSN" --table load_t \
	--seconds "${LOAD_SECONDS:-10}" --subscribers "${LOAD_SUBSCRIBERS:-1000}" \
	--churn "${LOAD_CHURN:-10000}" || rc=$?
[ $rc -eq 0 ] || fail "load.py reported failures"
daemon_alive || fail "crdbfeedd died"
grep -q 'accept: Too many open files; pausing accepts' "$daemon_log" || fail "no accept back-off logged"
stop_daemon
pass "1,000 subscribers, 10,000 connects, EMFILE recovery, hostile subscribers bounded"
