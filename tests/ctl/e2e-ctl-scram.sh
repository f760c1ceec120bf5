#!/bin/sh
# e2e-ctl-scram.sh: crdbfeedctl scram-verifier and notify-sql. The verifier
# is PostgreSQL's: scram-check.py recomputes it with PostgreSQL's algorithm,
# checked first against a verifier the crdbsim-env PostgreSQL made itself
# (CREATE ROLE ... PASSWORD), and PostgreSQL takes crdbfeedctl's verifier
# as a verifier (stored as given, not hashed again). A verifier appended
# with --append lets psycopg in through SCRAM on the LISTEN endpoint
# (listen-pg-driver); a wrong password does not. Refusals: empty, non-ASCII
# password; bad user names; iterations out of range; --append to a file
# others may read, a symbolic link, a user already there. Typed at a
# terminal: asked twice, not echoed. notify-sql prints conf/notify.sql, or
# one line naming the missing file.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

DRIVER=$builddir/tests/daemon/listen-pg-driver
CHECK="/usr/bin/python3 $srcdir/tests/ctl/scram-check.py"
[ -x "$DRIVER" ] || fail "$DRIVER is not built"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "python3-psycopg is needed"
[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set: run under tests/crdbsim/crdbsim-env"
pw='c0rrect horse'

# --- refusals: one line each, nothing on stdout
printf '\n' | ctl_expect 2 'the password is empty' scram-verifier alice
: | ctl_expect 2 'the password is empty' scram-verifier alice
printf 'p\303\244ss\n' | ctl_expect 2 'the password is not plain ASCII' scram-verifier alice
printf '%s\n' "$pw" | ctl_expect 2 "user name with a ':'" scram-verifier 'al:ice'
printf '%s\n' "$pw" | ctl_expect 2 'user name with a space' scram-verifier 'al ice'
printf '%s\n' "$pw" | ctl_expect 2 "user name starting with '#'" scram-verifier '#alice'
long_user=$(printf '%064d' 0)
printf '%s\n' "$pw" | ctl_expect 2 'user name of 64 bytes \(1 to 63\)' scram-verifier "$long_user"
printf '%s\n' "$pw" | ctl_expect 2 '--iterations 4095: want a number from 4096 to 10000000' \
	scram-verifier alice --iterations 4095
printf '%s\n' "$pw" | ctl_expect 2 '--iterations 10000001: want' scram-verifier alice --iterations 10000001
printf '%s\n' "$pw" | ctl_expect 2 'usage: crdbfeedctl scram-verifier USER' scram-verifier
head -c 1100 /dev/zero | tr '\0' x | ctl_expect 2 'the password is longer than 1024 bytes' scram-verifier alice
[ ! -s "$work/ctl.out" ] || fail "a refusal printed: $(cat "$work/ctl.out")"

# --- a verifier: its form, a fresh salt each time, the password nowhere
printf '%s\n' "$pw" | ctl_ok scram-verifier alice >"$work/v1"
printf '%s\r\n' "$pw" | ctl_ok scram-verifier alice >"$work/v2"
[ ! -s "$work/ctl.err" ] || fail "scram-verifier wrote to stderr: $(cat "$work/ctl.err")"
b64='[A-Za-z0-9+/]'
grep -Eqx "alice:SCRAM-SHA-256\\\$4096:$b64{22}==\\\$$b64{43}=:$b64{43}=" "$work/v1" ||
	fail "not a verifier line: $(cat "$work/v1")"
! grep -q 'c0rrect' "$work/v1" || fail "the password was printed"
! cmp -s "$work/v1" "$work/v2" || fail "two verifiers with the same salt"
$CHECK "$pw" "$(cat "$work/v1")" >/dev/null || fail "crdbfeedctl's verifier is not the password's"
$CHECK "$pw" "$(cat "$work/v2")" >/dev/null || fail "a CRLF line end was kept in the password"
$CHECK "c0rrect horsf" "$(cat "$work/v1")" >/dev/null 2>&1 && fail "scram-check.py accepts a wrong password"
printf '%s\n' "$pw" | ctl_ok scram-verifier alice --iterations 5000 >"$work/v5000"
grep -q '^alice:SCRAM-SHA-256\$5000:' "$work/v5000" || fail "--iterations ignored: $(cat "$work/v5000")"
$CHECK "$pw" "$(cat "$work/v5000")" >/dev/null || fail "the 5000-iteration verifier does not verify"

# --- PostgreSQL: its own verifier passes the same check (the check is
# PostgreSQL's algorithm), and crdbfeedctl's is taken as a verifier.
pgsql() { psql -X -q -At -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
pgsql "SET password_encryption = 'scram-sha-256'; CREATE ROLE notify_pw LOGIN PASSWORD '$pw'" ||
	fail "CREATE ROLE with a password failed"
pg_verifier=$(pgsql "SELECT rolpassword FROM pg_authid WHERE rolname = 'notify_pw'")
$CHECK "$pw" "$pg_verifier" >/dev/null || fail "scram-check.py disagrees with PostgreSQL's verifier $pg_verifier"
ours=$(sed 's/^alice://' "$work/v1")
pgsql "ALTER ROLE notify_pw PASSWORD '$ours'" || fail "ALTER ROLE with crdbfeedctl's verifier failed"
[ "$(pgsql "SELECT rolpassword FROM pg_authid WHERE rolname = 'notify_pw'")" = "$ours" ] ||
	fail "PostgreSQL did not take crdbfeedctl's verifier as one (hashed it as a password?)"

# --- --append: created 0600, a second user added, refusals
auth=$work/listen.auth
printf '%s\n' "$pw" | ctl_ok scram-verifier alice --append "$auth"
[ "$(stat -c %a "$auth")" = 600 ] || fail "--append made mode $(stat -c %a "$auth"), want 600"
printf 'b0b secret\n' | ctl_ok scram-verifier bob --append "$auth"
[ "$(grep -c '^alice:SCRAM-SHA-256\$4096:' "$auth")" = 1 ] && [ "$(grep -c '^bob:' "$auth")" = 1 ] ||
	fail "the verifier file holds: $(cat "$auth")"
printf 'other\n' | ctl_expect 1 "$auth already has a line for user alice" scram-verifier alice --append "$auth"
printf 'x:SCRAM\n#alicia:x\n' >"$work/prefix.auth"
chmod 600 "$work/prefix.auth"
printf 'other\n' | ctl_ok scram-verifier alice --append "$work/prefix.auth"
chmod 604 "$work/prefix.auth"
printf 'other\n' | ctl_expect 1 '.*: others may read or write it \(mode 604\)' scram-verifier carol --append "$work/prefix.auth"
ln -s "$auth" "$work/link.auth"
printf 'other\n' | ctl_expect 1 '.*link.auth: a symbolic link' scram-verifier carol --append "$work/link.auth"
printf 'tail' >"$work/nonl.auth"
chmod 600 "$work/nonl.auth"
printf 'other\n' | ctl_ok scram-verifier carol --append "$work/nonl.auth"
[ "$(sed -n 2p "$work/nonl.auth" | cut -d: -f1)" = carol ] || fail "appended to a line without its end: $(cat "$work/nonl.auth")"

# --- the LISTEN endpoint takes the file: psycopg in with the password,
# not with another
mkfifo "$work/ep.cmd"
"$DRIVER" --dir "$work" --tcp 127.0.0.1 --auth-file "$auth" <"$work/ep.cmd" >"$work/ep.out" 2>"$work/ep.err" &
driver=$!
sub_pids="$sub_pids $driver"
exec 3>"$work/ep.cmd"
wait_for 10 "the endpoint" grep -q '^ready' "$work/ep.out"
port=$(sed -n 's/^ready tcp_port=//p' "$work/ep.out")
/usr/bin/python3 - "host=127.0.0.1 port=$port dbname=any" "$pw" >"$work/py.out" 2>&1 <<'PY' ||
import sys, psycopg
dsn, pw = sys.argv[1], sys.argv[2]
for user, password in (("alice", pw), ("bob", "b0b secret")):
    with psycopg.connect(dsn, user=user, password=password, autocommit=True) as conn:
        conn.execute("LISTEN orders")
        print("in", user)
for user, password in (("alice", pw + "!"), ("bob", pw)):
    try:
        psycopg.connect(dsn, user=user, password=password).close()
        print("let in", user, "with a wrong password")
    except psycopg.OperationalError as e:
        print("refused", user, "password authentication failed" in str(e))
PY
	fail "psycopg on the endpoint: $(cat "$work/py.out")"
printf 'in alice\nin bob\nrefused alice True\nrefused bob True\n' >"$work/py.want"
cmp -s "$work/py.want" "$work/py.out" || fail "psycopg on the endpoint: $(cat "$work/py.out")"
exec 3>&-
wait "$driver" || fail "the endpoint exited $?: $(cat "$work/ep.err")"
sub_pids=

# --- typed at a terminal: two prompts, no echo; two different typings refused
/usr/bin/python3 - "$CRDBFEEDCTL" >"$work/tty.out" 2>&1 <<'PY' || fail "at a terminal: $(cat "$work/tty.out")"
import os, pty, subprocess, sys, time

def run(first, second):
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.argv[1], "scram-verifier", "tina"], stdin=slave,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    for typed in (first, second):
        while not seen.endswith(b": "):
            seen += os.read(master, 1024)
        time.sleep(0.1)  # the echo goes off once the prompt is out
        os.write(master, typed + b"\n")
        seen += b"|"
    out = p.stdout.read()
    p.wait()
    try:
        while True:
            seen += os.read(master, 1024)
    except OSError:
        pass
    os.close(master)
    return p.returncode, out, seen

rc, out, seen = run(b"tty pass", b"tty pass")
assert rc == 0 and out.startswith(b"tina:SCRAM-SHA-256$4096:"), (rc, out, seen)
assert b"tty pass" not in seen, seen
assert seen.startswith(b"Password for tina: |"), seen
assert b"Again: " in seen, seen
rc, out, seen = run(b"tty pass", b"tty pasS")
assert rc == 2 and out == b"" and b"the two passwords typed differ" in seen, (rc, out, seen)
print(out.decode() if out else "ok")
PY

# --- notify-sql
CRDBFEEDCTL_NOTIFY_SQL=$srcdir/conf/notify.sql ctl_ok notify-sql >"$work/notify.sql"
cmp -s "$srcdir/conf/notify.sql" "$work/notify.sql" || fail "notify-sql printed another text"
CRDBFEEDCTL_NOTIFY_SQL=$work/none.sql ctl_expect 1 "$work/none.sql: No such file or directory" notify-sql
ctl_expect 2 'usage: crdbfeedctl notify-sql' notify-sql extra
# Without the variable: the installed file, or one line naming where it
# should be.
ctl_run notify-sql >"$work/installed.sql"
if [ "$ctl_rc" -eq 0 ]; then
	cmp -s "$srcdir/conf/notify.sql" "$work/installed.sql" || fail "the installed notify.sql differs"
else
	grep -Eqx 'crdbfeedctl: /.*/crdbfeed/notify.sql: No such file or directory' "$work/ctl.err" ||
		fail "notify-sql without the file: $(cat "$work/ctl.err")"
fi
pass "scram-verifier (PostgreSQL's verifier, refusals, --append, the endpoint lets psycopg in, a terminal), notify-sql"
