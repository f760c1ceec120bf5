#!/bin/sh
# e2e-quick.sh: the command line. Quick mode prints one NDJSON line per
# insert, update and delete (op insert/update/delete with diff, upsert/delete
# without, §4), resolved and state lines; usage errors exit 64; --version,
# --help; --check-config lists problems with file:line and exits 1; quick
# mode survives a closed connection; bad options exit 64, a permanent
# error 69; under systemd log lines carry <N> priorities.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

# --- usage, version, help, check-config ---------------------------------
rc=0; "$CRDBFEEDD" >/dev/null 2>&1 || rc=$?
[ $rc -eq 64 ] || fail "no arguments: exit $rc, expected 64"
rc=0; "$CRDBFEEDD" --dsn "$CRDB_DSN" >/dev/null 2>&1 || rc=$?
[ $rc -eq 64 ] || fail "--dsn without tables: exit $rc, expected 64"
"$CRDBFEEDD" --version | grep -q '^crdbfeedd .* [0-9]' || fail "--version"
"$CRDBFEEDD" --help | grep -q 'state_dir' || fail "--help does not list the config keys"
printf '[crdbfeedd]\nstate_dir = %s\n[feed f]\ntables = t\nbogus_key = 1\n' "$work" >"$work/bad.conf"
rc=0; "$CRDBFEEDD" --check-config -c "$work/bad.conf" 2>"$work/check.err" || rc=$?
[ $rc -eq 1 ] || fail "--check-config on a bad file: exit $rc, expected 1"
grep -q "bad.conf:5:" "$work/check.err" || fail "--check-config does not name file:line: $(cat "$work/check.err")"
rc=0; "$CRDBFEEDD" -c "$work/bad.conf" 2>/dev/null || rc=$?
[ $rc -eq 78 ] || fail "-c on a bad file: exit $rc, expected 78"

# --- quick mode with diff: insert, update, delete ------------------------
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE quick_t (id INT PRIMARY KEY, name STRING, qty INT)"
sql "INSERT INTO quick_t VALUES (1, 'one', 10)"
out=$work/quick.out
daemon_log=$work/quick.log
"$CRDBFEEDD" --dsn "$CRDB_DSN" -o diff -o updated -o resolved=500ms quick_t >"$out" 2>"$daemon_log" &
daemon_pid=$!
# The initial scan delivers row 1.
wait_for 20 "the initial scan row" has_line "$out" '.type == "row" and .key == [1]'
# Quick mode survives a fault, resuming in the process.
wait_for 20 "a resolved line" has_line "$out" '.type == "resolved"'
ctl close-all
wait_for 20 "the reconnecting line" has_line "$out" '.type == "state" and .state == "reconnecting"'
sql "INSERT INTO quick_t VALUES (2, 'two', 20)"
sql "UPDATE quick_t SET qty = 11 WHERE id = 1"
sql "DELETE FROM quick_t WHERE id = 2"
wait_for 20 "the delete" has_line "$out" '.type == "row" and .op == "delete"'
wait_for 20 "a resolved line after the delete" sh -c "tail -n 1 '$out' | jq -e 'select(.type == \"resolved\")'"
stop_daemon

has_line "$out" '.type == "state" and .state == "streaming" and .feed == "quick"' ||
	fail "no streaming state line"
has_line "$out" '.v == 1 and .type == "row" and .table == "quick_t" and .key == [2] and .op == "insert" and .after == {"id": 2, "name": "two", "qty": 20} and .before == null and (.updated | test("^[0-9]+\\.[0-9]{10}$"))' ||
	fail "insert line wrong: $(grep '"key":\[2\]' "$out" | head -1)"
has_line "$out" '.type == "row" and .key == [1] and .op == "update" and .after.qty == 11 and .before.qty == 10' ||
	fail "update line wrong: $(grep '"key":\[1\]' "$out" | tail -1)"
has_line "$out" '.type == "row" and .key == [2] and .op == "delete" and .after == null and .before.qty == 20' ||
	fail "delete line wrong: $(grep '"op":"delete"' "$out")"
has_line "$out" '.type == "resolved" and (.resolved | test("^[0-9]+\\.[0-9]{10}$"))' ||
	fail "no resolved line"
# Key order is fixed: v, type, feed, table, key, op, after, before, updated.
grep '"type":"row"' "$out" | head -1 |
	grep -q '^{"v":1,"type":"row","feed":"quick","table":"quick_t","key":\[[0-9]*\],"op":"[a-z]*","after":.*,"before":.*,"updated":"' ||
	fail "row keys out of order: $(grep '"type":"row"' "$out" | head -1)"
# Compact: no space after separators outside strings.
grep -q '": ' "$out" && fail "output is not compact"

# --- quick mode without diff: upsert and delete --------------------------
out2=$work/quick2.out
"$CRDBFEEDD" --dsn "$CRDB_DSN" -o initial_scan=no -o resolved=500ms quick_t >"$out2" 2>>"$daemon_log" &
daemon_pid=$!
wait_for 20 "streaming" has_line "$out2" '.type == "state" and .state == "streaming"'
sql "INSERT INTO quick_t VALUES (3, 'three', 30)"
sql "DELETE FROM quick_t WHERE id = 3"
wait_for 20 "the delete without diff" has_line "$out2" '.type == "row" and .op == "delete"'
stop_daemon
has_line "$out2" '.type == "row" and .key == [3] and .op == "upsert" and .after.qty == 30 and (has("before") | not)' ||
	fail "upsert line wrong: $(grep '"key":\[3\]' "$out2" | head -1)"
[ "$(count_rows "$out2" '.key == [1]')" -eq 0 ] || fail "initial_scan=no still scanned row 1"

# --- bad options are usage errors -----------------------------------------
rc=0; "$CRDBFEEDD" --dsn "$CRDB_DSN" -o no_such_option quick_t >/dev/null 2>"$work/opt.err" || rc=$?
[ $rc -eq 64 ] || fail "unknown option: exit $rc, expected 64"
grep -q 'no_such_option' "$work/opt.err" || fail "unknown option not named: $(cat "$work/opt.err")"

# --- a permanent error ends quick mode with 69 ---------------------------
rc=0
"$CRDBFEEDD" --dsn "$CRDB_DSN" no_such_table >/dev/null 2>"$work/perm.err" || rc=$?
[ $rc -eq 69 ] || fail "missing table: exit $rc, expected 69 ($(tail -n 3 "$work/perm.err"))"
grep -q 'no_such_table' "$work/perm.err" || fail "the reason does not name the table"
# Under systemd, log lines carry syslog priorities instead of timestamps.
rc=0
JOURNAL_STREAM=8:1 "$CRDBFEEDD" --dsn "$CRDB_DSN" no_such_table >/dev/null 2>"$work/journal.err" || rc=$?
[ $rc -eq 69 ] || fail "missing table under systemd: exit $rc"
grep -q '^<3>error: feed quick: .*no_such_table' "$work/journal.err" || fail "no <3> error line: $(cat "$work/journal.err")"
grep -q '^<5>notice: ' "$work/journal.err" || fail "no <5> notice line"
grep -v '^<[0-7]>' "$work/journal.err" | grep -v '^crdbfeedd: ' | grep -q . && fail "log lines without a priority under systemd"
pass "quick mode, usage, check-config"
