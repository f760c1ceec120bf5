#!/bin/sh
# check-defaults.sh: every default that crdbfeedd.conf(5) documents is the
# value in force, in config mode (a file that sets only what it must) and
# in quick mode (`crdbfeedd --dsn DSN TABLE`), as `crdbfeedd --dump-config`
# prints them. A feed or sink key documented "from [crdbfeedd]" must have
# the [crdbfeedd] key's default; keys documented "unset" must be empty,
# but for those whose help gives the rule for unset (envelope, policy,
# low_watermark), checked by that rule. Also: quick mode's -o sets keys.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
daemon=$top_builddir/daemon/crdbfeedd
man=$top_srcdir/daemon/crdbfeedd.conf.5
tmp=${TMPDIR:-/tmp}/check-defaults.$$
trap 'rm -f "$tmp".*' EXIT INT TERM

fail=0
problem() {
	printf "FAIL: %s\n" "$*" >&2
	fail=1
}
for f in "$daemon" "$man"; do
	[ -e "$f" ] || { echo "FAIL: $f is missing" >&2; exit 1; }
done

# "SECTION KEY DEFAULT" from the man page: ".SS "[feed NAME]"", then
# ".B key" followed by "\fItype; default: D; reload: R\fR".
awk '
	/^\.S[SH] / { sec = "" }
	/^\.SS "\[/ { sec = $0; sub(/^\.SS "\[/, "", sec); sub(/[] ].*/, "", sec); next }
	sec != "" && prev ~ /^\.B [a-z_]+$/ && /; default: .*; reload: / {
		key = prev; sub(/^\.B /, "", key)
		d = $0; sub(/.*; default: /, "", d); sub(/; reload: .*/, "", d)
		print sec "\t" key "\t" d
	}
	{ prev = $0 }' "$man" >"$tmp.doc"
ndoc=$(wc -l <"$tmp.doc")
[ "$ndoc" -gt 40 ] || { echo "FAIL: only $ndoc documented defaults found in $man" >&2; exit 1; }

doc_default() { # SECTION KEY
	awk -F '\t' -v s="$1" -v k="$2" '$1 == s && $2 == k { print $3; found = 1 } END { exit !found }' "$tmp.doc"
}

# The documented value of KEY in a feed or sink section, "" for unset.
expected() { # SECTION KEY
	d=$(doc_default "$1" "$2") || { echo "?undocumented"; return; }
	if [ "$d" = "from [crdbfeedd]" ]; then
		d=$(doc_default crdbfeedd "$2") || { echo "?undocumented"; return; }
	fi
	[ "$d" = unset ] && d=
	printf '%s\n' "$d"
}

compared=0
# check DUMP NAME SECTION OBJECT: each dumped key of OBJECT (crdbfeedd,
# feed.NAME or sink.NAME) against the docs; SKIP_KEYS set by the test;
# RULES "key=value" lines for the documented rules of unset keys.
check() { # DUMPFILE WHAT SECTION PREFIX SKIP_KEYS RULES
	grep "^$4\\." "$1" | sed "s/^$4\\.//" >"$tmp.part"
	[ -s "$tmp.part" ] || problem "$2: no $4.* lines in --dump-config"
	while IFS= read -r line; do
		key=${line%% = *}
		value=${line#* = }
		case " $5 " in *" $key "*) continue ;; esac
		rule=$(printf '%s\n' "$6" | sed -n "s/^$key=//p")
		want=$(expected "$3" "$key")
		if [ -n "$rule" ] && [ -z "$want" ]; then
			want=$rule
		fi
		if [ "$value" != "$want" ]; then
			problem "$2: [$3] $key is '$value' in force, documented '$want'"
		fi
		compared=$((compared + 1))
	done <"$tmp.part"
}

# --- config mode: only what must be set ------------------------------------
cat >"$tmp.conf" <<CONF
[feed f]
dsn = postgresql://127.0.0.1:1/db
tables = t
[sink u]
feed = f
path = /tmp/check-defaults.sock
[sink o]
feed = f
type = stdout
CONF
"$daemon" --dump-config -c "$tmp.conf" >"$tmp.dump" 2>"$tmp.err" ||
	{ echo "FAIL: crdbfeedd --dump-config -c: $(cat "$tmp.err")" >&2; exit 1; }
check "$tmp.dump" "config" crdbfeedd crdbfeedd "" ""
check "$tmp.dump" "config" feed feed.f "dsn" "envelope=wrapped"
check "$tmp.dump" "config" sink sink.u "feed path" "policy=disconnect
low_watermark=512k"
check "$tmp.dump" "config" sink sink.o "feed type" "policy=block
low_watermark=512k"
grep -qx 'sink.o.mode = .*' "$tmp.dump" && problem "config: a stdout sink shows a unix-only key"

# --- quick mode ---------------------------------------------------------------
"$daemon" --dump-config --dsn 'postgresql://u:pw-DEFAULTS@127.0.0.1:1/db' t >"$tmp.quick" 2>"$tmp.err" ||
	{ echo "FAIL: crdbfeedd --dump-config --dsn: $(cat "$tmp.err")" >&2; exit 1; }
check "$tmp.quick" "quick mode" crdbfeedd crdbfeedd "" ""
check "$tmp.quick" "quick mode" feed feed.quick "dsn" "envelope=wrapped"
check "$tmp.quick" "quick mode" sink sink.stdout "feed type" "policy=block
low_watermark=512k"
grep -q 'pw-DEFAULTS' "$tmp.quick" && problem "quick mode: --dump-config shows the password"
grep -qx 'sink.stdout.type = stdout' "$tmp.quick" || problem "quick mode: the sink is not stdout"

# Quick mode's -o sets the feed keys that are changefeed options, and
# leaves the other defaults alone.
"$daemon" --dump-config --dsn postgresql://127.0.0.1:1/db -o resolved=2s -o diff \
	-o envelope=bare -o initial_scan=no -o mvcc_timestamp t >"$tmp.opts" 2>"$tmp.err" ||
	{ echo "FAIL: quick mode with options: $(cat "$tmp.err")" >&2; exit 1; }
for want in 'feed.quick.resolved = 2s' 'feed.quick.diff = yes' \
	'feed.quick.envelope = bare' 'feed.quick.start = now' \
	'feed.quick.mvcc_timestamp = yes' 'feed.quick.backoff_initial = 1s' \
	'feed.quick.backoff_max = 60s'; do
	grep -qxF "$want" "$tmp.opts" || problem "quick mode with options: no line '$want'"
done
rc=0
"$daemon" --dump-config --dsn postgresql://127.0.0.1:1/db -o resolved=fast t >/dev/null 2>"$tmp.err" || rc=$?
[ "$rc" -eq 64 ] || problem "quick mode: a bad duration exits $rc, expected 64"
grep -q "resolved: expected a duration" "$tmp.err" || problem "quick mode: a bad duration says: $(cat "$tmp.err")"

[ "$compared" -gt 60 ] || problem "only $compared values compared"
[ "$fail" -eq 0 ] && echo "PASS: $compared values in force are the documented defaults ($ndoc documented)"
exit "$fail"
