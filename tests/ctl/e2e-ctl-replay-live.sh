#!/bin/sh
# e2e-ctl-replay-live.sh: an ordered feed through crdbsim, then `crdbfeedctl
# replay` through the running daemon's control socket: every row once, in
# seq order 1..N with resolved lines, --after, --table; status and metrics
# show the released seq and the journal; the rows are the same byte for
# byte when the stopped daemon's journal is read directly; nobody is kept
# out by the control socket's mode (needs root, as CI runs).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

need_root "runuser to nobody"
N=40
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE replay_a (id INT PRIMARY KEY, note TEXT)"
sql "CREATE TABLE replay_b (id INT PRIMARY KEY, note TEXT)"
sockdir=$(mktemp -d /tmp/ctl-replay.XXXXXX)
chmod 755 "$sockdir"
trap 'rm -rf "$sockdir"; cleanup' EXIT
ctl_socket=$sockdir/control.sock
write_conf "$work/ctl.conf" <<EOF
control_socket = $ctl_socket
control_mode = 0600
metrics_socket = $work/metrics.sock
[feed ledger]
tables = replay_a, replay_b
start = now
delivery = ordered
[sink ledger-sock]
feed = ledger
type = unix
path = $work/ledger.sock
EOF
start_daemon "$work/ctl.conf"
wait_for 20 "the control socket answering" status_has '.ok'
wait_for 20 "streaming" status_has '.feeds[0].state == "streaming"'
i=1
while [ $i -le $N ]; do
	sql "BEGIN; INSERT INTO replay_a VALUES ($i, 'a'); INSERT INTO replay_b VALUES ($i, 'b'); COMMIT"
	i=$((i + 4))
done
rows=$(( (N + 3) / 4 * 2 ))
wait_for 30 "$rows rows released" status_has ".feeds[0].ordered.released_seq >= $rows"

# --- through the socket
ctl_ok replay ledger >"$work/live"
[ "$(count_rows "$work/live")" -eq $rows ] || fail "replay: $(count_rows "$work/live") rows, want $rows"
jq -s -e --argjson n $rows '[.[] | select(.type == "row") | .seq] == [range(1; $n + 1)]' "$work/live" >/dev/null ||
	fail "replay: the rows' seqs are not 1..$rows in order"
has_line "$work/live" '.type == "resolved" and (.seq | type == "number")' || fail "replay: no resolved line with a seq"
ctl_ok replay ledger --after 10 --table replay_b >"$work/after"
jq -s -e --argjson n $rows '[.[] | select(.type == "row") | .seq] | length > 0 and all(. > 10)' "$work/after" >/dev/null ||
	fail "replay --after 10: $(head -3 "$work/after")"
jq -s -e '[.[] | select(.type == "row") | .table] | all(test("replay_b"))' "$work/after" >/dev/null ||
	fail "replay --table replay_b gave other tables"
ctl_expect 1 'replay of feed "ledger": after 100000 is beyond' replay ledger --after 100000
ctl_expect 5 'unknown feed "nope"' replay nope

# --- status and metrics
ctl_ok status --json >"$work/status.json"
jq -e --argjson n $rows '.feeds[0] | .delivery == "ordered" and .ordered.released_seq >= $n and
	.ordered.journal.records >= $n and .ordered.journal.oldest_seq == 1 and
	.ordered.held_rows >= 0' "$work/status.json" >/dev/null || fail "status: $(jq -c '.feeds[0]' "$work/status.json")"
jq -e '.sinks[0].journaled == true and (.sinks[0].journal | type == "object")' "$work/status.json" >/dev/null ||
	fail "status sink: $(jq -c '.sinks[0]' "$work/status.json")"
ctl_ok status >"$work/status.txt"
grep -q '^ORDERED FEED' "$work/status.txt" && grep -q '^JOURNALED SINK' "$work/status.txt" ||
	fail "status table: no ordered tables: $(cat "$work/status.txt")"
ctl_ok metrics >"$work/metrics"
expect_metric "$work/metrics" 'crdbfeedd_feed_ordered{feed="ledger"}' = 1
expect_metric "$work/metrics" 'crdbfeedd_feed_released_seq{feed="ledger"}' '>=' $rows
expect_metric "$work/metrics" 'crdbfeedd_feed_journal_records{feed="ledger"}' '>=' $rows
expect_metric "$work/metrics" 'crdbfeedd_feed_journal_oldest_seq{feed="ledger"}' = 1

# --- nobody: the control socket's mode applies
shared_copy "$CRDBFEEDCTL"
rc=0
as_user nobody "$shared_path" -s "$ctl_socket" replay ledger >/dev/null 2>"$sockdir/nobody.err" || rc=$?
[ $rc -eq 4 ] && grep -q '^crdbfeedctl: permission denied: cannot connect to' "$sockdir/nobody.err" ||
	fail "nobody through a 0600 socket: exit $rc, $(cat "$sockdir/nobody.err")"

# --- stopped: the same rows straight from the journal
stop_daemon
ctl_ok -c "$work/ctl.conf" replay ledger >"$work/stopped"
grep '"type":"row"' "$work/live" >"$work/live.rows"
grep '"type":"row"' "$work/stopped" | head -n $rows >"$work/stopped.rows"
cmp -s "$work/live.rows" "$work/stopped.rows" ||
	fail "the stopped daemon's journal differs from the live replay: $(diff "$work/live.rows" "$work/stopped.rows" | head -3)"
pass "replay through the daemon ($rows rows), --after/--table, status, metrics, nobody, and the same rows from the stopped journal"
