#!/bin/sh
# e2e-journal-crash.sh: the journal's guarantees (daemon/journal.h) against
# crashes and a full disk, with tests/daemon/journal-torture as the writer.
# (a) Crash during commits: the driver commits groups of 1-50 rows (each
#     row's bytes derived from its seq, trims every 20 commits) without
#     pause and is SIGKILLed at a random moment JOURNAL_KILLS times
#     (default 5 in make check; make faults runs 30). After each kill the journal opens, its rows are
#     contiguous and intact up to the checkpoint's last seq, the checkpoint
#     is the last commit's mark, and no commit the driver saw succeed is
#     missing; the next run continues the sequence.
# (b) Full disk: the journal's directory is a 2 MiB tmpfs, in a private
#     mount namespace (root only: the test fails, never skips, without
#     it), partly taken by a filler file. Commits go on until one fails:
#     it must be JOURNAL_FULL from ENOSPC (the data file grows by writing
#     pages, and the map, 64 MiB, is far larger); nothing committed is
#     lost; with the filler removed the next commit works.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"
need_root "mounts a tmpfs for the full-disk case"
command -v unshare >/dev/null 2>&1 || fail "unshare (util-linux) is needed"

torture=$builddir/tests/daemon/journal-torture
[ -x "$torture" ] || fail "$torture is not built"
kills=${JOURNAL_KILLS:-5}
jdir=$work/crash/f.journal
acked=$work/crash/acked
mkdir -p "$work/crash"

random_ms() {
	echo $(($(od -An -N2 -tu2 /dev/urandom) % $1))
}

# acked_above N: the driver has acknowledged a commit past seq N.
acked_above() {
	[ "$(cat "$acked" 2>/dev/null || echo 0)" -gt "$1" ]
}

# ---- (a) SIGKILL during commits ----
n=0
prev=0
while [ $n -lt "$kills" ]; do
	"$torture" write "$jdir" "$acked" 50 2>"$work/write.err" &
	pid=$!
	# Once it commits (a loaded machine may take a while to start it), a
	# random moment within the next 0-300 ms of commits.
	wait_for 20 "a commit by the driver" acked_above "$prev"
	sleep "0.$(printf '%03d' "$(random_ms 300)")"
	kill -0 "$pid" 2>/dev/null || fail "kill $n: the driver stopped by itself: $(cat "$work/write.err")"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	out=$("$torture" verify "$jdir" "$acked" 2>&1) || fail "kill $n: $out"
	last=${out#last_seq=}
	prev=${last%% *}
	n=$((n + 1))
done
echo "(a) $kills kills, last seq $prev: $out"

# ---- (b) a full disk ----
cat >"$work/full.sh" <<'EOF'
set -eu
torture=$1 dir=$2 acked=$3
mount -t tmpfs -o size=2m,mode=0755 crdbfeed-journal-full "$dir"
dd if=/dev/zero of="$dir/filler" bs=64k count=8 2>/dev/null
out=$("$torture" fill "$dir/f.journal" "$acked" 20) || { echo "fill did not end with JOURNAL_FULL: $out"; exit 1; }
echo "$out"
case $out in
*"No space left on device"*) ;;
*) echo "the full commit did not fail for want of space: $out"; exit 1 ;;
esac
full_seq=$(cat "$acked")
"$torture" verify "$dir/f.journal" "$acked" || { echo "the journal is damaged after the full disk"; exit 1; }
! "$torture" commit "$dir/f.journal" "$acked" 20 >/dev/null || { echo "a commit worked on the full disk"; exit 1; }
[ "$(cat "$acked")" = "$full_seq" ] || { echo "the acknowledged seq moved on a full disk"; exit 1; }
rm "$dir/filler"
"$torture" commit "$dir/f.journal" "$acked" 20 || { echo "no commit after space was freed"; exit 1; }
[ "$(cat "$acked")" -eq $((full_seq + 20)) ] || { echo "the commit after the full disk is not seq $((full_seq + 21))..$((full_seq + 20))"; exit 1; }
"$torture" verify "$dir/f.journal" "$acked"
EOF
mkdir -p "$work/full"
out=$(unshare --mount --propagation private sh "$work/full.sh" "$torture" "$work/full" "$work/full-acked" 2>&1) ||
	fail "full disk: $(echo "$out" | tail -n 3)"
echo "(b) $out" | sed 's/^/    /'
pass "$kills SIGKILLs during commits: opened, contiguous, intact, checkpoint = last commit, nothing acknowledged lost; full tmpfs: JOURNAL_FULL from ENOSPC, nothing lost, committed again once space was freed"
