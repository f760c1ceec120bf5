#!/bin/sh
# e2e-ctl-replay.sh: `crdbfeedctl replay` of a stopped daemon, straight
# from an ordered feed's journal written by journal_fill (no daemon): every
# line, --after (with the resolved line right after that row), --since as
# an HLC and as an RFC 3339 time, --until, --table, a position trimmed by
# retention (a warning, then what is kept), a position in the future, a
# stream feed, an unknown feed, a bad time, a missing journal, and user
# nobody without write access to lock.mdb (needs root, as CI runs).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ctl/ctl-lib.sh"

need_root "runuser to nobody"
command -v runuser >/dev/null 2>&1 || fail "runuser is needed"
FILL=$builddir/tests/ctl/journal_fill
[ -x "$FILL" ] || fail "$FILL is not built"

# No daemon: the control socket is absent, so replay reads the journal.
ctl_socket=$work/absent.sock
mkdir -p "$work/state"
write_conf "$work/replay.conf" <<EOF
[feed f]
tables = t
delivery = ordered
[sink f-out]
feed = f
type = unix
path = $work/f.sock
[feed s]
tables = t
[sink s-out]
feed = s
type = unix
path = $work/s.sock
EOF
replay() {
	ctl_run -c "$work/replay.conf" replay "$@"
}

# 30 rows, tables orders (odd) and users (even); row i updated at
# 1700000000 + i seconds; a resolved mark after every 5th row (its own
# updated).
base=1700000000
hlc() { echo "$(($base + $1))000000000.0000000000"; }
i=1
while [ $i -le 30 ]; do
	table=orders
	[ $((i % 2)) -eq 0 ] && table=users
	echo "row $table [$i] $(hlc $i)"
	[ $((i % 5)) -eq 0 ] && echo "commit $(hlc $i)"
	i=$((i + 1))
done >"$work/commands"
"$FILL" "$work/state/f.journal" f <"$work/commands" >"$work/rows" || fail "journal_fill failed"
[ "$(wc -l <"$work/rows")" -eq 30 ] || fail "journal_fill wrote $(wc -l <"$work/rows") rows"

# expect FIRST LAST [TABLE] [UNTIL_ROW]: the journaled lines of rows FIRST
# to LAST (of TABLE only), each 5th followed by its resolved line.
expect() {
	awk -v first="$1" -v last="$2" -v table="${3:-}" -v base=$base '
		NR >= first && NR <= last {
			if (table == "" || index($0, "\"table\":\"" table "\""))
				print
			if (NR % 5 == 0)
				printf "{\"v\":1,\"type\":\"resolved\",\"feed\":\"f\",\"resolved\":\"%d000000000.0000000000\",\"seq\":%d}\n", base + NR, NR
		}' "$work/rows"
}
# same OUT WANT WHAT: byte for byte.
same() {
	cmp -s "$1" "$2" || fail "$3: got $(wc -l <"$1") lines, want $(wc -l <"$2"); first difference: $(diff "$1" "$2" | head -3)"
}

replay f >"$work/all"
[ "$ctl_rc" -eq 0 ] || fail "replay f exited $ctl_rc: $(cat "$work/ctl.err")"
[ ! -s "$work/ctl.err" ] || fail "replay f said: $(cat "$work/ctl.err")"
expect 1 30 >"$work/want"
same "$work/all" "$work/want" "replay f"
[ "$(wc -l <"$work/all")" -eq 36 ] || fail "replay f: $(wc -l <"$work/all") lines, want 30 rows + 6 resolved"

replay f --after 12 >"$work/out"
expect 13 30 >"$work/want"
same "$work/out" "$work/want" "replay --after 12"
# After row 10 is after its resolved line too.
replay f --after 10 >"$work/out"
expect 11 30 >"$work/want"
same "$work/out" "$work/want" "replay --after 10"

