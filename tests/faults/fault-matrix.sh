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
#   kill-commit      (ordered and job) crdbfeedd SIGKILLed at a write of
#                    its journal, i.e. inside a commit (commit-killer.py)
# A job feed (source = job) has no changefeed connection of its own: its
# job's K emulated nodes post to crdbfeedd's HTTPS endpoint. Its rounds are
# kill-crdbsim (the job persists and resumes from its high-water mark),
# kill-crdbfeedd (at a random moment, with posts in flight), kill-commit
# and sighup (job_poll flipped: the feed restarts, its endpoint reopens,
# the job's statement stays), and on the job's side:
#   status-503       the next 1-4 posts answered, then taken as 503
#   timeout          the next 1-4 posts answered, then taken as timed out
#   refuse           the next 1-4 posts not sent (connection refused)
#   webhook-dup      every acknowledged batch posted twice, for 0.5 s
#   pause-resume     crdbfeedctl pause, the job paused, crdbfeedctl resume
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
#   job      source = job (so ordered delivery), as ordered otherwise;
#            FAULT_ROUNDS default 50
#   nats     the NATS scenarios (fault-nats.sh, FAULT_NATS_SCENARIO):
#            an ordered feed published to JetStream, faults on NATS, on
#            the publisher, on a second publisher and on a relay
# FAULT_SEED sets the writer's random seed, FAULT_RATE its changes a second
# (default 150), FAULT_PAUSE the seconds of undisturbed writing before each
# fault (default 0.5).
delivery=${FAULT_DELIVERY:-stream}
case $delivery in
stream) rounds=${FAULT_ROUNDS:-45} ;;
ordered) rounds=${FAULT_ROUNDS:-200} ;;
job) rounds=${FAULT_ROUNDS:-50} ;;
nats) exec "${top_srcdir:-$(dirname "$0")/../..}/tests/faults/fault-nats.sh" "$@" ;;
*) echo "FAULT_DELIVERY must be stream, ordered, job or nats, not '$delivery'" >&2; exit 1 ;;
esac
: "${E2E_TIMEOUT:=$((rounds * 20 + 180))}"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/faults/faults-lib.sh"
. "$srcdir/tests/daemon/job-lib.sh"

kinds="kill-crdbsim close-all shutdown-feeds fail dup stall kill-crdbfeedd sighup malformed"
nkinds=9
if [ "$delivery" = ordered ]; then
	kinds="$kinds kill-commit"
	nkinds=10
elif [ "$delivery" = job ]; then
	kinds="kill-crdbsim status-503 kill-crdbfeedd timeout sighup refuse kill-commit webhook-dup pause-resume"
	nkinds=9
fi
started=$(date +%s)

[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set"
pgdb="${PG_DSN%/*}/defaultdb"
sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
fm_setup

# conf STALL_TIMEOUT: the configuration (a reload flips the stall timeout,
# which changes the feed: it restarts from its checkpoint; a job feed's
# reload flips job_poll instead, which leaves the job's statement as it
# is). An ordered feed's sink keeps its default policy (journal).
global_extra=
if [ "$delivery" = ordered ]; then
	feed_extra="delivery = ordered"
	sink_extra=
	recorder_opts=--after
	txn_changes=5
elif [ "$delivery" = job ]; then
	job_setup "$work"
	global_extra="control_socket = $work/ctl.sock"
	fm_ctl() { "$builddir/daemon/crdbfeedctl" -s "$work/ctl.sock" "$@" >/dev/null || fail "crdbfeedctl $* failed"; }
	# job_sample: the endpoint's counters of this crdbfeedd (its pid,
	# posts that were retries, 5xx answers, rows dropped as held or
	# released already) appended to $work/job-counters; a daemon's are
	# counted from its start, so the summary adds each pid's last.
	job_sample() {
		crdbfeedctl_status 2>/dev/null | jq -r --arg pid "$daemon_pid" \
			'.feeds[0] | "\($pid) \(.job.ingest.requests) \(.job.ingest.retried) \(.job.ingest.answered_5xx) \(.counters.duplicates)"' \
			>>"$work/job-counters" 2>/dev/null || true
	}
	feed_extra="source = job
$(job_keys)"
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
	if [ "$delivery" = job ]; then
		feed_timing="job_poll = $1"
	else
		feed_timing="stall_timeout = $1"
	fi
	write_conf "$work/fm.conf" <<EOF2
$global_extra
[feed fm]
tables = fm
start = now
updated = yes
diff = yes
$feed_timing
$feed_extra
[sink fm-socket]
feed = fm
type = unix
path = $work/fm.sock
buffer = 4m
$sink_extra
EOF2
}
if [ "$delivery" = job ]; then
	timing_a=500ms timing_b=700ms
else
	timing_a=2s timing_b=3s
fi
conf $timing_a
timing=$timing_a
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
		# A job feed's daemon dies at a random moment between posts.
		if [ "$delivery" = job ]; then
			job_sample
			sleep "$(awk 'BEGIN { srand(); printf "%.3f", rand() * 0.3 }')"
		fi
		kill -KILL "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null || true
		start_daemon "$work/fm.conf"
		;;
	sighup)
		if [ $timing = $timing_a ]; then timing=$timing_b; else timing=$timing_a; fi
		conf $timing
		kill -HUP "$daemon_pid"
		;;
	status-503) ctl "webhook-fault status 503 $((round / nkinds % 4 + 1))" ;;
	timeout | refuse) ctl "webhook-fault $kind $((round / nkinds % 4 + 1))" ;;
	webhook-dup)
		ctl "webhook-dup on"
		sleep 0.5
		ctl "webhook-dup off"
		;;
	pause-resume)
		fm_ctl pause fm
		wait_for 20 "the job paused (round $round)" job_status_is paused
		fm_ctl resume fm
		;;
	malformed) ctl "malform all json 1" ;;
	kill-commit)
		[ "$delivery" = job ] && job_sample
		how=$(/usr/bin/python3 "$srcdir/tests/faults/commit-killer.py" "$work/state/fm.journal" "$daemon_pid") ||
			fail "could not kill crdbfeedd in a journal commit"
		wait "$daemon_pid" 2>/dev/null || true
		start_daemon "$work/fm.conf"
		kind="$kind $how"
		;;
	esac
	echo "$at $kind" >>"$work/faults"
	round=$((round + 1))
	wait_for 40 "the feed to recover from $kind (round $round)" resolved_since "$work/recorded" "$(now_ms)"
	[ "$delivery" = job ] && job_sample
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
if [ "$delivery" = job ]; then
	# The job's faults reached the endpoint: retried posts were answered
	# without a second copy of their rows.
	awk '{ last[$1] = $0 } END {
		for (p in last) { split(last[p], f, " "); req += f[2]; ret += f[3]; e5 += f[4]; dup += f[5] }
		printf "job: posts=%d retried=%d answered-5xx=%d duplicate-rows-dropped=%d (crdbfeedd status, summed over %d daemons)\n", req, ret, e5, dup, length(last)
	}' "$work/job-counters" | tee "$work/job-summary"
	grep -q ' retried=[1-9]' "$work/job-summary" || fail "no retried post reached crdbfeedd: the job's faults did nothing"
fi
if [ "$delivery" != stream ]; then
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

if [ "$delivery" != stream ]; then
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
