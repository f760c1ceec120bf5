#!/bin/sh
# e2e-listen-pg.sh: the PostgreSQL-protocol LISTEN endpoint, alone on an
# event loop (listen-pg-driver), with real clients: psycopg's
# conn.notifies() over the Unix socket (peer credentials) and over TCP
# (SCRAM-SHA-256), psql's "Asynchronous notification" lines, libpq's
# PQnotifies after a LISTEN through the extended protocol; then hostile
# clients (garbage start-up, a huge message, wrong passwords, a refused
# peer, too many connections, a listener that never reads), each refused
# clearly while the others go on; TLS files that do not load. Needs /usr/bin/python3 with psycopg 3.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

DRIVER=$builddir/tests/daemon/listen-pg-driver
LIBPQ=$builddir/tests/daemon/listen-pg-libpq
PSYCOPG="/usr/bin/python3 $srcdir/tests/daemon/listen-pg-psycopg.py"
[ -x "$DRIVER" ] || fail "$DRIVER is not built"
[ -x "$LIBPQ" ] || fail "$LIBPQ is not built"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "python3-psycopg is needed"
# Under CRDBFEEDD_WRAPPER (valgrind in CI) the driver runs wrapped as the
# daemon would, its log checked at the end with the daemon's.
if [ -n "${CRDBFEEDD_WRAPPER:-}" ]; then
	printf '#!/bin/sh\nexec '"'%s'"' --mode=execute %s '"'%s'"' "$@"\n' \
		"$libtool" "$wrapper_prefix" "$DRIVER" >"$work/driver-wrapped"
	chmod +x "$work/driver-wrapped"
	DRIVER=$work/driver-wrapped
fi

# Endpoint A: Unix socket only, everyone allowed. Endpoint B: TCP with
# SCRAM, and a Unix socket allowing only a uid nobody here has.
mkdir -p "$work/a" "$work/b"
"$DRIVER" --verifier alice 'c0rrect horse' >"$work/auth"
mkfifo "$work/a.cmd" "$work/b.cmd"
"$DRIVER" --dir "$work/a" --port 5433 --max-channels 4 --max-queued 65536 \
	<"$work/a.cmd" >"$work/a.out" 2>"$work/a.err" &
driver_a=$!
sub_pids="$sub_pids $driver_a"
exec 3>"$work/a.cmd"
"$DRIVER" --dir "$work/b" --uid 65533 --tcp 127.0.0.1 --auth-file "$work/auth" \
	--max-listeners 3 <"$work/b.cmd" >"$work/b.out" 2>"$work/b.err" &
driver_b=$!
sub_pids="$sub_pids $driver_b"
exec 4>"$work/b.cmd"
wait_for 10 "endpoint A" grep -q '^ready' "$work/a.out"
wait_for 10 "endpoint B" grep -q '^ready' "$work/b.out"
port=$(sed -n 's/^ready tcp_port=//p' "$work/b.out")
A="host=$work/a port=5433 user=app dbname=any"
B="host=127.0.0.1 port=$port user=alice dbname=any"

# stats_has A|B PATTERN: the endpoint's latest stats line matches PATTERN.
stats_has() {
	if [ "$1" = A ]; then echo stats >&3; else echo stats >&4; fi
	sleep 0.05
	grep '^stats' "$work/$(echo "$1" | tr AB ab).out" | tail -n 1 | grep -q -- "$2"
}

# 1. psycopg over the Unix socket: LISTEN Orders (folded) inside psycopg's
# transaction, a cancel request, two notifications in order, one on
# "Orders" (another channel: names are matched exactly), UNLISTEN.
$PSYCOPG "$A" Orders 2 >"$work/py.out" 2>&1 &
py_pid=$!
sub_pids="$sub_pids $py_pid"
wait_for 10 "psycopg listening" grep -q '^listening' "$work/py.out"
echo 'notify orders first payload' >&3
echo 'notify Orders not this one' >&3
echo 'notify orders second' >&3
wait_for 10 "psycopg's UNLISTEN" grep -q '^unlistened' "$work/py.out"
echo 'notify orders after unlisten' >&3
echo 'notify done bye' >&3
wait "$py_pid" || fail "psycopg listener: $(cat "$work/py.out")"
printf 'listening\nnotify orders first payload 77\nnotify orders second 77\nunlistened\ndone\n' >"$work/py.want"
cmp -s "$work/py.want" "$work/py.out" || fail "psycopg got: $(cat "$work/py.out")"
wait_for 10 "the cancel request counted" stats_has A 'cancel_requests=1 '

