#!/bin/sh
# e2e-notify.sh: a feed of kind notify (crdbfeedd.conf(5)) on
# conf/notify.sql's table, at CockroachDB 24.1 (crdbsim.version): the
# notifications of one transaction arrive together, in the order sent,
# with contiguous seqs; a rolled-back transaction sends nothing; two
# identical ones in a transaction arrive once; a deletion and a row that
# is not a notification (a 64-byte channel, its CHECK dropped) get no seq,
# the latter logged; crdbfeedctl status counts them. A subscriber of
# {"channels":["a"]} gets the notify lines of channel a only, and one
# reconnecting with {"channels":["a"],"after":N} exactly those after N;
# "channels" with "tables", or on a feed of kind table, gets an error line.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

CRDBFEEDCTL=${CRDBFEEDCTL:-$builddir/daemon/crdbfeedctl}
[ -x "$CRDBFEEDCTL" ] || fail "$CRDBFEEDCTL is not built"
case $CRDB_DSN in
*\?*) CRDB_DSN="$CRDB_DSN&options=-c%20crdbsim.version%3D24.1.0" ;;
*) CRDB_DSN="$CRDB_DSN?options=-c%20crdbsim.version%3D24.1.0" ;;
esac

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
psql -X -q -At -v ON_ERROR_STOP=1 "$CRDB_DSN" -f "$srcdir/conf/notify.sql" >/dev/null ||
	fail "conf/notify.sql did not load at 24.1"
write_conf "$work/notify.conf" <<CONF
control_socket = $work/control.sock
[feed n]
kind = notify
start = now
resolved = 200ms
[sink n]
feed = n
path = $work/n.sock
[feed t]
tables = crdbfeed_notify
start = now
[sink t]
feed = t
path = $work/t.sock
CONF
start_daemon "$work/notify.conf"
wait_for 20 "the sockets" test -S "$work/n.sock" -a -S "$work/t.sock"
wait_for 20 "the feed streaming" grep -q 'feed n: starting -> streaming' "$daemon_log"

subscribe "$work/n.sock" "$work/all.jsonl" --duration 60
subscribe "$work/n.sock" "$work/a.jsonl" --duration 60 --request '{"channels":["a"]}'
# start = now: the changefeed runs a little after the log says so; what is
# sent before is not its. Warm up until a notification comes through.
warm=0
until rows_at_least "$work/all.jsonl" 1; do
	warm=$((warm + 1))
	[ $warm -le $((20 * E2E_TIME_FACTOR)) ] || fail "no warm-up notification came through"
	sql "SELECT crdbfeed_notify('warm', '$warm')" >/dev/null
	sleep 0.5
done

sql "BEGIN; SELECT crdbfeed_notify('a', '1'); SELECT crdbfeed_notify('b', '2'); COMMIT" >/dev/null
sql "BEGIN; SELECT crdbfeed_notify('a', 'rolled back'); ROLLBACK" >/dev/null
sql "BEGIN; SELECT crdbfeed_notify('a', 'same'); SELECT crdbfeed_notify('a', 'same'); SELECT crdbfeed_notify('b', 'same'); COMMIT" >/dev/null
sql "DELETE FROM crdbfeed_notify WHERE channel = 'warm'"
sql "ALTER TABLE crdbfeed_notify DROP CONSTRAINT crdbfeed_notify_channel_is_1_to_63_bytes"
sql "INSERT INTO crdbfeed_notify (channel, payload) VALUES (repeat('c', 64), 'too long')"
sql "SELECT crdbfeed_notify('a', 'last')" >/dev/null
wait_for 20 "the last notification" rows_at_least "$work/all.jsonl" 1 '.after.payload == "last"'

# Every row after the warm-up ones, as "channel/payload seq updated".
jq -r 'select(.type == "row" and .after.channel != "warm") |
	"\(.after.channel)/\(.after.payload) \(.seq) \(.updated)"' "$work/all.jsonl" >"$work/all.txt"
got=$(cut -d' ' -f1 "$work/all.txt" | tr '\n' ' ')
[ "$got" = "a/1 b/2 a/same b/same a/last " ] ||
	fail "the rows are '$got', not 'a/1 b/2 a/same b/same a/last '"
