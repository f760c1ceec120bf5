#!/bin/sh
# e2e-password.sh: the DSN's password comes from a file (password_file) or
# from systemd's credentials directory (credential), is read at each
# connect, and never shows in the log. Runs its own crdbsim-env with
# crdbsim asking for a password (--password).
if [ -z "${E2E_PASSWORD_NESTED:-}" ]; then
	E2E_PASSWORD_NESTED=1 CRDBSIM_ARGS="--password s3cr3t-pw" \
		exec "${top_srcdir:-$(dirname "$0")/../..}/tests/crdbsim/crdbsim-env" "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

export PGPASSWORD=s3cr3t-pw
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE pw_t (id INT PRIMARY KEY)"
unset PGPASSWORD
mkdir -p "$work/creds"
printf 's3cr3t-pw\n' >"$work/creds/crdb-pw"
printf 's3cr3t-pw\n' >"$work/pw-file"
write_conf "$work/pw.conf" <<EOF2
[feed by-file]
tables = pw_t
start = now
password_file = $work/pw-file
[feed by-credential]
tables = pw_t
start = now
credential = crdb-pw
[sink file-socket]
feed = by-file
type = unix
path = $work/file.sock
[sink cred-socket]
feed = by-credential
type = unix
path = $work/cred.sock
EOF2
export CREDENTIALS_DIRECTORY=$work/creds
start_daemon "$work/pw.conf"
wait_for 20 "the sockets" test -S "$work/cred.sock"
subscribe "$work/file.sock" "$work/file.out" --duration 60
subscribe "$work/cred.sock" "$work/cred.out" --duration 60
wait_for 20 "streaming (file)" has_line "$work/file.out" '.type == "state" and .state == "streaming"'
wait_for 20 "streaming (credential)" has_line "$work/cred.out" '.type == "state" and .state == "streaming"'
PGPASSWORD=s3cr3t-pw sql "INSERT INTO pw_t VALUES (1)"
wait_for 20 "the row (file)" has_line "$work/file.out" '.type == "row" and .key == [1]'
wait_for 20 "the row (credential)" has_line "$work/cred.out" '.type == "row" and .key == [1]'

# A wrong password, read at the next connect: the feed cannot connect and
# says why; the password itself is never logged.
printf 'wrong-pw\n' >"$work/pw-file"
ctl close-all
wait_for 20 "the authentication failure" grep -q 'feed by-file: .*password' "$daemon_log"
printf 's3cr3t-pw\n' >"$work/pw-file"
kill -HUP "$daemon_pid"
wait_for 30 "by-file streaming again" has_line "$work/file.out" '.type == "state" and .state == "streaming" and input_line_number > 2'
stop_daemon
grep -q 's3cr3t-pw\|wrong-pw' "$daemon_log" && fail "a password appears in the log"
grep -q 's3cr3t-pw\|wrong-pw' "$work/file.out" "$work/cred.out" && fail "a password reached a subscriber"
pass "password_file and credential work; passwords never logged"
