#!/bin/sh
# fault-nats.sh: the fault matrix's NATS variant (FAULT_DELIVERY=nats:
# fault-matrix.sh hands over to it), one scenario per run, chosen by
# FAULT_NATS_SCENARIO; `make faults` runs the five, each under its own
# crdbsim-env and tests/nats/nats-env (this script starts the latter).
# writer.py commits transactions of 1 to 5 changes to table fm; crdbfeedd
# publishes the ordered feed fm through a sink of type = nats to the
# JetStream stream FM (created by the sink, nats_identity = fm); a
# JetStream consumer (tests/nats/nats-consume on the durable consumer
# fmcheck, started again whenever it exits) records the stream. A round
# ends with a resolved message, for a time after its fault, in that
# recording (in the relay scenario also at the relay's subscriber).
#   cluster  a 3-node cluster, stream R3 (nats_replicas = 3): each round
#            kill -9 a node that does not lead the stream, restart it once
#            the stream has recovered, wait for its replica to be current,
#            then kill -9 the stream's leader (found through /jsz) and
#            restart it the same way; FAULT_ROUNDS default 1
#   crash    crdbfeedd SIGKILLed at a random moment while it publishes and
#            started again on its state_dir; FAULT_ROUNDS default 4
#   active   two crdbfeedd (their own state_dir, the same feed, stream and
#            nats_identity) publishing at once; in turn one of them is
#            SIGKILLed, left down 0.3 to 1.5 s while the other publishes
#            alone, and started again (it starts behind);
#            FAULT_ROUNDS default 4
#   relay    a second crdbfeedd relays the stream (source = nats, durable
#            consumer relay) to a Unix socket, where recorder.py resumes
#            with {"after": LAST_SEQ} on each connection; the relay is
#            SIGKILLed at a random moment and started again;
#            FAULT_ROUNDS default 4
#   outage   NATS down when crdbfeedd starts (FAULT_NATS_START_DOWN s
#            of writing, default 2), then, each round, killed for
#            FAULT_NATS_OUTAGE s (default 60) mid-stream: the feed keeps
#            its journal and the sink reconnects; FAULT_ROUNDS default 1
# The verdict, on the stream read back whole after the run and on the
# live consumer's recording: fm-nats.py reads it (subjects,
# Nats-Msg-Id and Crdb-* headers of every message; redeliveries dropped;
# rows numbered along the stream) and fm-check.py --ordered compares it
# with PostgreSQL's committed history: every committed row state stored
# exactly once (0 lost, 0 duplicates), transactions whole and in commit
# order, no row after a resolved timestamp that covers it. The relay
# scenario checks the relay's subscriber the same way. The crash scenario
# also proves the verdict can fail (fm-nats.py doctor, fm-doctor-ordered.py).
# FAULT_SEED, FAULT_RATE (changes a second, default 150) and FAULT_PAUSE
# (seconds of undisturbed writing before each fault, default 0.5) as in
# fault-matrix.sh.
scenario=${FAULT_NATS_SCENARIO:-}
case $scenario in
cluster) nodes=3 rounds=${FAULT_ROUNDS:-1} ;;
crash | active | relay) nodes=1 rounds=${FAULT_ROUNDS:-4} ;;
outage) nodes=1 rounds=${FAULT_ROUNDS:-1} ;;
*)
	echo "FAULT_NATS_SCENARIO must be cluster, crash, active, relay or outage, not '$scenario'" >&2
	exit 1
	;;
esac
if [ -z "${NATS_ENV_DIR:-}" ]; then
	NATS_CLUSTER=$nodes exec "${top_srcdir:-$(dirname "$0")/../..}/tests/nats/nats-env" "$0" "$@"
fi
outage_s=${FAULT_NATS_OUTAGE:-60}
: "${E2E_TIMEOUT:=$((rounds * (outage_s + 60) + 180))}"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/faults/faults-lib.sh"

NATS_CONSUME=$builddir/tests/nats/nats-consume
[ -x "$NATS_CONSUME" ] || fail "$NATS_CONSUME is not built"
[ -n "${PG_DSN:-}" ] || fail "PG_DSN is not set"
[ "$NATS_ENV_NODES" -eq "$nodes" ] || fail "scenario $scenario needs $nodes NATS nodes, nats-env gave $NATS_ENV_NODES"
pgdb="${PG_DSN%/*}/defaultdb"
stream=FM
pause=${FAULT_PAUSE:-0.5}
started=$(date +%s)

