#!/bin/sh
# e2e-malformed.sh: crdbfeedd against malformed rows from crdbsim (control
# `malform`, tests/crdbsim/README.md). For each kind in malformed.cases a
# numbered workload runs around one bad row; crdbfeedd must log one line
# with the context the case names, restart the feed from its checkpoint
# (the new statement's cursor is the last checkpoint), never crash, and a block subscriber must end up with every row.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/faults/faults-lib.sh"

cases=$srcdir/tests/faults/malformed.cases
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE mt (id INT PRIMARY KEY, v INT)"
# stall_timeout: wire-level kinds make libpq drop the rest of the
# statement's rows without telling (see malformed.cases).
write_conf "$work/mt.conf" <<EOF2
[feed mt]
tables = mt
start = now
stall_timeout = 3s
[sink mt-socket]
feed = mt
type = unix
path = $work/mt.sock
policy = block
EOF2
start_daemon "$work/mt.conf"
wait_for 20 "the socket" test -S "$work/mt.sock"
subscribe "$work/mt.sock" "$work/mt.out" --duration 170
wait_for 20 "streaming" has_line "$work/mt.out" '.type == "state" and .state == "streaming"'

next=1
# write_rows N: ids next .. next+N-1, one transaction each.
write_rows() {
	_wr_end=$((next + $1))
	: >"$work/batch.sql"
	while [ $next -lt $_wr_end ]; do
		echo "INSERT INTO mt VALUES ($next, $next);" >>"$work/batch.sql"
		next=$((next + 1))
	done
	psql -X -q -v ON_ERROR_STOP=1 "$CRDB_DSN" -f "$work/batch.sql" >/dev/null
}

nkinds=0
while read -r kind pattern; do
	case $kind in '#'*|'') continue ;; esac
	write_rows 5
	wait_for 20 "rows 1..$((next - 1)) before $kind" has_ids "$work/mt.out" 1 $((next - 1))
	restarts=$(log_lines 'streaming -> backoff')
	matched=$(log_lines "$pattern")
	sends=$(log_lines 'feed mt: sending ')
	ctl "malform all $kind 1"
	write_rows 5
	wait_for 20 "crdbsim to send the $kind row" malform_done
	case $kind in
	columns|short) why=" (libpq drops the feed's later rows unseen: only the stall watchdog, counting rows, ends this)" ;;
	*) why= ;;
	esac
	wait_for 30 "a restart after the $kind row$why" log_count_at_least 'streaming -> backoff' $((restarts + 1))
	[ "$(log_lines "$pattern")" -eq $((matched + 1)) ] ||
		fail "$kind: want one new log line matching '$pattern', have $(($(log_lines "$pattern") - matched))"
	daemon_alive || fail "crdbfeedd died after the $kind row"
	wait_for 20 "a new statement after the $kind row" log_count_at_least 'feed mt: sending ' $((sends + 1))
	resumed_from_checkpoint mt || fail "$kind: the feed did not resume from its checkpoint"
	write_rows 5
	wait_for 30 "rows 1..$((next - 1)) after $kind" has_ids "$work/mt.out" 1 $((next - 1))
	nkinds=$((nkinds + 1))
done <"$cases"
[ $nkinds -ge 10 ] || fail "only $nkinds kinds in $cases"
stop_daemon
dups=$(($(jq -c 'select(.type == "row")' "$work/mt.out" | wc -l) - (next - 1)))
pass "$nkinds kinds of malformed rows: each logged and recovered from, $((next - 1)) rows delivered ($dups again after restarts)"
