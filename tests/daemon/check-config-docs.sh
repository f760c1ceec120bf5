#!/bin/sh
# check-config-docs.sh: fails, naming each one, when a key of crdbfeedd's
# key table (daemon/conf_keys.c, printed by check_config --print-keys) is
# missing from conf/crdbfeedd.conf or daemon/crdbfeedd.conf.5, or is shown
# there with other facts (type, default, reload policy) than the table's;
# and when conf/crdbfeedd.conf differs from the generated example.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
prog=$top_builddir/tests/daemon/check_config
conf=$top_srcdir/conf/crdbfeedd.conf
man=$top_srcdir/daemon/crdbfeedd.conf.5
tmp=${TMPDIR:-/tmp}/check-config-docs.$$
trap 'rm -f "$tmp".*' EXIT INT TERM

fail=0
problem() {
	printf "FAIL: %s\n" "$*" >&2
	fail=1
}

for f in "$prog" "$conf" "$man"; do
	[ -e "$f" ] || { echo "FAIL: $f is missing" >&2; exit 1; }
done
"$prog" --print-keys >"$tmp.keys" || { echo "FAIL: $prog --print-keys" >&2; exit 1; }
nkeys=$(wc -l <"$tmp.keys")
[ "$nkeys" -gt 30 ] || problem "only $nkeys keys from --print-keys"

# The lines of one section: in the example config from its header to the
# next header (commented "[feed NAME]" ones included), in the man page from
# its .SS line to the next .SS or .SH.
conf_section() {
	awk -v want="$1" '
		/^;?\[/ { name = $0; sub(/^;?\[/, "", name); sub(/[] ].*/, "", name); cur = name }
		cur == want' "$conf"
}
man_section() {
	awk -v want="$1" '
		/^\.S[SH] / { cur = "" }
		/^\.SS "\[/ { name = $0; sub(/^\.SS "\[/, "", name); sub(/[] ].*/, "", name); cur = name; next }
		cur == want' "$man"
}

while IFS='	' read -r section key facts; do
	conf_section "$section" >"$tmp.conf"
	man_section "$section" >"$tmp.man"
	# Commented out at its default, or set (control_socket).
	grep -qxE ";?$key =.*" "$tmp.conf" ||
		problem "key '$key' of [$section] is missing from conf/crdbfeedd.conf"
	grep -qxF "; $facts" "$tmp.conf" ||
		problem "conf/crdbfeedd.conf does not say '$facts' (key '$key' of [$section])"
	# ".B key" then "\fIfacts\fR" on the next line.
	awk -v key=".B $key" -v facts="\\\\fI$facts\\\\fR" '
		prev == key && $0 == facts { found = 1 }
		{ prev = $0 }
		END { exit !found }' "$tmp.man" ||
		problem "key '$key' of [$section] is missing from crdbfeedd.conf.5 (or not followed by '\\fI$facts\\fR')"
done <"$tmp.keys"

"$prog" --print-example >"$tmp.example" || problem "$prog --print-example"
if ! cmp -s "$tmp.example" "$conf"; then
	problem "conf/crdbfeedd.conf differs from the key table; regenerate it with: make update-example-config"
	diff -u "$conf" "$tmp.example" >&2
fi

[ "$fail" -eq 0 ] && echo "PASS: $nkeys keys documented in conf/crdbfeedd.conf and crdbfeedd.conf.5"
exit "$fail"