# Daemons by name (pub, puba, pubb, relay): $work/NAME.conf, .log, .ctl,
# .state; the pid in pid_NAME.
daemon_start() {
	"$CRDBFEEDD" -v -c "$work/$1.conf" >/dev/null 2>>"$work/$1.log" &
	eval "pid_$1=$!"
}
pid_of() {
	eval "echo \${pid_$1:-}"
}
alive() {
	kill -0 "$(pid_of "$1")" 2>/dev/null
}
daemon_kill() {
	_dk_pid=$(pid_of "$1")
	kill -KILL "$_dk_pid"
	wait "$_dk_pid" 2>/dev/null || true
	eval "pid_$1="
}
daemon_stop() {
	_ds_pid=$(pid_of "$1")
	kill -TERM "$_ds_pid"
	_ds_rc=0
	wait "$_ds_pid" || _ds_rc=$?
	eval "pid_$1="
	[ $_ds_rc -eq 0 ] || fail "crdbfeedd $1 exited $_ds_rc after SIGTERM"
	! grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$work/$1.log" ||
		fail "sanitizer report in $1's log"
}
feed_streaming() {
	[ "$("$builddir/daemon/crdbfeedctl" -s "$work/$1.ctl" status --json 2>/dev/null |
		jq -r '.feeds[0].state')" = streaming ]
}
# A random number of ms below $1, printed as seconds for sleep.
random_s() {
	awk -v r="$(od -An -N4 -tu4 /dev/urandom)" -v m="$1" 'BEGIN { printf "%.3f", (r % m) / 1000 }'
}
# fault KIND [WHAT]: a line of the fault log (fm-check.py counts KIND).
fault() {
	echo "$(now_ms) $*" >>"$work/faults"
}

# NATS nodes: node N is killed through its pid file and started again,
# detached (the test's own wait must not wait for it; nats-env stops it).
node_kill() {
	kill -KILL "$(cat "$NATS_ENV_DIR/node-$1.pid")"
}
node_start() {
	("$NATS_SERVER" -c "$NATS_ENV_DIR/node-$1.conf" >>"$NATS_ENV_DIR/node-$1.log" 2>&1 &)
}
node_up() {
	python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' \
		"$(echo "$NATS_MONITOR_URLS" | cut -d, -f"$1")"
}
nats_stream() {
	/usr/bin/python3 "$srcdir/tests/faults/nats-stream.py" "$NATS_MONITOR_URLS" "$stream" "$@"
}

# nats_sample: the nats sink's counters of each running publisher (its
# pid, published, acknowledged, duplicates JetStream reported, rows skipped
# by the high-water mark, errors, gaps, reconnects) appended to
# $work/nats-counters, and the relay's consumer's (delivered, redelivered,
# duplicates dropped, lower resolved ignored, malformed) to
# $work/relay-counters; a daemon's are counted from its start, so the
# summary adds each pid's last (taken after every round and before each
# kill).
nats_sample() {
	for _ns_d in $publishers; do
		_ns_pid=$(pid_of "$_ns_d")
		[ -n "$_ns_pid" ] || continue
		"$builddir/daemon/crdbfeedctl" -s "$work/$_ns_d.ctl" status --json 2>/dev/null |
			jq -r --arg pid "$_ns_pid" '.sinks[] | select(.type == "nats") | .nats |
				"\($pid) \(.published) \(.acked) \(.duplicates) \(.skipped) \(.errors) \(.gaps) \(.reconnects)"' \
			>>"$work/nats-counters" 2>/dev/null || true
	done
	_ns_pid=$(pid_of relay)
	[ -n "$_ns_pid" ] || return 0
	"$builddir/daemon/crdbfeedctl" -s "$work/relay.ctl" status --json 2>/dev/null |
		jq -r --arg pid "$_ns_pid" '.feeds[0].nats |
			"\($pid) \(.delivered) \(.redelivered) \(.duplicates) \(.ignored_resolved) \(.malformed)"' \
		>>"$work/relay-counters" 2>/dev/null || true
}

