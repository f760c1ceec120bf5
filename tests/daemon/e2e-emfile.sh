#!/bin/sh
# e2e-emfile.sh: out of file descriptors. With a low `ulimit -n`, more
# subscribers than descriptors connect: accept(2) fails with EMFILE, the
# sink stops accepting for a while (logged) instead of spinning, and once
# subscribers leave, the waiting ones are accepted and get the feed's lines.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE emfile_t (id INT PRIMARY KEY)"
write_conf "$work/emf.conf" <<EOF2
[feed emf]
tables = emfile_t
start = now
[sink emf-socket]
feed = emf
type = unix
path = $work/emf.sock
EOF2
daemon_log=$work/crdbfeedd.log
(ulimit -n 24 && exec "$CRDBFEEDD" -v -c "$work/emf.conf") >/dev/null 2>>"$daemon_log" &
daemon_pid=$!
wait_for 20 "the socket" test -S "$work/emf.sock"
wait_for 20 "streaming" grep -q 'starting -> streaming' "$daemon_log"

# 30 subscribers, more than the daemon has descriptors for: 20 leave
# after 10 s, the last 10 stay for 40 s. Starting a subscriber takes a
# python start-up each, so the first ones must stay long enough for the
# last ones to be connecting while they still hold their descriptors.
i=0
while [ $i -lt 30 ]; do
	if [ $i -lt 20 ]; then stay=10; else stay=40; fi
	subscribe "$work/emf.sock" "$work/s$i.out" --duration $stay
	i=$((i + 1))
done
wait_for 20 "the accept back-off" grep -q 'accept: Too many open files; pausing accepts' "$daemon_log"
cpu_before=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
sleep 2
cpu_after=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
[ $((cpu_after - cpu_before)) -lt 100 ] || fail "the daemon spins while out of descriptors"
# Once the first ones leave, the waiting ones are accepted and served.
i=20
while [ $i -lt 30 ]; do
	wait_for 30 "subscriber $i served" has_line "$work/s$i.out" '.type == "state"'
	i=$((i + 1))
done
sql "INSERT INTO emfile_t VALUES (1)"
i=20
while [ $i -lt 30 ]; do
	wait_for 30 "the row at subscriber $i" has_line "$work/s$i.out" '.type == "row"'
	i=$((i + 1))
done
daemon_alive || fail "the daemon died"
stop_daemon
pass "EMFILE pauses accepting; the subscribers that waited were served"
