#!/bin/sh
# e2e-tls.sh: TLS to the database, with certificates made at test time.
#
# 1. libcrdb's crdb_connect against a real PostgreSQL 15 with ssl=on
#    (started here as the postgres user): check_pg_tls runs the cases of
#    tests/security/cases/pg_tls.cases (verify-full with the right CA
#    works; a wrong CA, a wrong host name, no or a wrong client
#    certificate fail with a clear message).
# 2. crdbfeedd against a crdbsim with TLS and required client
#    certificates (its own crdbsim-env with CRDBSIM_ENV_TLS: one crdbsim
#    per PostgreSQL, as the changefeed engine owns the replication slot):
#    feeds with sslmode=verify-full and the sslrootcert, sslcert, sslkey
#    keys (paths, and "credential:NAME" with CREDENTIALS_DIRECTORY) stream
#    events; a feed with the wrong CA and a feed without a client
#    certificate log a clear error and deliver nothing; a plain-text
#    client is refused. check_sim_tls first checks crdbsim's secure mode
#    itself (SSLRequest, refusals, version, a changefeed and both kinds of
#    cancel over TLS).
if [ -z "${E2E_TLS_NESTED:-}" ]; then
	_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
	fail() { echo "FAIL e2e-tls: $*" >&2; exit 1; }
	. "$_srcdir/tests/security/tls-lib.sh"
	command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
	_pki=$(mktemp -d "${CRDBSIM_ENV_DIR:-${TMPDIR:-/tmp}}/e2e-tls-pki.XXXXXX")
	make_test_pki "$_pki"
	E2E_TLS_NESTED=1 E2E_TLS_PKI=$_pki CRDBSIM_ENV_TLS=$_pki \
		exec "$_srcdir/tests/crdbsim/crdbsim-env" "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/security/tls-lib.sh"

CHECK_PG_TLS=$builddir/tests/security/check_pg_tls
[ -x "$CHECK_PG_TLS" ] || fail "$CHECK_PG_TLS is not built"
[ -n "${PG_BINDIR:-}" ] || fail "PG_BINDIR is not set (run under crdbsim-env)"

pki=$E2E_TLS_PKI
make_cert "$pki" pgclient ca tlsuser
make_cert "$pki" pgclient-wrong wrong-ca tlsuser
# The servers run as postgres when we are root: they must read the files.
chmod 755 "$work"

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
as_pg() {
	if [ "$(id -u)" = 0 ]; then as_user postgres "$@"; else "$@"; fi
}

# ---- 1. PostgreSQL with ssl=on ---------------------------------------------
pgdata=$work/pgtls
tls_pg_started=
stop_tls_pg() {
	if [ -n "$tls_pg_started" ]; then
		as_pg "$PG_BINDIR/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
		tls_pg_started=
	fi
}
mkdir "$pgdata"
[ "$(id -u)" != 0 ] || chown postgres "$pgdata"
as_pg "$PG_BINDIR/initdb" -D "$pgdata" -U postgres -A trust --no-sync -E UTF8 \
	--locale=C.UTF-8 >"$work/initdb-tls.log" 2>&1 || fail "initdb: $(tail -n 5 "$work/initdb-tls.log")"
