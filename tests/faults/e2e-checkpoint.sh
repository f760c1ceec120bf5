#!/bin/sh
# e2e-checkpoint.sh: the checkpoint file's durability (daemon/checkpoint.h).
# (a) Crash during updates: with resolved every 100 ms the checkpoint is
#     rewritten ten times a second while a writer commits; crdbfeedd is
#     SIGKILLed at random moments CHECKPOINT_KILLS times (default 5 in
#     make check; make faults runs 30).
#     After each kill the file holds one well-formed HLC, never older than
#     after the kill before, and the restarted daemon resumes from exactly
#     that cursor; a torn temporary file left next to it is never read and
#     is removed.
# (b) Full disk: the state directory is a tiny tmpfs (root only: the test
#     fails, never skips, when it cannot mount one). Filled up, the daemon
#     logs the failed write once, keeps the old file, keeps streaming to a
#     block subscriber; once space is freed it saves again (logged once)
#     and the checkpoint moves on.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
. "$srcdir/tests/faults/faults-lib.sh"
need_root "mounts a tmpfs for the full-disk case"

kills=${CHECKPOINT_KILLS:-5}
state=$work/state
cp_file=$state/fm.checkpoint
mounted=
umount_state() {
	if [ -n "$mounted" ]; then
		for p in $sub_pids $daemon_pid; do kill -KILL "$p" 2>/dev/null || true; done
		wait 2>/dev/null || true
		umount "$state" 2>/dev/null || umount -l "$state" 2>/dev/null || true
		mounted=
	fi
}
trap 'umount_state; cleanup' EXIT
trap 'exit 1' INT TERM HUP

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE fm (k INT PRIMARY KEY, v BIGINT NOT NULL)"
cat >"$work/cp.conf" <<EOF2
[crdbfeedd]
dsn = $CRDB_DSN
state_dir = $state
log_level = debug
resolved = 100ms
backoff_initial = 100ms
backoff_max = 500ms
[feed fm]
tables = fm
start = now
checkpoint_interval = 0
[sink fm-socket]
feed = fm
type = unix
path = $work/fm.sock
policy = block
EOF2
mkdir -p "$state"

# A writer through the whole test: updates while checkpoints are written.
/usr/bin/python3 "$srcdir/tests/faults/writer.py" "${PG_DSN%/*}/defaultdb" 50 100 "$work/stop-writer" \
	>/dev/null 2>"$work/writer.err" &
sub_pids="$sub_pids $!"

