# e2e-lib.sh: shared helpers for crdbfeedd's end-to-end tests (sourced).
# Each test runs under tests/crdbsim/crdbsim-env (CRDB_DSN, CRDBSIM_CONTROL,
# CRDBSIM_ENV_DIR), re-executes itself under timeout(1) so that it can never
# hang, and FAILS (never skips) when crdbsim is missing.
# Needs: psql, socat, jq, /usr/bin/python3.
#
# Environment:
#   CRDBFEEDD          the daemon to test (default: the build tree's)
#   CRDBFEEDD_WRAPPER  a command prefix every crdbfeedd of the test runs
#                      under, through libtool --mode=execute (so that it
#                      reaches the real binary, not libtool's script). When
#                      it starts with valgrind, each process gets its own
#                      log file in the test's directory unless the prefix
#                      names one, and any error or definite leak those logs
#                      report fails the test at its end. CI uses:
#                      valgrind --error-exitcode=99 --leak-check=full
#                      --errors-for-leak-kinds=definite --show-leak-kinds=definite
#   E2E_TIME_FACTOR    a whole number multiplying every wait of the test
#                      (wait_for, subscribe and its subscriber's stall and
#                      duration) and E2E_TIMEOUT, for slow
#                      wrappers (default 1; valgrind wants about 5)
#   E2E_TIMEOUT        seconds the whole test may take, before the factor
#                      (default 150)

case ${E2E_TIME_FACTOR:=1} in
'' | *[!0-9]* | 0) echo "E2E_TIME_FACTOR must be a whole number >= 1, not '$E2E_TIME_FACTOR'" >&2; exit 1 ;;
esac
if [ -z "${E2E_UNDER_TIMEOUT:-}" ]; then
	E2E_UNDER_TIMEOUT=1 exec timeout -k 5 \
		"$((${E2E_TIMEOUT:-150} * E2E_TIME_FACTOR))" "$0" "$@"
fi
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
CRDBFEEDD=${CRDBFEEDD:-$builddir/daemon/crdbfeedd}
SUBSCRIBER="/usr/bin/python3 $srcdir/tests/daemon/subscriber.py"
test_name=$(basename "$0" .sh)

fail() {
	echo "FAIL $test_name: $*" >&2
	if [ -n "${daemon_log:-}" ] && [ -f "$daemon_log" ]; then
		echo "--- crdbfeedd log (last 40 lines) ---" >&2
		tail -n 40 "$daemon_log" >&2
	fi
	exit 1
}

pass() {
	echo "ok $test_name: $*"
}

[ -n "${CRDB_DSN:-}" ] || fail "CRDB_DSN is not set: run under tests/crdbsim/crdbsim-env with crdbsim built"
[ -x "$CRDBFEEDD" ] || fail "$CRDBFEEDD is not built"
for tool in psql socat jq; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done

work=$(mktemp -d "${CRDBSIM_ENV_DIR:-${TMPDIR:-/tmp}}/e2e-$test_name.XXXXXX")
daemon_pid=
daemon_log=
sub_pids=
vg_logs=

# With a wrapper, CRDBFEEDD becomes a script that runs the real daemon
# under it (exec all the way: the daemon keeps the pid the test sees), so
# that the tests' own "$CRDBFEEDD" calls go through it as well.
if [ -n "${CRDBFEEDD_WRAPPER:-}" ]; then
	wrapper_prefix=$CRDBFEEDD_WRAPPER
	case $wrapper_prefix in
	valgrind* | */valgrind*)
		vg_logs=$work/valgrind
		mkdir "$vg_logs"
		case $wrapper_prefix in
		*--log-file=*) ;;
		*) wrapper_prefix="$wrapper_prefix --log-file=$vg_logs/crdbfeedd.%p.log" ;;
		esac
		;;
	esac
	libtool=$builddir/libtool
	[ -x "$libtool" ] || fail "$libtool is needed to run $CRDBFEEDD under a wrapper"
	printf '#!/bin/sh\nexec '"'%s'"' --mode=execute %s '"'%s'"' "$@"\n' \
		"$libtool" "$wrapper_prefix" "$CRDBFEEDD" >"$work/crdbfeedd-wrapped"
	chmod +x "$work/crdbfeedd-wrapped"
	CRDBFEEDD=$work/crdbfeedd-wrapped
fi