# The key must belong to the server's user and be private.
cp "$pki/server.crt" "$pki/server.key" "$pki/ca.crt" "$pgdata/"
[ "$(id -u)" != 0 ] || chown postgres "$pgdata/server.crt" "$pgdata/server.key" "$pgdata/ca.crt"
chmod 600 "$pgdata/server.key"
{
	echo "listen_addresses = '127.0.0.1'"
	echo "unix_socket_directories = '$pgdata'"
	echo "fsync = off"
	echo "ssl = on"
	echo "ssl_cert_file = 'server.crt'"
	echo "ssl_key_file = 'server.key'"
	echo "ssl_ca_file = 'ca.crt'"
} >>"$pgdata/postgresql.conf"
{
	echo "local all all trust"
	echo "hostnossl all all 127.0.0.1/32 reject"
	echo "hostssl all tlsuser 127.0.0.1/32 cert"
	echo "hostssl all tlsother 127.0.0.1/32 cert"
	echo "hostssl all postgres 127.0.0.1/32 trust"
} >"$pgdata/pg_hba.conf"
attempt=0
while :; do
	attempt=$((attempt + 1))
	tls_pg_port=$(free_port)
	if as_pg "$PG_BINDIR/pg_ctl" -D "$pgdata" -l "$pgdata/postgres.log" \
		-o "-p $tls_pg_port" -w -t 30 start >/dev/null 2>&1; then
		break
	fi
	[ $attempt -lt 5 ] && grep -q 'already in use' "$pgdata/postgres.log" ||
		fail "PostgreSQL with ssl=on did not start: $(tail -n 5 "$pgdata/postgres.log")"
done
tls_pg_started=yes
trap 'stop_tls_pg; cleanup' EXIT
psql -X -q -h "$pgdata" -p "$tls_pg_port" -U postgres -d postgres \
	-c "CREATE ROLE tlsuser LOGIN" -c "CREATE ROLE tlsother LOGIN" ||
	fail "cannot create the certificate users"
rc=0
top_srcdir=$srcdir PGTLS_HOST=localhost PGTLS_PORT=$tls_pg_port PGTLS_PKI=$pki \
	"$CHECK_PG_TLS" >"$work/check_pg_tls.out" 2>&1 || rc=$?
cat "$work/check_pg_tls.out"
[ $rc -eq 0 ] || fail "check_pg_tls failed (exit $rc)"
stop_tls_pg
echo "ok $test_name: crdb_connect over TLS to PostgreSQL (ssl=on)"

# ---- 2. crdbfeedd to a crdbsim with TLS --------------------------------------
case $CRDB_DSN in
*sslmode=verify-full*sslcert=*) ;;
*) fail "CRDB_DSN is not TLS with a client certificate: $CRDB_DSN" ;;
esac
sim_log=$CRDBSIM_ENV_DIR/crdbsim.log
grep -q 'TLS with client certificates' "$sim_log" || fail "crdbsim does not say it runs TLS"
# crdbsim's secure mode itself, through raw sockets, libpq and libcrdb.
CHECK_SIM_TLS=$builddir/tests/security/check_sim_tls
[ -x "$CHECK_SIM_TLS" ] || fail "$CHECK_SIM_TLS is not built"
rc=0
top_srcdir=$srcdir "$CHECK_SIM_TLS" >"$work/check_sim_tls.out" 2>&1 || rc=$?
cat "$work/check_sim_tls.out"
[ $rc -eq 0 ] || fail "check_sim_tls failed (exit $rc)"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE tls_t (id INT PRIMARY KEY, v TEXT)"
tls_sim_port=$CRDBSIM_PORT
tls_dsn="postgresql://root@localhost:$tls_sim_port/defaultdb?sslmode=verify-full"

# A plain-text client is refused as by CockroachDB's secure mode.
psql -X -At "postgresql://root@localhost:$tls_sim_port/defaultdb?sslmode=disable" \
	-c 'SELECT 1' >"$work/plain.out" 2>&1 && fail "plain text accepted by the TLS crdbsim"
grep -q 'SSL connection required' "$work/plain.out" || fail "plain text refused unclearly: $(cat "$work/plain.out")"
[ "$(psql -X -At "$tls_dsn&sslrootcert=$pki/ca.crt&sslcert=$pki/client.crt&sslkey=$pki/client.key" \
	-c 'SELECT count(*) FROM tls_t')" = 0 ] || fail "psql over TLS to crdbsim failed"

