# ctl-lib.sh: helpers for the control socket / metrics / crdbfeedctl tests
# (sourced after nothing else: it sources tests/daemon/e2e-lib.sh, which
# runs the test under timeout(1) and fails when crdbsim is missing).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

CRDBFEEDCTL=${CRDBFEEDCTL:-$builddir/daemon/crdbfeedctl}
[ -x "$CRDBFEEDCTL" ] || fail "$CRDBFEEDCTL is not built"
ctl_socket=$work/control.sock

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ctl_run ARGS...: crdbfeedctl -s $ctl_socket ARGS; stdout to stdout,
# stderr to $work/ctl.err, exit status in $ctl_rc (never fails itself).
ctl_run() {
	ctl_rc=0
	"$CRDBFEEDCTL" -s "$ctl_socket" "$@" 2>"$work/ctl.err" || ctl_rc=$?
}

# ctl_ok ARGS...: the same, and it must exit 0.
ctl_ok() {
	ctl_run "$@"
	[ "$ctl_rc" -eq 0 ] || fail "crdbfeedctl $* exited $ctl_rc: $(cat "$work/ctl.err")"
}

# ctl_expect RC PATTERN ARGS...: must exit RC with one stderr line
# matching PATTERN (grep -E).
ctl_expect() {
	_ce_rc=$1 _ce_pat=$2
	shift 2
	ctl_run "$@" >"$work/ctl.out"
	[ "$ctl_rc" -eq "$_ce_rc" ] ||
		fail "crdbfeedctl $* exited $ctl_rc, want $_ce_rc: $(cat "$work/ctl.err")"
	[ "$(wc -l <"$work/ctl.err")" -eq 1 ] ||
		fail "crdbfeedctl $*: want one error line, got: $(cat "$work/ctl.err")"
	grep -Eq "^crdbfeedctl: $_ce_pat" "$work/ctl.err" ||
		fail "crdbfeedctl $*: '$(cat "$work/ctl.err")' does not match '$_ce_pat'"
}

# status_has JQ_CONDITION: for wait_for. (jq 1.6 -e exits 0 on empty
# input: an unreachable daemon must not count as true.)
status_has() {
	_sh_json=$("$CRDBFEEDCTL" -s "$ctl_socket" status --json 2>/dev/null) || return 1
	[ -n "$_sh_json" ] && printf '%s\n' "$_sh_json" | jq -e "$1" >/dev/null
}

# http_get SOCAT_ADDRESS PATH OUT: an HTTP/1.0 GET; the head goes to
# OUT.head (CRs removed), the body to OUT.
http_get() {
	printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: ctl-test\r\n\r\n' "$2" |
		socat -t 5 - "$1" >"$3.raw" || fail "GET $2 on $1 failed"
	/usr/bin/python3 - "$3" <<'PY' || fail "GET $2 on $1: no HTTP head in the answer"
import sys
out = sys.argv[1]
raw = open(out + ".raw", "rb").read()
head, sep, body = raw.partition(b"\r\n\r\n")
if not sep:
    sys.exit(1)
open(out + ".head", "wb").write(head.replace(b"\r", b"") + b"\n")
open(out, "wb").write(body)
PY
}

# metric_value FILE SERIES: the value of one exact series (empty if none).
metric_value() {
	awk -v s="$2" '$1 == s { print $2; exit }' "$1"
}

# expect_metric FILE SERIES OP VALUE: OP is = < <= > >=.
expect_metric() {
	_em_v=$(metric_value "$1" "$2")
	[ -n "$_em_v" ] || fail "$1: no series $2"
	awk -v a="$_em_v" -v op="$3" -v b="$4" 'BEGIN {
		a += 0; b += 0; ok = 0
		if (op == "=") ok = a == b
		else if (op == "<") ok = a < b
		else if (op == "<=") ok = a <= b
		else if (op == ">") ok = a > b
		else if (op == ">=") ok = a >= b
		exit !ok }' || fail "$1: $2 is $_em_v, want $3 $4"
}

# prom_wellformed FILE: every line a HELP, a TYPE or a sample of the family
# announced just before, each family once, values numbers.
prom_wellformed() {
	awk '
	/^# HELP / { fam = $3; if (seen[fam]++) { print "family twice: " fam; bad = 1 }; typed = 0; next }
	/^# TYPE / { if ($3 != fam || ($4 != "counter" && $4 != "gauge")) { print "bad TYPE: " $0; bad = 1 }; typed = 1; next }
	/^#/ { print "stray comment: " $0; bad = 1; next }
	{
		name = $1; sub(/\{.*/, "", name)
		if (!typed || name != fam) { print "sample outside its family: " $0; bad = 1 }
		if ($NF !~ /^[-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$/) { print "bad value: " $0; bad = 1 }
	}
	END { exit bad }' "$1" >"$work/prom.err" || fail "$1 is not well formed: $(head -n 3 "$work/prom.err")"
}

# jq_true JQ_CONDITION: standard input is JSON that satisfies it (empty
# input is false, unlike jq -e).
jq_true() {
	_jt_in=$(cat)
	[ -n "$_jt_in" ] && printf '%s\n' "$_jt_in" | jq -e "$1" >/dev/null
}
