#!/bin/sh
# e2e-secrets.sh: secrets never leave crdbfeedd. Its own crdbsim-env runs
# crdbsim with TLS (no client certificates) and --password. Feeds take the
# password inline in the DSN, from password_file and from a systemd
# credential, and a TLS key from a credential; two more feeds have wrong
# passwords (inline and in a file). None of the secret strings (the good
# password, the wrong ones, a line of the key's PEM body) may appear in:
# the daemon's log at debug level (-v), --check-config's output (of the
# good file and of a broken one), --help, the lines subscribers receive
# (rows, states, errors), the control socket's status and metrics, or
# /proc/PID/cmdline and /proc/PID/environ. Quick mode (--dsn on the
# command line) overwrites its argument with the masked DSN at start: the
# password must be gone from /proc/PID/cmdline once it runs.
if [ -z "${E2E_SECRETS_NESTED:-}" ]; then
	_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
	fail() { echo "FAIL e2e-secrets: $*" >&2; exit 1; }
	. "$_srcdir/tests/security/tls-lib.sh"
	command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
	_pki=$(mktemp -d "${CRDBSIM_ENV_DIR:-${TMPDIR:-/tmp}}/e2e-secrets-pki.XXXXXX")
	make_ca "$_pki" ca
	make_cert "$_pki" server ca localhost "DNS:localhost,IP:127.0.0.1"
	# Not named client.*: crdbsim-env would then require certificates.
	make_cert "$_pki" feed-client ca root
	E2E_SECRETS_NESTED=1 E2E_SECRETS_PKI=$_pki CRDBSIM_ENV_TLS=$_pki \
		CRDBSIM_ARGS="--password G00d-Secret-pw-4711" \
		exec "$_srcdir/tests/crdbsim/crdbsim-env" "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

