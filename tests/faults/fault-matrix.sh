#!/bin/sh
# fault-matrix.sh: the fault matrix. Not in the quick suite: run
# by `make faults` under crdbsim-env. A writer (writer.py) commits keyed
# inserts, updates and deletes through PG_DSN while rounds of faults, in
# rotation, hit the pipeline:
#   kill-crdbsim     crdbsim SIGKILLed and restarted (crdbsim-restart)
#   close-all        crdbsim cuts the changefeed connections
#   shutdown-feeds   crdbsim sends 57P01 and closes
#   fail             an injected transient error (XXUUU) ends the feed
#   dup              crdbsim re-sends its last 20 rows (a duplicate window)
#   stall            crdbsim sends nothing for 4 s (stall_timeout is 2-3 s)
#   kill-crdbfeedd   crdbfeedd SIGKILLed and started again (same state_dir)
#   sighup           a reload that changes the feed, mid-burst
#   malformed        crdbsim spoils the next row (malform json: not JSON)
#   kill-commit      (ordered only) crdbfeedd SIGKILLed at a write of its
#                    journal, i.e. inside a commit (commit-killer.py)
# A subscriber (recorder.py, reconnecting at once when crdbfeedd dies)
# records everything; fm-check.py compares it with what PostgreSQL
# committed and prints the summary.
#
# FAULT_DELIVERY picks the feed's delivery:
#   stream   (default) one change per transaction, a block subscriber;
#            FAULT_ROUNDS default 45 (5 of each kind)
#   ordered  delivery = ordered, transactions of 1-5 changes, the recorder
#            resumes with {"after": LAST_SEQ}; FAULT_ROUNDS default 200 (20
#            of each kind)
# FAULT_SEED sets the writer's random seed, FAULT_RATE its changes a second
# (default 150), FAULT_PAUSE the seconds of undisturbed writing before each
# fault (default 0.5).
delivery=${FAULT_DELIVERY:-stream}
case $delivery in
stream) rounds=${FAULT_ROUNDS:-45} ;;
ordered) rounds=${FAULT_ROUNDS:-200} ;;
*) echo "FAULT_DELIVERY must be stream or ordered, not '$delivery'" >&2; exit 1 ;;
esac
: "${E2E_TIMEOUT:=$((rounds * 20 + 180))}"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/faults/faults-lib.sh"

kinds="kill-crdbsim close-all shutdown-feeds fail dup stall kill-crdbfeedd sighup malformed"
nkinds=9
if [ "$delivery" = ordered ]; then
	kinds="$kinds kill-commit"
	nkinds=10
fi
started=$(date +%s)
now_ms() { echo $(($(date +%s%N) / 1000000)); }

[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set"
pgdb="${PG_DSN%/*}/defaultdb"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
fm_setup

# conf STALL_TIMEOUT: the configuration (a reload flips the stall timeout,
# which changes the feed: it restarts from its checkpoint). An ordered
# feed's sink keeps its default policy (journal).
if [ "$delivery" = ordered ]; then
	feed_extra="delivery = ordered"
	sink_extra=
	recorder_opts=--after
	txn_changes=5
else
	feed_extra=
	sink_extra="policy = block"
	recorder_opts=
	txn_changes=1
fi
conf() {
	write_conf "$work/fm.conf" <<EOF2
[feed fm]
tables = fm
start = now
updated = yes
diff = yes
stall_timeout = $1
$feed_extra
[sink fm-socket]
feed = fm
type = unix
path = $work/fm.sock
buffer = 4m
$sink_extra
EOF2
}
conf 2s
stall=2s
start_daemon "$work/fm.conf"
wait_for 20 "the socket" test -S "$work/fm.sock"
/usr/bin/python3 "$srcdir/tests/faults/recorder.py" "$work/fm.sock" "$work/recorded" "$work/stop" $recorder_opts &
sub_pids="$sub_pids $!"
recorder=$!
wait_for 20 "the feed streaming" grep -q '"state":"streaming"' "$work/recorded"

/usr/bin/python3 "$srcdir/tests/faults/writer.py" "$pgdb" 100 "${FAULT_RATE:-150}" "$work/stop-writer" $txn_changes \
	>"$work/writer.out" 2>"$work/writer.err" &
writer=$!
sub_pids="$sub_pids $writer"

# resolved_since MS: a resolved line arrived after time MS, for a
# timestamp after it (not a mark replayed from the journal).
resolved_since() {
	awk -v t="$1" '$1 > t && /"type":"resolved"/ {
		r = $0; sub(/.*"resolved":"/, "", r); sub(/\..*/, "", r)
		if (substr(r, 1, 13) + 0 > t) { found = 1; exit }
	} END { exit !found }' "$work/recorded"
}

: >"$work/faults"
round=0
while [ $round -lt "$rounds" ]; do
	kind=$(echo $kinds | cut -d' ' -f$((round % nkinds + 1)))
	sleep "${FAULT_PAUSE:-0.5}"
	kill -0 "$writer" 2>/dev/null || fail "the writer died: $(tail -n 3 "$work/writer.err")"
	daemon_alive || fail "crdbfeedd died (round $round, before $kind)"
	at=$(now_ms)
	case $kind in
	kill-crdbsim) "$CRDBSIM_RESTART" --down-ms 300 >/dev/null || fail "crdbsim-restart failed" ;;
	close-all) ctl close-all ;;
	shutdown-feeds) ctl shutdown-feeds ;;
	fail) ctl "fail XXUUU fault matrix: injected transient error" ;;
	dup) ctl "dup 20" ;;
	stall) ctl "stall 4000" ;;
	kill-crdbfeedd)
		kill -KILL "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null || true
		start_daemon "$work/fm.conf"
		;;
	sighup)
		if [ $stall = 2s ]; then stall=3s; else stall=2s; fi
		conf $stall
		kill -HUP "$daemon_pid"
		;;
	malformed) ctl "malform all json 1" ;;
	kill-commit)
		how=$(/usr/bin/python3 "$srcdir/tests/faults/commit-killer.py" "$work/state/fm.journal" "$daemon_pid") ||
			fail "could not kill crdbfeedd in a journal commit"
		wait "$daemon_pid" 2>/dev/null || true
		start_daemon "$work/fm.conf"
		kind="$kind $how"
		;;
	esac
	echo "$at $kind" >>"$work/faults"
	round=$((round + 1))
	wait_for 40 "the feed to recover from $kind (round $round)" resolved_since "$(now_ms)"