# One transaction: one updated; seqs contiguous over all the rows.
[ "$(sed -n 1p "$work/all.txt" | cut -d' ' -f3)" = "$(sed -n 2p "$work/all.txt" | cut -d' ' -f3)" ] ||
	fail "a/1 and b/2 were sent in one transaction but have different updated timestamps"
jq -r 'select(.type == "row") | .seq' "$work/all.jsonl" |
	awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' ||
	fail "the seqs are not contiguous: $(jq -r 'select(.type == "row") | .seq' "$work/all.jsonl" | tr '\n' ' ')"

# The channel subscriber: notify lines of channel a, the same seqs.
wait_for 10 "the last notify line" has_line "$work/a.jsonl" '.type == "notify" and .payload == "last"'
has_line "$work/a.jsonl" '.type == "subscribed" and .channels == ["a"]' ||
	fail "no subscribed line naming channel a"
! has_line "$work/a.jsonl" '.type == "row"' || fail "the channel subscriber got a row line"
jq -r 'select(.type == "notify") | "\(.channel)/\(.payload) \(.seq) \(.updated)"' "$work/a.jsonl" >"$work/a.txt"
grep '^a/' "$work/all.txt" >"$work/a.want"
cmp -s "$work/a.txt" "$work/a.want" ||
	fail "channel a's notify lines are '$(tr '\n' ' ' <"$work/a.txt")', not '$(tr '\n' ' ' <"$work/a.want")'"
has_line "$work/a.jsonl" '.type == "notify" and .feed == "n" and .v == 1' ||
	fail "a notify line lacks v or feed"

# Reconnecting after the first: exactly what followed it on channel a.
after=$(sed -n 1p "$work/a.txt" | cut -d' ' -f2)
$SUBSCRIBER "$work/n.sock" "$work/again.jsonl" --request "{\"channels\":[\"a\"],\"after\":$after}" \
	--duration "$((3 * E2E_TIME_FACTOR))" >/dev/null 2>&1 || true
jq -r 'select(.type == "notify") | "\(.channel)/\(.payload) \(.seq) \(.updated)"' "$work/again.jsonl" >"$work/again.txt"
sed 1d "$work/a.want" >"$work/again.want"
cmp -s "$work/again.txt" "$work/again.want" ||
	fail "replay after $after gave '$(tr '\n' ' ' <"$work/again.txt")', not '$(tr '\n' ' ' <"$work/again.want")'"

# "channels" with "tables": refused with one error line.
$SUBSCRIBER "$work/n.sock" "$work/bad.jsonl" --request '{"channels":["a"],"tables":["t"]}' \
	--duration "$((2 * E2E_TIME_FACTOR))" >/dev/null 2>&1 || true
has_line "$work/bad.jsonl" '.type == "error" and (.error | test("cannot be used with \"tables\""))' ||
	fail "channels with tables: no error line ($(cat "$work/bad.jsonl"))"

# "channels" on a feed of kind table: refused with one error line.
$SUBSCRIBER "$work/t.sock" "$work/table.jsonl" --request '{"channels":["a"]}' \
	--duration "$((2 * E2E_TIME_FACTOR))" >/dev/null 2>&1 || true
has_line "$work/table.jsonl" '.type == "error" and .error == "\"channels\" needs a feed of kind notify; feed t is of kind table"' ||
	fail "channels on a table feed: no error line ($(cat "$work/table.jsonl"))"

# The dropped row, logged and counted; the deletions and the fold counted.
grep -q 'feed n: table crdbfeed_notify, key \[[0-9]*\]: not a notification, dropped: the channel name is 64 bytes' "$daemon_log" ||
	fail "no log line for the row with a 64-byte channel"
"$CRDBFEEDCTL" -s "$work/control.sock" status --json >"$work/status.json" || fail "crdbfeedctl status"
counts=$(jq -c '.feeds[] | select(.name == "n") | [.kind, .notify.invalid, .notify.folded, (.notify.deletes > 0)]' "$work/status.json")
[ "$counts" = '["notify",1,1,true]' ] || fail "status kind/invalid/folded/deletes>0 are $counts"
stop_daemon
pass "a transaction's notifications together in order, rollback and duplicates not sent, channel a only, replay after $after exact"