# vg_reports: print each valgrind log that reports an error or a definite
# leak. A process that ran to its end says "ERROR SUMMARY: N errors"; one
# killed with SIGKILL says nothing more, so the error headings count too.
vg_reports() {
	[ -n "$vg_logs" ] || return 0
	for _vg_log in "$vg_logs"/*.log; do
		[ -f "$_vg_log" ] || continue
		if grep -q -E '== ERROR SUMMARY: [1-9]|== (Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Argument .* of function|Jump to the invalid address|Process terminating with default action of signal (4|6|7|8|11) )|are definitely lost in loss record' "$_vg_log"; then
			echo "--- $(basename "$_vg_log") ---"
			cat "$_vg_log"
		fi
	done
}

# The EXIT trap (tests that set their own call it from theirs). It must not
# exit unless valgrind found something: the test's own status stands.
cleanup() {
	for p in $sub_pids $daemon_pid; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ -z "$shared_dir" ] || rm -rf "$shared_dir"
	if [ -n "$vg_logs" ]; then
		_vg_found=$(vg_reports) || true
		if [ -n "$_vg_found" ]; then
			echo "FAIL $test_name: valgrind reported errors in crdbfeedd" >&2
			echo "$_vg_found" >&2
			exit 1
		fi
		echo "valgrind: $(ls "$vg_logs" | wc -l) crdbfeedd processes, no error"
	fi
}
trap cleanup EXIT

sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 "$CRDB_DSN" -c "$1"
}

# Send one command to crdbsim's control socket; print its reply.
ctl() {
	reply=$(printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$CRDBSIM_CONTROL")
	case $reply in
	ok*) ;;
	*) fail "crdbsim control '$1' answered '$reply'" ;;
	esac
}

# need_root WHY: fail with one line unless we are root (CI and `make
# check` run as root; WHY says what the test does with it).
need_root() {
	[ "$(id -u)" -eq 0 ] || fail "needs root ($1); run make check as root"
}

# shared_copy FILE: copy FILE where any user can read and run it, and set
# shared_path to the copy. Whatever a test runs as another user (nobody,
# postgres) must not depend on where the checkout is: root's own clone
# lives under /root (0700), out of their reach. The copies go to one
# directory of mode 0755 under /tmp, removed at exit (cleanup). A libtool
# wrapper script is refused: the other user would need the build tree.
shared_dir=
shared_copy() {
	if [ -z "$shared_dir" ]; then
		shared_dir=$(mktemp -d /tmp/e2e-shared.XXXXXX)
		chmod 755 "$shared_dir"
	fi
	if head -c 512 "$1" | grep -q 'libtool'; then
		fail "$1 is a libtool wrapper script: another user cannot run a copy of it"
	fi
	shared_path=$shared_dir/$(basename "$1")
	cp "$1" "$shared_path" || fail "cannot copy $1 to $shared_dir"
	chmod a+rX "$shared_path"
}

# as_user USER CMD...: CMD as USER, from /, a directory every user can
# enter (the test's own may be under /root).
as_user() {
	_au_user=$1
	shift
	(cd / && runuser -u "$_au_user" -- "$@")
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s.
# (sh has no local variables: these names must not clash with callers'.)
# The limit is multiplied by E2E_TIME_FACTOR.
wait_for() {
	_wf_limit=$(($1 * E2E_TIME_FACTOR)) _wf_what=$2
	shift 2
	_wf_n=0
	while ! "$@" >/dev/null 2>&1; do
		_wf_n=$((_wf_n + 1))
		[ $_wf_n -lt $((_wf_limit * 10)) ] || fail "timed out after ${_wf_limit}s waiting for $_wf_what"
		sleep 0.1
	done
}

# start_daemon CONF [STDOUT_FILE]: crdbfeedd -c CONF in the background.
start_daemon() {
	daemon_log=$work/crdbfeedd.log
	"$CRDBFEEDD" -v -c "$1" >"${2:-/dev/null}" 2>>"$daemon_log" &
	daemon_pid=$!
}

# stop_daemon: SIGTERM, wait (at most 15 s); the exit status must be 0.
stop_daemon() {
	kill -TERM "$daemon_pid"
	rc=0
	wait "$daemon_pid" || rc=$?
	daemon_pid=
	[ $rc -eq 0 ] || fail "crdbfeedd exited $rc after SIGTERM"
	# Sanitizer builds (CRDBFEEDD pointing at one) report here.
	! grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$daemon_log" ||
		fail "sanitizer report in the daemon's log"
}

daemon_alive() {
	kill -0 "$daemon_pid" 2>/dev/null
}

# subscribe SOCKET OUTFILE [subscriber.py options]: in the background;
# returns once connected. The subscriber's own times (--stall, --duration,
# --connect-timeout) are multiplied by E2E_TIME_FACTOR like every wait: a
# slow consumer must still be slow next to a daemon that is N times slower.
subscribe() {
	_sub_sock=$1 _sub_out=$2
	shift 2
	# Rotate the options through "$@" once, scaling the timed ones.
	_sub_n=$#
	while [ "$_sub_n" -gt 0 ]; do
		_sub_opt=$1
		shift
		_sub_n=$((_sub_n - 1))
		case $_sub_opt in
		--stall | --duration | --connect-timeout)
			if [ "$_sub_n" -gt 0 ]; then
				_sub_val=$(awk -v v="$1" -v f="$E2E_TIME_FACTOR" 'BEGIN { print v * f }')
				shift
				_sub_n=$((_sub_n - 1))
				set -- "$@" "$_sub_opt" "$_sub_val"
				continue
			fi
			;;
		esac
		set -- "$@" "$_sub_opt"
	done
	$SUBSCRIBER "$_sub_sock" "$_sub_out" "$@" &
	sub_pids="$sub_pids $!"
	last_sub_pid=$!
	wait_for 10 "subscriber on $_sub_sock" test -f "$_sub_out.connected"
}

# count_rows FILE [jq filter]: number of row lines (matching the filter).
count_rows() {
	jq -c "select(.type == \"row\")${2:+ | select($2)}" "$1" 2>/dev/null | wc -l
}

# rows_at_least FILE N [jq filter]: for wait_for (recounts on each call).
rows_at_least() {
	[ "$(count_rows "$1" "${3:-}")" -ge "$2" ]
}

# log_count_at_least PATTERN N: the daemon log has N lines matching.
log_count_at_least() {
	[ "$(grep -c -- "$1" "$daemon_log")" -ge "$2" ]
}

# has_line FILE JQ_CONDITION: some line satisfies the condition.
has_line() {
	[ -n "$(jq -c "select($2)" "$1" 2>/dev/null)" ]
}

# write_conf FILE: the common [crdbfeedd] section, then stdin.
write_conf() {
	{
		echo "[crdbfeedd]"
		echo "dsn = $CRDB_DSN"
		echo "state_dir = $work/state"
		echo "log_level = debug"
		echo "resolved = 500ms"
		echo "backoff_initial = 200ms"
		echo "backoff_max = 1s"
		cat
	} >"$1"
}