# sink_connected NAME: what NAME's nats sink says of its connection.
sink_connected() {
	"$builddir/daemon/crdbfeedctl" -s "$work/$1.ctl" status --json 2>/dev/null |
		jq -r '.sinks[] | select(.type == "nats") | .nats.connected'
}

# The publishing crdbfeedd NAME's configuration.
conf_publisher() {
	cat >"$work/$1.conf" <<EOF2
[crdbfeedd]
dsn = $CRDB_DSN
state_dir = $work/$1.state
control_socket = $work/$1.ctl
log_level = debug
resolved = 500ms
backoff_initial = 200ms
backoff_max = 1s
[feed fm]
tables = fm
start = now
updated = yes
diff = yes
delivery = ordered
[sink fm-nats]
feed = fm
type = nats
nats_url = $NATS_URL
nats_stream = $stream
nats_stream_create = yes
nats_replicas = $nodes
nats_identity = fm
nats_connect_timeout = 1s
nats_ack_timeout = 2s
EOF2
}

# The relaying crdbfeedd: feed fm from the stream, to a Unix socket.
conf_relay() {
	cat >"$work/relay.conf" <<EOF2
[crdbfeedd]
dsn = $CRDB_DSN
state_dir = $work/relay.state
control_socket = $work/relay.ctl
log_level = debug
backoff_initial = 200ms
backoff_max = 1s
[feed fm]
source = nats
nats_url = $NATS_URL
nats_stream = $stream
nats_durable = relay
nats_connect_timeout = 1s
[sink fm-socket]
feed = fm
type = unix
path = $work/relay.sock
buffer = 4m
EOF2
}

# The JetStream consumer, started again whenever it exits, until
# $work/stop-consume exists.
consume_loop() {
	while [ ! -f "$work/stop-consume" ]; do
		"$NATS_CONSUME" --url "$NATS_URL" --stream "$stream" --durable fmcheck --idle-exit 3 \
			>>"$work/nats-recorded" 2>>"$work/nats-consume.err" &
		echo $! >"$work/consume.pid"
		echo $! >>"$work/nats-consume.starts"
		wait $! || sleep 0.2
	done
}

# nats_resolved_since MS: the consumer recorded a resolved message for a
# timestamp after MS (the payload is a JSON string: its quotes escaped).
nats_resolved_since() {
	awk -v t="$1" 'index($0, "._resolved\"") {
		r = $0
		if (!sub(/.*\\"resolved\\":\\"/, "", r)) next
		if (substr(r, 1, 13) + 0 > t) { found = 1; exit }
	} END { exit !found }' "$work/nats-recorded"
}

# recovered MS: every recording has a resolved timestamp after MS.
recovered() {
	nats_resolved_since "$1" || return 1
	[ "$scenario" != relay ] || resolved_since "$work/relay-recorded" "$1"
}

daemons=
writer=
loop=
nats_cleanup() {
	for d in $daemons; do
		p=$(pid_of "$d")
		[ -z "$p" ] || kill -KILL "$p" 2>/dev/null || true
	done
	[ -z "$loop" ] || kill "$loop" 2>/dev/null || true
	[ ! -f "$work/consume.pid" ] || kill "$(cat "$work/consume.pid")" 2>/dev/null || true
	cleanup
}
trap nats_cleanup EXIT

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
fm_setup
: >"$work/faults"
: >"$work/nats-recorded"
case $scenario in
active) daemons="puba pubb" ;;
relay) daemons="pub relay" ;;
*) daemons=pub ;;
esac
publishers=${daemons% relay}
daemon_log=$work/${publishers%% *}.log

start_writer() {
	/usr/bin/python3 "$srcdir/tests/faults/writer.py" "$pgdb" 100 "${FAULT_RATE:-150}" "$work/stop-writer" 5 \
		>"$work/writer.out" 2>"$work/writer.err" &
	writer=$!
	sub_pids="$sub_pids $writer"
}

if [ "$scenario" = outage ]; then
	node_kill 1
	fault nats-down-at-start
fi
for p in $publishers; do
	conf_publisher "$p"
	daemon_start "$p"
done
for p in $publishers; do
	wait_for 30 "$p's feed streaming" feed_streaming "$p"
done
if [ "$scenario" = outage ]; then
	# Rows committed while NATS is unreachable wait in the journal.
	start_writer
	sleep "${FAULT_NATS_START_DOWN:-2}"
	alive pub || fail "crdbfeedd died while NATS was unreachable at its start"
	node_start 1
