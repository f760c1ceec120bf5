#!/bin/sh
# fm-check-selftest.sh: the ordered fault matrix's verdict, tried without
# crdbfeedd. writer.py commits transactions of 1-5 changes for a few
# seconds; fm-synth.py turns crdbsim's own history of them into the
# recording a faultless ordered feed would give; fm-check.py --ordered must
# accept it (so its reference, built from PostgreSQL's audit and commit
# order, agrees with what crdbsim sends: final row states per transaction,
# one HLC per transaction in commit order) and reject each spoiled copy
# (ordered_verdict_can_fail). Run by `make faults` before the matrix.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/faults/faults-lib.sh"

[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set"
pgdb="${PG_DSN%/*}/defaultdb"
fm_setup
/usr/bin/python3 "$srcdir/tests/faults/writer.py" "$pgdb" 100 400 "$work/stop-writer" 5 \
	>"$work/writer.out" 2>"$work/writer.err" &
writer=$!
sub_pids="$sub_pids $writer"
sleep 3
touch "$work/stop-writer"
wait "$writer" || fail "the writer failed: $(tail -n 3 "$work/writer.err")"
# crdbsim has taken the last transaction into its history.
last_in_history() {
	[ "$(pg_sql "SELECT count(*) FROM crdbsim.history h JOIN fm_txn t ON h.xid = t.xid % 4294967296
		WHERE t.commit_no = (SELECT max(commit_no) FROM fm_txn)")" -gt 0 ]
}
wait_for 20 "crdbsim's history of the last transaction" last_in_history
: >"$work/faults"
/usr/bin/python3 "$srcdir/tests/faults/fm-synth.py" "$pgdb" "$work/recorded" >/dev/null ||
	fail "cannot build the recording from crdbsim's history"
# fm_check RECORDING: the verdict on RECORDING.
fm_check() {
	/usr/bin/python3 "$srcdir/tests/faults/fm-check.py" --ordered "$pgdb" "$1" /dev/null "$work/faults" fm
}
fm_check "$work/recorded" >"$work/verdict" 2>&1 ||
	fail "the verdict rejects crdbsim's own history: $(cat "$work/verdict")"
grep '^totals:' "$work/verdict"
ordered_verdict_can_fail "$work/recorded" fm_check
pass "the ordered verdict accepts crdbsim's history of $(cat "$work/writer.out") changes and rejects 6 spoiled copies"