pki=$E2E_SECRETS_PKI
good_pw=G00d-Secret-pw-4711
wrong_inline=Wr0ng-Inline-pw-0815
wrong_file=Wr0ng-File-pw-1234
# A line from the middle of the key's base64 body: any leak of the key
# text shows it.
key_line=$(sed -n 10p "$pki/feed-client.key")
[ ${#key_line} -ge 60 ] || fail "could not take a line of the key"
secrets_file=$work/secrets.list
printf '%s\n' "$good_pw" "$wrong_inline" "$wrong_file" "$key_line" >"$secrets_file"

# leaks FILE...: print the lines holding any secret (fixed strings).
leaks() {
	grep -F -f "$secrets_file" "$@" 2>/dev/null
}
# no_leak WHAT FILE...
no_leak() {
	_nl_what=$1
	shift
	if leaks "$@" >"$work/leak.out"; then
		fail "a secret appears in $_nl_what: $(head -c 300 "$work/leak.out")"
	fi
}

control_ask='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())'

export PGPASSWORD=$good_pw
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE sec_t (id INT PRIMARY KEY, v TEXT)"
unset PGPASSWORD

host_port=localhost:$CRDBSIM_PORT
tls_q="sslmode=verify-full&sslrootcert=$pki/ca.crt"
mkdir -m 700 "$work/creds"
printf '%s\n' "$good_pw" >"$work/creds/crdb-pw"
cp "$pki/feed-client.key" "$work/creds/tls-key"
chmod 600 "$work/creds/"*
printf '%s\n' "$good_pw" >"$work/pw-file"
printf '%s\n' "$wrong_file" >"$work/wrong-pw-file"
chmod 600 "$work/pw-file" "$work/wrong-pw-file"
export CREDENTIALS_DIRECTORY=$work/creds

write_conf "$work/sec.conf" <<EOF2
control_socket = $work/control.sock
[feed inline]
dsn = postgresql://root:$good_pw@$host_port/defaultdb?$tls_q
tables = sec_t
start = now
sslcert = $pki/feed-client.crt
sslkey = credential:tls-key
[feed file]
dsn = postgresql://root@$host_port/defaultdb?$tls_q
password_file = $work/pw-file
tables = sec_t
start = now
[feed credential]
dsn = postgresql://root@$host_port/defaultdb?$tls_q
credential = crdb-pw
tables = sec_t
start = now
[feed wrong-inline]
dsn = postgresql://root:$wrong_inline@$host_port/defaultdb?$tls_q
tables = sec_t
start = now
[feed wrong-file]
dsn = postgresql://root@$host_port/defaultdb?$tls_q
password_file = $work/wrong-pw-file
tables = sec_t
start = now
EOF2
for f in inline file credential wrong-inline wrong-file; do
	printf '[sink %s]\nfeed = %s\ntype = unix\npath = %s\n' "s-$f" "$f" "$work/$f.sock" >>"$work/sec.conf"
done

# --check-config and --help print nothing secret, also for a broken file
# whose bad lines hold secrets.
"$CRDBFEEDD" --check-config -c "$work/sec.conf" >"$work/check.out" 2>&1 ||
	fail "--check-config rejects the file: $(cat "$work/check.out")"
"$CRDBFEEDD" -v --check-config -c "$work/sec.conf" >>"$work/check.out" 2>&1 || true
{
	echo "[crdbfeedd]"
	echo "state_dir = $work/state-bad"
	echo "dsn = postgresql://root:$good_pw@$host_port:notaport/defaultdb"
	echo "passwd = $wrong_inline"
	echo "[feed bad]"
	echo "dsn = host=localhost password=$wrong_file port=x"
	echo "tables = sec_t"
	echo "password_file = relative/$good_pw"
	echo "sslkey = credential:../$wrong_file"
} >"$work/bad.conf"
rc=0
"$CRDBFEEDD" --check-config -c "$work/bad.conf" >"$work/check-bad.out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "--check-config of a broken file: exit $rc, expected 1"
[ "$(wc -l <"$work/check-bad.out")" -ge 2 ] || fail "--check-config of a broken file: $(cat "$work/check-bad.out")"
rc=0
"$CRDBFEEDD" -c "$work/bad.conf" >"$work/run-bad.out" 2>&1 || rc=$?
[ $rc -eq 78 ] || fail "starting on a broken file: exit $rc, expected 78"
"$CRDBFEEDD" --help >"$work/help.out" 2>&1 || true
no_leak "--check-config output" "$work/check.out"
no_leak "--check-config output of a broken file" "$work/check-bad.out" "$work/run-bad.out"
no_leak "--help" "$work/help.out"

# The harness's own variables hold the password (CRDBSIM_ARGS gives it to
# crdbsim): the daemon starts without them, as under systemd.
daemon_log=$work/crdbfeedd.log
env -u CRDBSIM_ARGS -u PGPASSWORD "$CRDBFEEDD" -v -c "$work/sec.conf" >/dev/null 2>>"$daemon_log" &
daemon_pid=$!
wait_for 20 "the sockets" test -S "$work/wrong-file.sock"
for f in inline file credential wrong-inline wrong-file; do
	subscribe "$work/$f.sock" "$work/$f.out" --duration 60
done
for f in inline file credential; do
	wait_for 20 "streaming ($f)" has_line "$work/$f.out" '.type == "state" and .state == "streaming"'
done
PGPASSWORD=$good_pw psql -X -q -v ON_ERROR_STOP=1 "$CRDB_DSN" -c "INSERT INTO sec_t VALUES (1, 'one'), (2, 'two')"
for f in inline file credential; do
	wait_for 20 "the rows ($f)" rows_at_least "$work/$f.out" 2
done
wait_for 20 "the inline wrong password's error" grep -q 'feed wrong-inline: .*password authentication failed' "$daemon_log"
wait_for 20 "the file's wrong password's error" grep -q 'feed wrong-file: .*password authentication failed' "$daemon_log"
[ "$(count_rows "$work/wrong-inline.out")" -eq 0 ] || fail "a feed with a wrong password delivered rows"

# The control socket: status and metrics, with the failing feeds' errors.
/usr/bin/python3 -c "$control_ask" "$work/control.sock" status >"$work/status.out" ||
	fail "no status from the control socket"
jq -e '.feeds' "$work/status.out" >/dev/null || fail "status is not JSON with feeds: $(head -c 300 "$work/status.out")"
/usr/bin/python3 -c "$control_ask" "$work/control.sock" metrics >"$work/metrics.out" ||
	fail "no metrics from the control socket"
grep -q '^crdbfeedd_' "$work/metrics.out" || fail "metrics look wrong: $(head -c 300 "$work/metrics.out")"

# The process: command line and environment.
pid=$daemon_pid
tr '\0' ' ' </proc/$pid/cmdline >"$work/cmdline.out"
tr '\0' '\n' </proc/$pid/environ >"$work/environ.out"
no_leak "/proc/PID/cmdline" "$work/cmdline.out"
no_leak "/proc/PID/environ" "$work/environ.out"
echo "crdbfeedd's environment: $(wc -l <"$work/environ.out") variables, no secret; CREDENTIALS_DIRECTORY=$(grep '^CREDENTIALS_DIRECTORY=' "$work/environ.out" | cut -d= -f2-) (a path)"

# A wrong password in a file, fixed and reloaded: still never logged.
kill -HUP "$daemon_pid"
sleep 1
stop_daemon
no_leak "the daemon's log" "$daemon_log"
for f in inline file credential wrong-inline wrong-file; do
	no_leak "lines sent to subscribers of $f" "$work/$f.out"
done
no_leak "the status output" "$work/status.out"
no_leak "the metrics" "$work/metrics.out"
grep -q '\*\*\*\|password authentication failed' "$daemon_log" || fail "no trace of the failing feeds in the log"
echo "wrong inline password: $(grep -m 1 'feed wrong-inline: .*password authentication failed' "$daemon_log")"

# Quick mode takes the DSN on the command line, then masks it in argv.
env -u CRDBSIM_ARGS "$CRDBFEEDD" --dsn "postgresql://root:$good_pw@$host_port/defaultdb?$tls_q" sec_t \
	>"$work/quick.out" 2>"$work/quick.err" &
quick_pid=$!
sub_pids="$sub_pids $quick_pid"
# quick_masked: the process's argv shows the masked DSN (libtool's wrapper,
# a shell, execs the real program first: on a loaded machine that takes
# a while, so wait for the event rather than a fixed time).
quick_masked() {
	tr '\0' ' ' </proc/$quick_pid/cmdline >"$work/quick-cmdline.out" &&
		grep -qF 'root:***@' "$work/quick-cmdline.out"
}
sleep 1
if [ -r /proc/$quick_pid/cmdline ]; then
	tr '\0' ' ' </proc/$quick_pid/cmdline >"$work/quick-cmdline.out"
	if [ -n "${CRDBFEEDD_WRAPPER:-}" ]; then
		# The pid is the wrapper's (valgrind): its own argv keeps the
		# text; crdbfeedd masks only the copy it was handed.
		echo "quick mode: cmdline not checked under $CRDBFEEDD_WRAPPER"
	else
		wait_for 20 "the masked DSN in quick mode's /proc/PID/cmdline" quick_masked
		grep -qF "$good_pw" "$work/quick-cmdline.out" &&
			fail "quick mode: the --dsn password is still in /proc/PID/cmdline: $(cat "$work/quick-cmdline.out")"
		grep -qF 'root:***@' "$work/quick-cmdline.out" ||
			fail "quick mode: /proc/PID/cmdline does not show the masked DSN: $(cat "$work/quick-cmdline.out")"
		echo "quick mode: /proc/PID/cmdline shows $(cat "$work/quick-cmdline.out")"
	fi
fi
kill "$quick_pid" 2>/dev/null || true
wait "$quick_pid" 2>/dev/null || true
no_leak "quick mode's log" "$work/quick.err"
pass "passwords (inline, password_file, credential, wrong ones) and a TLS key never appear in logs, --check-config, subscribers' lines, status, metrics, cmdline or environ"