# 2. psql: LISTEN, a notification, then a statement: psql prints the
# notification's line after it.
# notified_more_than N: endpoint A has answered more than N notify
# commands (counted at each try: wait_for's arguments are expanded once).
notified_more_than() {
	test "$(grep -c '^notified' "$work/a.out")" -gt "$1"
}
wait_for 10 "psycopg's session gone" stats_has A 'sessions=0 '
(
	echo 'LISTEN pings;'
	wait_for 10 "psql's LISTEN" stats_has A 'channels=1 '
	before=$(grep -c '^notified' "$work/a.out")
	echo 'notify pings hello from psql' >&3
	wait_for 10 "the notification queued" notified_more_than "$before"
	echo 'SELECT 1;'
) | psql -X -q -At "$A" >"$work/psql.out" 2>&1 || fail "psql: $(cat "$work/psql.out")"
grep -qx 'Asynchronous notification "pings" with payload "hello from psql" received from server process with PID 77.' \
	"$work/psql.out" || fail "psql printed: $(cat "$work/psql.out")"

# 3. libpq: LISTEN through PQexecParams, PQnotifies after PQconsumeInput.
"$LIBPQ" "$A" Ext 2 >"$work/libpq.out" 2>&1 &
libpq_pid=$!
sub_pids="$sub_pids $libpq_pid"
wait_for 10 "libpq listening" grep -q '^listening' "$work/libpq.out"
echo 'notify ext one' >&3
echo 'notify ext two words' >&3
wait "$libpq_pid" || fail "libpq listener: $(cat "$work/libpq.out")"
printf 'listening\nnotify ext one 77\nnotify ext two words 77\n' >"$work/libpq.want"
cmp -s "$work/libpq.want" "$work/libpq.out" || fail "libpq got: $(cat "$work/libpq.out")"

# 4. TCP with SCRAM: psycopg with the right password; psql with a wrong
# one and with an unknown user gets the same FATAL.
$PSYCOPG "$B password='c0rrect horse'" tcp 1 >"$work/pytcp.out" 2>&1 &
py_pid=$!
sub_pids="$sub_pids $py_pid"
wait_for 10 "psycopg over TCP listening" grep -q '^listening' "$work/pytcp.out"
echo 'notify tcp over scram' >&4
wait_for 10 "psycopg's UNLISTEN over TCP" grep -q '^unlistened' "$work/pytcp.out"
echo 'notify done bye' >&4
wait "$py_pid" || fail "psycopg over TCP: $(cat "$work/pytcp.out")"
grep -qx 'notify tcp over scram 77' "$work/pytcp.out" || fail "psycopg over TCP got: $(cat "$work/pytcp.out")"
for user in alice mallory; do
	PGPASSWORD=wrong psql -X -At "host=127.0.0.1 port=$port user=$user dbname=any" \
		-c 'SELECT 1' >"$work/wrong.out" 2>&1 && fail "a wrong password was let in"
	grep -q "FATAL:  password authentication failed for user \"$user\"" "$work/wrong.out" ||
		fail "wrong password for $user: $(cat "$work/wrong.out")"
done
wait_for 10 "two failed authentications" stats_has B 'auth_failed=2 '

# 5. A peer the allow-list does not name is refused after its start-up.
psql -X -At "host=$work/b port=5432 user=app" -c 'SELECT 1' >"$work/peer.out" 2>&1 &&
	fail "a peer outside the allow-list was let in"
grep -q "this peer's uid and gid are not allowed" "$work/peer.out" ||
	fail "refused peer: $(cat "$work/peer.out")"

# 6. Garbage and a huge message: a clear error each, endpoint A unharmed.
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' |
	socat -t 2 - "UNIX-CONNECT:$work/a/.s.PGSQL.5433" >"$work/garbage.out" 2>&1 || true
grep -q 'invalid length of start-up packet' "$work/garbage.out" ||
	fail "garbage start-up: $(cat "$work/garbage.out")"
/usr/bin/python3 - "$work/a/.s.PGSQL.5433" >"$work/huge.out" 2>&1 <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = struct.pack("!i", 196608) + b"user\0app\0\0"
s.sendall(struct.pack("!i", len(body) + 4) + body)
s.sendall(b"Q" + struct.pack("!i", 1 << 24) + b"SELECT 1")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode("utf-8", "replace"))
EOF
grep -q 'over the limit of 65536' "$work/huge.out" || fail "huge message: $(cat "$work/huge.out")"
wait_for 10 "two protocol errors counted" stats_has A 'protocol_errors=2 '
[ "$(psql -X -At "$A" -c 'SELECT 1')" = 1 ] || fail "endpoint A stopped answering"

# 7. Too many connections on B (3): the fourth is told so; the three
# still get notifications.
/usr/bin/python3 - "$B password='c0rrect horse'" >"$work/hold.out" 2>&1 <<'EOF' &
import sys, psycopg
conns = [psycopg.connect(sys.argv[1], autocommit=True) for _ in range(3)]
for c in conns:
    c.execute("LISTEN hold")
