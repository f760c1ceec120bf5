#!/bin/sh
# e2e-badrow.sh: a row the decoder rejects (value not JSON) from a scripted
# server (fakecrdb.py; crdbsim cannot send one). The daemon logs the feed,
# the table and the checkpoint, does not crash, and restarts the feed from
# its checkpoint (cursor = the last resolved timestamp written out), so the
# rows after the bad one still arrive.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

/usr/bin/python3 "$srcdir/tests/daemon/fakecrdb.py" "$work/port" "$work/fake.log" &
sub_pids="$sub_pids $!"
wait_for 10 "the fake server" test -s "$work/port"
dsn="postgresql://root@127.0.0.1:$(cat "$work/port")/defaultdb?sslmode=disable"
out=$work/bad.out
daemon_log=$work/crdbfeedd.log
"$CRDBFEEDD" --dsn "$dsn" -o resolved=1s t >"$out" 2>"$daemon_log" &
daemon_pid=$!
wait_for 20 "rows after the bad one" has_line "$out" '.type == "row" and .key == [12]'
grep -q 'error: feed quick: rejected a row from table t after resolved 1700000000000005000.0000000000: ' "$daemon_log" ||
	fail "the rejected row is not logged with feed, table and checkpoint"
grep -q 'streaming -> backoff: undecodable row from table t' "$daemon_log" || fail "no restart after the bad row"
has_line "$out" '.type == "state" and .state == "reconnecting" and (.reason | test("undecodable"))' ||
	fail "subscribers were not told"
# The second statement resumed from the checkpoint.
[ "$(grep -c '^SQL ' "$work/fake.log")" -ge 2 ] || fail "no second statement"
sed -n 2p "$work/fake.log" | grep -q '^PARAMS \[\]' || fail "first statement had a cursor"
grep '^PARAMS' "$work/fake.log" | sed -n 2p | grep -q '"1700000000000005000.0000000000"' ||
	fail "resume cursor is not the checkpoint: $(grep '^PARAMS' "$work/fake.log" | sed -n 2p)"
grep '^SQL' "$work/fake.log" | sed -n 2p | grep -q "cursor = \$1" || fail "resume statement has no cursor"
grep '^SQL' "$work/fake.log" | sed -n 2p | grep -q "initial_scan = 'no'" || fail "resume statement scans again"
# Rows 6 and 7 (after the checkpoint) come again: at least once, never lost.
jq -r 'select(.type == "row") | .key[0]' "$out" | sort -n | uniq | head -n 12 | tr '\n' ' ' |
	grep -q '^1 2 3 4 5 6 7 8 9 10 11 12 $' || fail "rows lost around the bad row"
stop_daemon
pass "bad row logged, feed restarted from its checkpoint, nothing lost"