done

touch "$work/stop-writer"
wait "$writer" || fail "the writer failed: $(tail -n 3 "$work/writer.err")"
stopped_ns=$(date +%s%N)
# Everything committed is below a resolved timestamp taken after the end.
final_resolved() {
	cut -d' ' -f2- "$work/recorded" | jq -r 'select(.type == "resolved") | .resolved' 2>/dev/null |
		awk -v s="$stopped_ns" -F. '$1 > s { found = 1 } END { exit !found }'
}
wait_for 60 "a resolved timestamp after the writer's last commit" final_resolved
touch "$work/stop"
wait "$recorder" 2>/dev/null || true
stop_daemon

echo "fault-matrix: $delivery delivery, $rounds rounds in $(($(date +%s) - started)) s (writer committed $(cat "$work/writer.out") changes)"
echo "rounds: $rounds"
if [ "$delivery" = ordered ]; then
	echo "kill-commit: $(grep -c ' kill-commit mid-write$' "$work/faults") of $(grep -c ' kill-commit' "$work/faults") during a write of the journal"
	check_opts=--ordered
else
	check_opts=
fi
# fm_check RECORDING: the verdict on RECORDING (fm-check.py).
fm_check() {
	/usr/bin/python3 "$srcdir/tests/faults/fm-check.py" $check_opts "$pgdb" "$1" "$daemon_log" "$work/faults" fm
}
rc=0
fm_check "$work/recorded" || rc=$?
[ $rc -eq 0 ] || fail "changes lost, out of order or duplicated (see above)"

if [ "$delivery" = ordered ]; then
	# The verdict can fail (fm-doctor-ordered.py: a row twice, a row
	# missing, two rows exchanged, a late flag, a wrong group_end, a
	# resolved line claiming too little).
	ordered_verdict_can_fail "$work/recorded" fm_check
	pass "nothing lost, nothing twice, in commit order, one transaction a group"
	exit 0
fi

# The verdict can fail: the same check over a copy of the recording that
# lacks every delivery of one change (the 100th row line's) must report
# exactly that change lost, and a copy with a key's first two deliveries
# swapped must report the order broken.
/usr/bin/python3 - "$work/recorded" "$work/doctored-lost" "$work/doctored-order" <<'EOF2'
import json, sys
src, lost_out, order_out = sys.argv[1:4]
lines = open(src).read().splitlines(True)
rows = [i for i, l in enumerate(lines) if '"type":"row"' in l]
def ident(i):
    ev = json.loads(lines[i].split(" ", 1)[1])
    img = ev.get("before") if ev.get("op") == "delete" else ev.get("after")
    return (ev["key"][0], ev.get("op"), (img or {}).get("v"))
victim = ident(rows[99])
open(lost_out, "w").writelines(l for i, l in enumerate(lines) if i not in rows or ident(i) != victim)
key = ident(rows[99])[0]
same = [i for i in rows if ident(i)[0] == key and ident(i) != ident(rows[99])]
a, b = rows[99], same[0] if same[0] > rows[99] else same[1]
swapped = list(lines)
swapped[a], swapped[b] = lines[b], lines[a]
open(order_out, "w").writelines(swapped)
EOF2
fm_check "$work/doctored-lost" >"$work/selftest-lost" 2>&1 && fail "the check passed a recording with a change missing"
grep -q '^lost: 1$' "$work/selftest-lost" || fail "a missing change was not reported as 1 lost: $(cat "$work/selftest-lost")"
fm_check "$work/doctored-order" >"$work/selftest-order" 2>&1 && fail "the check passed a recording with a key out of order"
grep -q 'keys-out-of-order=[1-9]' "$work/selftest-order" || fail "a swap was not reported: $(cat "$work/selftest-order")"
pass "nothing lost"
