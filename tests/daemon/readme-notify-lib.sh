# readme-notify-lib.sh: running README.md's LISTEN/NOTIFY programs
# ("Moving LISTEN/NOTIFY code to CockroachDB") as they are written, for
# check-readme-notify.sh (PostgreSQL) and e2e-readme-notify.sh (crdbsim
# and crdbfeedd). Sourced after e2e-lib.sh.

EXTRACT="/usr/bin/python3 $srcdir/tests/daemon/readme-notify-extract.py $srcdir/README.md"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "python3-psycopg is needed"

# readme_program NAME OUT [OLD NEW]...: README's program NAME into OUT.
readme_program() {
	_rp_name=$1 _rp_out=$2
	shift 2
	$EXTRACT "$_rp_name" "$@" >"$_rp_out" 2>"$work/extract.err" ||
		fail "$(cat "$work/extract.err")"
}

# listener_said N: the README listener has printed N lines or more.
listener_said() {
	[ "$(wc -l <"$work/listener.out")" -ge "$1" ]
}

# run_readme_pair LISTENER SENDER PATTERN: start the listener program, wait
# for its LISTEN, run the sender, and wait for the listener's one line,
# which must match PATTERN (grep -Ex); the listener is then stopped. The
# listener runs as written, with psycopg's execute wrapped to say
# "listening" once its LISTEN is done.
run_readme_pair() {
	/usr/bin/python3 -u -c '
import runpy, sys, psycopg
execute = psycopg.Connection.execute
def noting(self, query, *args, **kwargs):
    cur = execute(self, query, *args, **kwargs)
    if str(query).startswith("LISTEN"):
        print("listening", flush=True)
    return cur
psycopg.Connection.execute = noting
runpy.run_path(sys.argv[1], run_name="__main__")' "$1" >"$work/listener.out" 2>&1 &
	_rr_pid=$!
	sub_pids="$sub_pids $_rr_pid"
	wait_for 20 "the README listener's LISTEN" grep -q '^listening$' "$work/listener.out"
	/usr/bin/python3 "$2" >"$work/sender.out" 2>&1 || fail "the README sender: $(cat "$work/sender.out")"
	wait_for 30 "the README listener's line" listener_said 2
	sleep 0.2 # a second line (a duplicate) would come with the first
	kill "$_rr_pid" 2>/dev/null || true
	wait "$_rr_pid" 2>/dev/null || true
	[ "$(sed 1d "$work/listener.out")" = "$(sed 1d "$work/listener.out" | grep -Ex "$3")" ] &&
		[ "$(wc -l <"$work/listener.out")" -eq 2 ] ||
		fail "the README listener printed: $(cat "$work/listener.out")"
}