creds=$work/creds
mkdir "$creds"
cp "$pki/ca.crt" "$creds/crdb-ca"
cp "$pki/client.crt" "$creds/crdb-cert"
cp "$pki/client.key" "$creds/crdb-key"
chmod 700 "$creds"
chmod 600 "$creds/crdb-key"
export CREDENTIALS_DIRECTORY=$creds
write_conf "$work/tls.conf" <<EOF2
[feed by-path]
dsn = $tls_dsn
tables = tls_t
start = now
sslrootcert = $pki/ca.crt
sslcert = $pki/client.crt
sslkey = $pki/client.key
[feed by-credential]
dsn = $tls_dsn
tables = tls_t
start = now
sslrootcert = credential:crdb-ca
sslcert = credential:crdb-cert
sslkey = credential:crdb-key
[feed wrong-ca]
dsn = $tls_dsn
tables = tls_t
start = now
sslrootcert = $pki/wrong-ca.crt
sslcert = $pki/client.crt
sslkey = $pki/client.key
[feed no-client-cert]
dsn = $tls_dsn
tables = tls_t
start = now
sslrootcert = $pki/ca.crt
[sink path]
feed = by-path
type = unix
path = $work/path.sock
[sink credential]
feed = by-credential
type = unix
path = $work/cred.sock
[sink wrong-ca]
feed = wrong-ca
type = unix
path = $work/wrongca.sock
[sink no-client-cert]
feed = no-client-cert
type = unix
path = $work/nocert.sock
EOF2
start_daemon "$work/tls.conf"
wait_for 20 "the sockets" test -S "$work/nocert.sock"
for s in path cred wrongca nocert; do
	subscribe "$work/$s.sock" "$work/$s.out" --duration 60
done
wait_for 20 "streaming (paths)" has_line "$work/path.out" '.type == "state" and .state == "streaming"'
wait_for 20 "streaming (credentials)" has_line "$work/cred.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO tls_t VALUES (1, 'one'), (2, 'two')"
sql "UPDATE tls_t SET v = 'uno' WHERE id = 1"
wait_for 20 "the rows (paths)" rows_at_least "$work/path.out" 3
wait_for 20 "the rows (credentials)" rows_at_least "$work/cred.out" 3
has_line "$work/path.out" '.type == "row" and .key == [1] and .after.v == "uno"' || fail "paths: the update is missing"
has_line "$work/cred.out" '.type == "row" and .key == [2] and .after.v == "two"' || fail "credentials: the insert is missing"

# The failing feeds: a clear line each in the log, and nothing delivered.
wait_for 20 "the wrong CA's error" grep -q 'wrong-ca.*certificate verify failed' "$daemon_log"
wait_for 20 "the missing certificate's error" grep -q 'no-client-cert.*certificate required' "$daemon_log"
grep -q 'peer did not return a certificate' "$sim_log" ||
	fail "crdbsim did not log the missing client certificate"
# Their subscribers are told, with the reason.
wait_for 10 "the wrong CA's state line" has_line "$work/wrongca.out" \
	'.type == "state" and .state == "failed" and (.reason | test("certificate verify failed"))'
wait_for 10 "the missing certificate's state line" has_line "$work/nocert.out" \
	'.type == "state" and .state == "failed" and (.reason | test("certificate required"))'
sleep 1
[ "$(count_rows "$work/wrongca.out")" -eq 0 ] || fail "the wrong-CA feed delivered rows"
[ "$(count_rows "$work/nocert.out")" -eq 0 ] || fail "the feed without a client certificate delivered rows"
has_line "$work/path.out" '.type == "state" and .state == "streaming"' || fail "no streaming state"
echo "wrong CA:         $(grep -m 1 'wrong-ca.*certificate verify failed' "$daemon_log")"
echo "no client cert:   $(grep -m 1 'no-client-cert.*certificate required' "$daemon_log")"
echo "wrong CA, to its subscriber: $(head -n 1 "$work/wrongca.out")"
daemon_alive || fail "crdbfeedd died"
stop_daemon
grep -q 'BEGIN .*PRIVATE KEY' "$daemon_log" && fail "key material in the log"
pass "crdb_connect to PostgreSQL over TLS; crdbfeedd over verify-full with client certificates (paths and credentials); wrong CA and missing certificate fail clearly"
