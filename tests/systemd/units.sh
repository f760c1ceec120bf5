#!/bin/sh
# units.sh: every systemd file crdbfeedd installs is valid for systemd 252:
#  - `systemd-analyze verify` of crdbfeedd.service, crdbfeedd@.service,
#    crdbfeedd.socket and the sink socket example prints nothing at all
#    (it exits 0 on unknown keys, so any stderr fails the test); the
#    Documentation= man pages resolve against the source tree's pages;
#  - `systemd-analyze security --offline=true` rates both services at
#    SECURITY_MAX (2.0) or lower;
#  - the sysusers.d and tmpfiles.d entries apply in a scratch root;
#  - the units keep the settings listed in unit-directives.txt.
# The service units are the ones make generated; only their ExecStart
# directory is pointed at the build tree (verify needs an executable).
if [ -z "${UNITS_UNDER_TIMEOUT:-}" ]; then
	UNITS_UNDER_TIMEOUT=1 exec timeout -k 5 120 "$0" "$@"
fi
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
SECURITY_MAX=2.0

fail() {
	echo "FAIL units: $*" >&2
	exit 1
}

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done
[ -x "$builddir/daemon/crdbfeedd" ] || fail "daemon/crdbfeedd is not built"
work=$(mktemp -d "${CRDBSIM_ENV_DIR:-${TMPDIR:-/tmp}}/units.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/units" "$work/man" "$work/man/man1" "$work/man/man5" "$work/man/man8"

for unit in crdbfeedd.service crdbfeedd@.service; do
	generated=$builddir/systemd/$unit
	[ -f "$generated" ] || fail "$generated was not generated (make all)"
	! grep -q '@[a-z_]*@' "$generated" || fail "$unit still holds an @substitution@"
	grep -q '^ExecStart=/[^ ]*/crdbfeedd ' "$generated" ||
		fail "$unit: ExecStart does not name an absolute crdbfeedd"
	sed -e "s|^ExecStart=/[^ ]*/crdbfeedd |ExecStart=$builddir/daemon/crdbfeedd |" \
		"$generated" >"$work/units/$unit"
done
cp "$srcdir/systemd/crdbfeedd.socket" "$work/units/"
cp "$srcdir/systemd/crdbfeedd-sink.socket.example" "$work/units/crdbfeedd-orders.socket"
cp "$srcdir/daemon/crdbfeedd.8" "$work/man/man8/"
cp "$srcdir/daemon/crdbfeedd.conf.5" "$work/man/man5/"
[ -f "$srcdir/daemon/crdbfeedctl.1" ] && cp "$srcdir/daemon/crdbfeedctl.1" "$work/man/man1/"

# 0. The settings the units must keep (unit-directives.txt), and the
# ExecStart= of the config the unit's instance names.
grep -v '^#' "$srcdir/tests/systemd/unit-directives.txt" | while IFS= read -r case; do
	[ -n "$case" ] || continue
	unit=${case%% *}
	line=${case#* }
	grep -qxF -- "$line" "$work/units/$unit" || fail "$unit lacks the line: $line"
done
ncases=$(grep -c -v '^#' "$srcdir/tests/systemd/unit-directives.txt")
grep -q '^ExecStart=[^ ]*/crdbfeedd -c /etc/crdbfeedd/crdbfeedd.conf$' "$work/units/crdbfeedd.service" ||
	fail "crdbfeedd.service does not run /etc/crdbfeedd/crdbfeedd.conf"
grep -q '^ExecStart=[^ ]*/crdbfeedd -c /etc/crdbfeedd/%i.conf$' "$work/units/crdbfeedd@.service" ||
	fail "crdbfeedd@.service does not run /etc/crdbfeedd/%i.conf"
echo "ok $ncases required unit settings"

# 1. verify: silent and successful.
for unit in crdbfeedd.service crdbfeedd@.service crdbfeedd.socket crdbfeedd-orders.socket; do
	rc=0
	(cd "$work/units" && MANPATH="$work/man" \
		systemd-analyze verify "./$unit") >"$work/verify.out" 2>&1 || rc=$?
	if [ $rc -ne 0 ] || [ -s "$work/verify.out" ]; then
		cat "$work/verify.out" >&2
		fail "systemd-analyze verify $unit: exit $rc, output above"
	fi
	echo "ok verify $unit"
done

# 2. security: the overall exposure, a number from 0.0 to 10.0.
for unit in crdbfeedd.service crdbfeedd@.service; do
	(cd "$work/units" && systemd-analyze security --offline=true --no-pager "./$unit") \
		>"$work/security.out" 2>&1 || fail "systemd-analyze security $unit failed: $(tail -3 "$work/security.out")"
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*/\1/p' "$work/security.out")
	[ -n "$level" ] || fail "no exposure level in: $(tail -3 "$work/security.out")"
	awk -v l="$level" -v max="$SECURITY_MAX" 'BEGIN { exit !(l + 0 <= max + 0) }' || {
		grep '✗' "$work/security.out" >&2 || true
		fail "$unit is rated $level, above $SECURITY_MAX"
	}
	echo "ok security $unit: $level"
done

# 3. sysusers.d then tmpfiles.d in a scratch root: the user exists and
# /run/crdbfeedd belongs to it with mode 0750.
root=$work/root
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$srcdir/systemd/sysusers.d/crdbfeedd.conf" >/dev/null 2>&1 ||
	fail "systemd-sysusers refused sysusers.d/crdbfeedd.conf"
grep -q '^crdbfeedd:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$root/etc/passwd" ||
	fail "no crdbfeedd system user: $(cat "$root/etc/passwd")"
uid=$(awk -F: '$1 == "crdbfeedd" { print $3 }' "$root/etc/passwd")
[ "$uid" -lt 1000 ] || fail "crdbfeedd got uid $uid, not a system uid"
systemd-tmpfiles --root="$root" --create "$srcdir/systemd/tmpfiles.d/crdbfeedd.conf" >"$work/tmpfiles.out" 2>&1 ||
	fail "systemd-tmpfiles: $(cat "$work/tmpfiles.out")"
[ "$(stat -c '%a %u' "$root/run/crdbfeedd")" = "750 $uid" ] ||
	fail "/run/crdbfeedd is $(stat -c '%a %u' "$root/run/crdbfeedd"), want 750 $uid"
echo "ok sysusers.d and tmpfiles.d"