# --since: rows with updated >= row 12's, and the resolved lines from there.
replay f --since "$(hlc 12)" >"$work/out"
expect 12 30 >"$work/want"
same "$work/out" "$work/want" "replay --since $(hlc 12)"
replay f --since 2023-11-14T22:13:32Z >"$work/out"
same "$work/out" "$work/want" "replay --since 2023-11-14T22:13:32Z (row 12's updated)"
replay f --since 2023-11-14T23:13:32+01:00 >"$work/out"
same "$work/out" "$work/want" "replay --since with an offset"

replay f --until "$(hlc 20)" >"$work/out"
expect 1 20 >"$work/want"
same "$work/out" "$work/want" "replay --until $(hlc 20)"
replay f --since "$(hlc 7)" --until 2023-11-14T22:13:42.5Z >"$work/out"
expect 7 22 >"$work/want"
same "$work/out" "$work/want" "replay --since 7 --until 22.5"

replay f --table users >"$work/out"
expect 1 30 users >"$work/want"
same "$work/out" "$work/want" "replay --table users"
[ "$(grep -c '"type":"row"' "$work/out")" -eq 15 ] || fail "--table users: not 15 rows"

# --- errors, one line each
ctl_expect 1 'replay of feed "f": after 31 is beyond the journal.s newest row \(seq 30\)' \
	-c "$work/replay.conf" replay f --after 31
ctl_expect 1 'feed "s" has no journal: its delivery is stream, not ordered' \
	-c "$work/replay.conf" replay s
ctl_expect 5 'unknown feed "nope"' -c "$work/replay.conf" replay nope
ctl_expect 2 '--since: bad time "yesterday"' -c "$work/replay.conf" replay f --since yesterday
ctl_expect 2 '--after and --since exclude each other' \
	-c "$work/replay.conf" replay f --after 1 --since "$(hlc 1)"
ctl_expect 3 'crdbfeedd is not running, and its configuration cannot be read' \
	-c "$work/missing.conf" replay f
mv "$work/state/f.journal" "$work/state/moved.journal"
ctl_expect 1 'feed "f" has no journal yet' -c "$work/replay.conf" replay f
mv "$work/state/moved.journal" "$work/state/f.journal"

# --- retention: rows 1-10 trimmed (a size bound of about 20 rows)
row_bytes=$(awk 'NR == 1 { print length($0) + 1 }' "$work/rows")
echo trim | "$FILL" "$work/state/f.journal" f $((row_bytes * 20 + 20 * 64)) >/dev/null 2>"$work/trim.err" ||
	fail "trim failed: $(cat "$work/trim.err")"
replay f >"$work/out"
first=$(jq -r 'select(.type == "row") | .seq' "$work/out" | head -n 1)
[ "$first" -gt 1 ] || fail "the trim removed nothing"
replay f --after 0 >"$work/out2"
[ "$ctl_rc" -eq 0 ] || fail "replay --after 0 after the trim exited $ctl_rc"
grep -q "^crdbfeedctl: rows 1 to $((first - 1)) are no longer in the journal (retention): starting at $first\$" "$work/ctl.err" ||
	fail "no retention warning for --after 0: $(cat "$work/ctl.err")"
cmp -s "$work/out" "$work/out2" || fail "--after 0 after the trim differs from a full replay"

# --- nobody cannot take a reader slot in lock.mdb
# (Where the test directory is out of nobody's reach, the same refusal.)
shared_copy "$CRDBFEEDCTL"
cp "$work/replay.conf" "$shared_dir/replay.conf"
chmod 644 "$shared_dir/replay.conf"
rc=0
as_user nobody "$shared_path" -s "$shared_dir/absent.sock" -c "$shared_dir/replay.conf" \
	replay f >/dev/null 2>"$shared_dir/nobody.err" || rc=$?
[ $rc -eq 4 ] && [ "$(wc -l <"$shared_dir/nobody.err")" -eq 1 ] &&
	grep -q "^crdbfeedctl: permission denied: reading the journal $work/state/f.journal needs write access to its lock.mdb (run as root or as the daemon's user)\$" "$shared_dir/nobody.err" ||
	fail "nobody: exit $rc, $(cat "$shared_dir/nobody.err")"

pass "replay of a stopped daemon: all, --after, --since (HLC, RFC 3339), --until, --table, retention, errors, nobody"
