#!/bin/sh
# e2e-numbers.sh: numbers leave crdbfeedd as CockroachDB wrote them. Rows
# with a JSONB big integer (beyond int64 and a double), a DECIMAL of 30
# digits, small exponents and a trailing zero go from an INSERT through
# crdbsim to a subscriber's line, compared byte for byte with the line they
# must give: through the direct path (wrapped, the common case) and through
# the general path (envelope=bare and envelope=row), in every case a JSON
# number with the digits the changefeed sent, never a string.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE nums (id INT PRIMARY KEY, d DECIMAL, j JSONB)"
mkdir -p "$work/state"
write_conf "$work/nums.conf" <<EOF2
[feed wrapped]
tables = nums
[feed bare]
tables = nums
envelope = bare
[feed row]
tables = nums
envelope = row
[sink wrapped]
feed = wrapped
type = unix
path = $work/wrapped.sock
[sink bare]
feed = bare
type = unix
path = $work/bare.sock
[sink row]
feed = row
type = unix
path = $work/row.sock
EOF2

start_daemon "$work/nums.conf"
for f in wrapped bare row; do
	wait_for 30 "the $f sink" test -S "$work/$f.sock"
	subscribe "$work/$f.sock" "$work/$f.out"
done
# Each feed is streaming before the rows are written (no initial scan).
for f in wrapped bare row; do
	wait_for 30 "feed $f streaming" has_line "$work/$f.out" '.type == "resolved"'
done
sql "INSERT INTO nums VALUES (1, 123456789012345678901.123456789, '{\"big\": 123456789012345678901234567890, \"tiny\": 1e-30, \"e\": 2.5e-7, \"t\": 22.30}')"
sql "INSERT INTO nums VALUES (2, 0.000000000000000000000000000001, '[9223372036854775808, -0.0, 1.0E+2]')"
for f in wrapped bare row; do
	wait_for 30 "both rows on $f" rows_at_least "$work/$f.out" 2
done
stop_daemon

# The rows' lines, without the HLCs a run cannot predict.
for f in wrapped bare row; do
	grep '"type":"row"' "$work/$f.out" | sed 's/,"updated":"[0-9.]*"//' >"$work/$f.rows"
done
# The numbers as crdbsim renders them, the way CockroachDB's JSON does
# (apd decimals written unquoted by their String(): 1E-30, 2.5E-7;
# doc/crdb-wire.md §5.1), kept as they came.
after1='"after":{"d":123456789012345678901.123456789,"id":1,"j":{"big":123456789012345678901234567890,"e":2.5E-7,"t":22.30,"tiny":1E-30}}}'
after2='"after":{"d":1E-30,"id":2,"j":[9223372036854775808,0.0,100]}}'
for f in wrapped bare row; do
	op=upsert
	[ $f = bare ] && op=unknown
	printf '%s\n' \
		"{\"v\":1,\"type\":\"row\",\"feed\":\"$f\",\"table\":\"nums\",\"key\":[1],\"op\":\"$op\",$after1" \
		"{\"v\":1,\"type\":\"row\",\"feed\":\"$f\",\"table\":\"nums\",\"key\":[2],\"op\":\"$op\",$after2" \
		>"$work/$f.want"
	cmp -s "$work/$f.want" "$work/$f.rows" ||
		fail "feed $f: lines differ from the rows CockroachDB's JSON gives:
$(diff "$work/$f.want" "$work/$f.rows")"
done
# And jq reads every one of them as a number.
[ "$(jq -r 'select(.type == "row") | [.after.d, .after.j.big?, .after.j[0]?] | map(select(. != null) | type) | unique | join(",")' "$work/wrapped.out" | sort -u)" = number ] ||
	fail "a number is not a JSON number for jq"
pass "numbers keep their type and digits in the direct and general paths"