print("held", flush=True)
for c in conns:
    for n in c.notifies():
        print("held-notified %s" % n.payload, flush=True)
        break
EOF
hold_pid=$!
sub_pids="$sub_pids $hold_pid"
wait_for 10 "three held sessions" grep -q '^held' "$work/hold.out"
PGPASSWORD='c0rrect horse' psql -X -At "$B" -c 'SELECT 1' >"$work/full.out" 2>&1 &&
	fail "a fourth session was let in"
grep -q 'sorry, too many clients already' "$work/full.out" || fail "fourth session: $(cat "$work/full.out")"
echo 'notify hold still here' >&4
wait "$hold_pid" || fail "held sessions: $(cat "$work/hold.out")"
[ "$(grep -c '^held-notified still here' "$work/hold.out")" = 3 ] ||
	fail "held sessions got: $(cat "$work/hold.out")"
wait_for 10 "the refusal counted" stats_has B 'refused_full=1 '

# 8. A listener that never reads: past 64 KiB queued it is told with a
# NOTICE and closed; the endpoint goes on.
/usr/bin/python3 - "$work/a/.s.PGSQL.5433" "$work/read-now" >"$work/slow.out" 2>&1 <<'EOF' &
import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
body = struct.pack("!i", 196608) + b"user\0slow\0\0"
s.sendall(struct.pack("!i", len(body) + 4) + body)
s.sendall(b"Q" + struct.pack("!i", 16) + b"LISTEN slow\0")
print("listening", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print("notice" if b"crdbfeedd: listener too slow, closing" in data else "no notice", flush=True)
EOF
slow_pid=$!
sub_pids="$sub_pids $slow_pid"
wait_for 10 "the slow listener's LISTEN" stats_has A 'channels=1 '
payload=$(head -c 7000 /dev/zero | tr '\0' x)
i=0
while [ $i -lt 100 ] && ! stats_has A 'dropped_slow=1 '; do
	echo "notify slow $payload" >&3
	i=$((i + 1))
done
wait_for 10 "the slow listener dropped" stats_has A 'dropped_slow=1 '
touch "$work/read-now"
wait "$slow_pid" || true
grep -qx notice "$work/slow.out" || fail "slow listener: $(cat "$work/slow.out")"
[ "$(psql -X -At "$A" -c 'SELECT 1')" = 1 ] || fail "endpoint A stopped answering after the slow listener"

# TLS files: a good pair loads; a missing certificate or a key of another
# certificate stops the endpoint with one line naming the file.
command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
. "$srcdir/tests/security/tls-lib.sh"
mkdir "$work/pki"
make_ca "$work/pki" ca
make_ca "$work/pki" other
tls_driver() {
	# An empty pipe, not /dev/null: epoll cannot watch /dev/null.
	: | "$DRIVER" --tcp 127.0.0.1 --auth-file "$work/auth" --tls-cert "$1" \
		--tls-key "$2" >"$work/tls.out" 2>&1
}
tls_driver "$work/pki/ca.crt" "$work/pki/ca.key" || fail "a good pair: $(cat "$work/tls.out")"
grep -q '^ready' "$work/tls.out" || fail "a good pair: $(cat "$work/tls.out")"
! tls_driver "$work/pki/missing.crt" "$work/pki/ca.key" || fail "a missing certificate loaded"
[ "$(wc -l <"$work/tls.out")" = 1 ] &&
	grep -q "^listen-pg-driver: listen_pg: TLS certificate $work/pki/missing.crt: .*No such file" "$work/tls.out" ||
	fail "a missing certificate: $(cat "$work/tls.out")"
! tls_driver "$work/pki/ca.crt" "$work/pki/other.key" || fail "a key of another certificate loaded"
grep -qx "listen-pg-driver: listen_pg: TLS key $work/pki/other.key does not match certificate $work/pki/ca.crt" "$work/tls.out" ||
	fail "a key of another certificate: $(cat "$work/tls.out")"

# End of input: the drivers close their endpoints and exit cleanly.
exec 3>&- 4>&-
wait "$driver_a" || fail "driver A exited $?: $(cat "$work/a.err")"
wait "$driver_b" || fail "driver B exited $?: $(cat "$work/b.err")"
# Sanitizer builds report here (UBSan does not change the exit status).
! grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$work/a.err" "$work/b.err" ||
	fail "sanitizer report from a driver: $(cat "$work/a.err" "$work/b.err")"
sub_pids=
pass "psycopg (Unix, TCP+SCRAM), psql, libpq extended; garbage, huge, wrong passwords, refused peer, too many, too slow"