fi
wait_for 30 "the stream $stream" nats_stream exists
consume_loop 2>>"$work/nats-consume.err" &
loop=$!
if [ "$scenario" = relay ]; then
	conf_relay
	daemon_start relay
	wait_for 20 "the relay's socket" test -S "$work/relay.sock"
	/usr/bin/python3 "$srcdir/tests/faults/recorder.py" "$work/relay.sock" "$work/relay-recorded" "$work/stop" --after &
	recorder=$!
	sub_pids="$sub_pids $recorder"
fi
# The journal holds resolved timestamps only behind rows: the first ones
# reach the stream once the writer has committed.
ready_at=$(now_ms)
[ -n "$writer" ] || start_writer
wait_for 30 "the first resolved timestamps through NATS" recovered "$ready_at"

round=0
victim=
while [ $round -lt "$rounds" ]; do
	sleep "$pause"
	kill -0 "$writer" 2>/dev/null || fail "the writer died: $(tail -n 3 "$work/writer.err")"
	for d in $daemons; do
		alive "$d" || fail "crdbfeedd $d died (round $round)"
	done
	nats_sample
	case $scenario in
	cluster)
		wait_for 30 "the stream's leader" nats_stream leader
		leader=$(nats_stream leader)
		n=${leader#node-}
		other=$((n % 3 + 1))
		node_kill $other
		fault kill-node "node-$other (the leader: $leader)"
		wait_for 60 "the stream to recover from node-$other's loss (round $((round + 1)))" recovered "$(now_ms)"
		node_start $other
		wait_for 60 "node-$other current again" nats_stream healthy
		sleep "$pause"
		leader=$(nats_stream leader) || fail "the stream has no leader"
		n=${leader#node-}
		node_kill "$n"
		fault kill-leader "$leader"
		wait_for 60 "the stream to recover from its leader's loss (round $((round + 1)))" recovered "$(now_ms)"
		now_leader=$(nats_stream leader) || fail "no new leader after $leader's loss"
		[ "$now_leader" != "$leader" ] || fail "$leader still leads the stream after kill -9"
		echo "round $((round + 1)): killed node-$other, then the leader $leader; $now_leader leads now"
		node_start "$n"
		wait_for 60 "$leader current again" nats_stream healthy
		;;
	crash)
		sleep "$(random_s 500)"
		daemon_kill pub
		fault kill-crdbfeedd
		daemon_start pub
		;;
	active)
		if [ "$victim" = puba ]; then victim=pubb; else victim=puba; fi
		sleep "$(random_s 500)"
		daemon_kill $victim
		fault kill-crdbfeedd "$victim"
		sleep "$(awk -v s="$(random_s 1200)" 'BEGIN { print s + 0.3 }')"
		daemon_start $victim
		;;
	relay)
		sleep "$(random_s 500)"
		daemon_kill relay
		fault kill-relay
		daemon_start relay
		;;
	outage)
		node_kill 1
		fault nats-down "${outage_s} s"
		sleep "$outage_s"
		for d in $daemons; do
			alive "$d" || fail "crdbfeedd $d died while NATS was down"
		done
		[ "$(sink_connected pub)" = false ] ||
			fail "the nats sink says '$(sink_connected pub)' to connected after ${outage_s} s without NATS"
		node_start 1
		wait_for 30 "NATS back" node_up 1
		;;
	esac
	round=$((round + 1))
	wait_for 60 "the feed to recover (round $round)" recovered "$(now_ms)"
	nats_sample
done

touch "$work/stop-writer"
wait "$writer" || fail "the writer failed: $(tail -n 3 "$work/writer.err")"
stopped=$(now_ms)
# Everything committed is below a resolved timestamp taken after the end.
wait_for 60 "a resolved timestamp after the writer's last commit" recovered "$stopped"
touch "$work/stop"
[ "$scenario" != relay ] || wait "$recorder" 2>/dev/null || true
nats_sample
for d in $daemons; do
	daemon_stop "$d"