# checkpoint_ok: the file holds one HLC line (checkpoint.h's format).
checkpoint_ok() {
	[ "$(wc -l <"$cp_file")" -eq 1 ] && grep -Eqx '[0-9]{1,19}\.[0-9]{10}' "$cp_file"
}
# not_older A B: HLC B is not older than A (same-width decimal text).
not_older() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort | tail -n 1)" = "$2" ] &&
		[ ${#1} -eq ${#2} ]
}
random_ms() {
	echo $(($(od -An -N2 -tu2 /dev/urandom) % $1))
}
resumed_cursor() {
	grep "crdbfeedd\[$daemon_pid\]: debug: feed fm: sending " "$daemon_log" | head -n 1 | sed -n 's/.* with \$1 = //p'
}

# ---- (a) SIGKILL during checkpoint updates ----
prev=
n=0
while [ $n -lt "$kills" ]; do
	# Every third run starts next to a torn temporary file, as a kill
	# between its creation and the rename leaves: never read, removed.
	[ $((n % 3)) -ne 2 ] || printf '17000000' >"$cp_file.tmp"
	start_daemon "$work/cp.conf"
	if [ -n "$prev" ]; then
		wait_for 20 "the restarted daemon's statement" sh -c \
			"grep -q 'crdbfeedd\[$daemon_pid\]: debug: feed fm: sending ' '$daemon_log'"
		[ "$(resumed_cursor)" = "$prev" ] ||
			fail "kill $n: restarted from '$(resumed_cursor)', the file held $prev"
	fi
	wait_for 20 "a checkpoint" test -s "$cp_file"
	[ $((n % 3)) -ne 2 ] || wait_for 10 "the stale temporary file removed" test ! -e "$cp_file.tmp"
	# A random moment within the next 0.3-1.0 s of checkpoint updates.
	sleep "0.$((300 + $(random_ms 700)))"
	daemon_alive || fail "crdbfeedd died before kill $n"
	kill -KILL "$daemon_pid"
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
	checkpoint_ok || fail "kill $n: the checkpoint file is torn: '$(head -c 200 "$cp_file")'"
	cur=$(cat "$cp_file")
	[ -z "$prev" ] || not_older "$prev" "$cur" || fail "kill $n: the checkpoint went back from $prev to $cur"
	prev=$cur
	n=$((n + 1))
done
writes=$(grep -c 'debug: feed fm: checkpoint file written at' "$daemon_log")
[ "$writes" -ge $((kills * 2)) ] || fail "only $writes checkpoint writes in $kills runs: the kills did not land during updates"
sanitizer_clean || fail "sanitizer report in the daemon's log"

# ---- (b) a full disk ----
touch "$work/stop-writer"
# A fresh tmpfs state directory that holds the current checkpoint.
cp "$cp_file" "$work/saved.checkpoint"
mount -t tmpfs -o size=64k,mode=0755 crdbfeedd-faults "$state" ||
	fail "cannot mount a tmpfs on $state (the full-disk case needs root)"
mounted=1
cp "$work/saved.checkpoint" "$cp_file"
: >"$work/fd.out"
start_daemon "$work/cp.conf"
wait_for 20 "the socket" test -S "$work/fm.sock"
subscribe "$work/fm.sock" "$work/fd.out" --duration 120
wait_for 20 "the feed streaming" has_line "$work/fd.out" '.type == "state" and .state == "streaming"'
wait_for 20 "a checkpoint on the tmpfs" sh -c "! cmp -s '$cp_file' '$work/saved.checkpoint'"
# Count before filling: the daemon writes every 100 ms and logs the
# outage once, possibly before dd has even returned.
errors_before=$(log_lines 'checkpoint not saved')
# Fill it: the next write cannot create its temporary file's data.
dd if=/dev/zero of="$state/fill" bs=4k 2>/dev/null || true
[ "$(df -P "$state" | awk 'NR == 2 { print $4 }')" -eq 0 ] || fail "the tmpfs is not full"
wait_for 20 "the failed write logged" log_count_at_least 'checkpoint not saved' $((errors_before + 1))
# From the first failure on, nothing can replace the file.
held=$(cat "$cp_file")
# Rows committed while the disk is full still reach the subscriber.
for i in 1 2 3 4 5 6 7 8 9 10; do
	pg_sql "INSERT INTO fm VALUES ($((1000 + i)), $i) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
done
wait_for 20 "rows streamed while the disk is full" has_ids "$work/fd.out" 1001 1010
mark=$(wc -l <"$work/fd.out")
wait_for 20 "resolved lines while the disk is full" sh -c \
	"tail -n +$mark '$work/fd.out' | grep -c '\"type\":\"resolved\"' | awk '\$1 >= 5 { ok = 1 } END { exit !ok }'"
[ "$(log_lines 'checkpoint not saved')" -eq $((errors_before + 1)) ] ||
	fail "the failed write was logged $(($(log_lines 'checkpoint not saved') - errors_before)) times, not once"
grep 'checkpoint not saved' "$daemon_log" | tail -n 1 | grep -q 'No space left on device' ||
	fail "the log line does not say why: $(grep 'checkpoint not saved' "$daemon_log" | tail -n 1)"
[ "$(cat "$cp_file")" = "$held" ] || fail "the checkpoint changed while the disk was full"
checkpoint_ok || fail "the checkpoint file is damaged after the full disk"
! ls "$state"/*.tmp >/dev/null 2>&1 || fail "a temporary file was left: $(ls "$state")"
daemon_alive || fail "crdbfeedd died with a full disk"
# Space again: the next resolved timestamp is saved, and that is logged.
rm -f "$state/fill"
wait_for 20 "the checkpoint saved again" log_count_at_least 'checkpoint saved again' 1
[ "$(log_lines 'checkpoint saved again')" -eq 1 ] || fail "recovery logged more than once"
after=$(cat "$cp_file")
[ "$after" != "$held" ] && not_older "$held" "$after" || fail "the checkpoint did not move on after space came back ($held -> $after)"
stop_daemon
umount_state
pass "$kills SIGKILLs during $writes checkpoint writes: never torn, never older, resumed from the file; full disk: logged once, old file kept, streamed on, saved again"