done
# The stream read back whole, from its first message (an ephemeral
# consumer); the live consumer must have had every message of it too (one
# it fetched and never acknowledged comes again after its ack wait).
"$NATS_CONSUME" --url "$NATS_URL" --stream "$stream" --idle-exit 1 --timeout 120 \
	>"$work/nats-stream" 2>"$work/nats-stream.err" ||
	fail "cannot read the stream back: $(tail -n 3 "$work/nats-stream.err")"
stored=$(wc -l <"$work/nats-stream")
live_has_all() {
	[ "$(awk -v n="$stored" 'match($0, /^\{"stream_seq":[0-9]+/) {
		s = substr($0, 15, RLENGTH - 14) + 0
		if (s <= n && !(s in seen)) { seen[s] = 1; c++ }
	} END { print c + 0 }' "$work/nats-recorded")" -eq "$stored" ]
}
wait_for 60 "the live consumer to have the $stored messages of the stream" live_has_all
# It has acknowledged what it printed: stop it now, not after its idle time.
touch "$work/stop-consume"
kill "$(cat "$work/consume.pid")" 2>/dev/null || true
wait "$loop" 2>/dev/null || true
loop=

echo "fault-matrix: nats delivery, scenario $scenario, $rounds rounds in $(($(date +%s) - started)) s (writer committed $(cat "$work/writer.out") changes)"
echo "rounds: $rounds"
awk '{ last[$1] = $0 } END {
	for (p in last) { split(last[p], f, " "); pub += f[2]; ack += f[3]; dup += f[4]; skip += f[5]; err += f[6]; gap += f[7]; rec += f[8] }
	printf "nats: sink published=%d acked=%d duplicates=%d skipped=%d errors=%d gaps=%d reconnects=%d (crdbfeedctl status, summed over %d daemons)\n", pub, ack, dup, skip, err, gap, rec, length(last)
}' "$work/nats-counters" | tee "$work/nats-summary"
grep -q ' gaps=0 ' "$work/nats-summary" || fail "the nats sink reported rows missing from the journal"
# A publisher that restarts behind the stream meets rows it published
# before its position was saved: skipped by the high-water mark it read,
# or dropped by JetStream's duplicate window.
case $scenario in
crash) grep -q ' duplicates=[1-9]\| skipped=[1-9]' "$work/nats-summary" ||
	fail "no restarted publisher met its own rows in the stream: the kills did not land mid-publish" ;;
active) grep -q ' duplicates=[1-9]\| skipped=[1-9]' "$work/nats-summary" ||
	fail "neither publisher met the other's rows in the stream: they did not run side by side" ;;
esac
# nats_check RECORDING [--strict-order|intervals]: the verdict on nats-consume's
# RECORDING: no row after a resolved message covering it, the rows of each
# resolved interval taken in commit order (fm-nats.py counts those it
# moved), unless --strict-order (FAULT_NATS_STRICT_ORDER=1): the stream's
# own order.
nats_check() {
	case ${2:-env} in
	env) _nc_strict=; [ "${FAULT_NATS_STRICT_ORDER:-0}" != 1 ] || _nc_strict=--strict-order ;;
	intervals) _nc_strict= ;;
	*) _nc_strict=$2 ;;
	esac
	/usr/bin/python3 "$srcdir/tests/faults/fm-nats.py" convert $_nc_strict "$1" "$1.stream" crdbfeed fm fm fm &&
		/usr/bin/python3 "$srcdir/tests/faults/fm-check.py" --ordered "$pgdb" "$1.stream" "$daemon_log" "$work/faults" fm
}
ordered_check() {
	/usr/bin/python3 "$srcdir/tests/faults/fm-check.py" --ordered "$pgdb" "$1" "$daemon_log" "$work/faults" fm
}
# stream_verdict RECORDING WHAT: nats_check, fatal on any failure; rows
# the stream stored out of commit order within a resolved interval (a
# leader failover stores a failed publish again after later ones) are
# reported on an order-in-interval: line.
stream_verdict() {
	nats_check "$1" >"$1.verdict" 2>&1 || {
		cat "$1.verdict"
		fail "$2 lost, duplicated or reordered rows (see above)"
	}
	cat "$1.verdict"
	_sv_moved=$(sed -n 's/^nats: .* reordered-in-interval=\([0-9]*\) intervals-reordered=\([0-9]*\) .*/\1 rows in \2 resolved intervals/p' "$1.verdict")
	echo "order-in-interval: $2: ${_sv_moved:-?} stored out of commit order (no row after a resolved message covering it)"
	case $_sv_moved in
	0\ *) ;;
	*) order_note=", rows out of commit order only within resolved intervals (reported above)" ;;
	esac
}
echo "verdict: stream $stream read back whole"
stream_verdict "$work/nats-stream" "the stream"
echo "verdict: the live JetStream consumer (durable fmcheck, nats-consume started $(grep -c . "$work/nats-consume.starts") times)"
stream_verdict "$work/nats-recorded" "the live consumer"
if [ "$scenario" = relay ]; then
	connections=$(grep -c '"type":"_connected"' "$work/relay-recorded")
	echo "relay: the subscriber connected $connections times, resuming with after = $(cut -d' ' -f2- "$work/relay-recorded" |
		jq -r 'select(.type == "_request") | .after' 2>/dev/null | awk 'NR > 1' | tr '\n' ' ')"
	[ "$connections" -gt "$rounds" ] || fail "the relay's subscriber connected $connections times in $rounds kills of the relay"
	awk '{ last[$1] = $0 } END {
		for (p in last) { split(last[p], f, " "); del += f[2]; red += f[3]; dup += f[4]; ign += f[5]; bad += f[6] }
		printf "relay: consumer delivered=%d redelivered=%d duplicates=%d ignored-resolved=%d malformed=%d (crdbfeedctl status, summed over %d daemons)\n", del, red, dup, ign, bad, length(last)
	}' "$work/relay-counters" | tee "$work/relay-summary"
	grep -q ' malformed=0 ' "$work/relay-summary" || fail "the relay found malformed messages in the stream"
	echo "verdict: the relay's subscriber"
	ordered_check "$work/relay-recorded" || fail "the relay's subscriber lost, got twice or out of order (see above)"
fi

if [ "$scenario" = crash ]; then
	# The verdict can fail: spoiled copies of the consumer's recording
	# (a row stored twice, one never stored, a redelivery that must pass,
	# a wrong Nats-Msg-Id, a wrong subject), and the ordered verdict's own.
	mkdir -p "$work/nats-doctored"
	/usr/bin/python3 "$srcdir/tests/faults/fm-nats.py" doctor "$work/nats-stream" "$work/nats-doctored" ||
		fail "cannot doctor the consumer's recording"
	for c in "stored-twice:^duplicates: 1$" "missing:^lost: 1$" "bad-msg-id: bad-msg-id=1" \
		"bad-subject: bad-subject=1" "after-resolved: row-after-resolved=1 "; do
		name=${c%%:*} want=${c#*:}
		nats_check "$work/nats-doctored/$name" >"$work/nats-doctored/$name.verdict" 2>&1 &&
			fail "the NATS verdict passed a recording spoiled by '$name'"
		grep -q -- "$want" "$work/nats-doctored/$name.verdict" ||
			fail "'$name' was not reported as /$want/: $(cat "$work/nats-doctored/$name.verdict")"
	done
	nats_check "$work/nats-doctored/redelivered" >"$work/nats-doctored/redelivered.verdict" 2>&1 ||
		fail "a redelivered message was taken for a second copy: $(cat "$work/nats-doctored/redelivered.verdict")"
	grep -q ' redelivered=1 ' "$work/nats-doctored/redelivered.verdict" ||
		fail "a redelivery was not counted: $(cat "$work/nats-doctored/redelivered.verdict")"
	nats_check "$work/nats-doctored/interval-swap" intervals >"$work/nats-doctored/interval-swap.verdict" 2>&1 ||
		fail "two rows exchanged within a resolved interval were not put back in order: $(cat "$work/nats-doctored/interval-swap.verdict")"
	grep -q ' reordered-in-interval=2 ' "$work/nats-doctored/interval-swap.verdict" ||
		fail "two rows exchanged within a resolved interval were not counted: $(cat "$work/nats-doctored/interval-swap.verdict")"
	nats_check "$work/nats-doctored/interval-swap" --strict-order >"$work/nats-doctored/interval-swap-strict.verdict" 2>&1 &&
		fail "--strict-order passed two rows exchanged within a resolved interval"
	ordered_verdict_can_fail "$work/nats-stream.stream" ordered_check
fi
pass "scenario $scenario: every committed row stored once${order_note:-, in commit order}"
