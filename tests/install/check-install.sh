#!/bin/sh
# check-install.sh: `make install DESTDIR=<temp>` from the build tree must
# install exactly the files of tests/install/installed-files.list (nothing
# missing, nothing extra); the installed crdbfeedd must run against the
# installed libcrdb; and a small program (parse-version.c) built with the
# flags pkg-config gives for the installed libcrdb.pc must link and run
# against it, replaying the plain cases of tests/unit/cases/version.cases;
# and make uninstall must remove every installed file.
# Needs top_srcdir and top_builddir (exported by the test harness), and
# tests/install/check_install.env (made by `make check`).
set -eu

test_name=check-install
fail() {
	echo "FAIL $test_name: $*" >&2
	exit 1
}

[ -n "${top_srcdir:-}" ] || fail "top_srcdir is not set (run through make check)"
[ -n "${top_builddir:-}" ] || fail "top_builddir is not set (run through make check)"
srcdir=$top_srcdir
builddir=$top_builddir
envfile=$builddir/tests/install/check_install.env
manifest=$srcdir/tests/install/installed-files.list
cases=$srcdir/tests/unit/cases/version.cases
[ -f "$envfile" ] || fail "$envfile is missing (make check builds it)"
[ -f "$manifest" ] || fail "$manifest is missing"
[ -f "$cases" ] || fail "$cases is missing"
for tool in pkg-config groff nm ldd; do
	command -v $tool >/dev/null 2>&1 || fail "$tool is needed"
done
# shellcheck source=/dev/null
. "$envfile"

work=$(mktemp -d "${TMPDIR:-/tmp}/check-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/root

# A make started by a test of `make -jN check` must not join the outer
# make's job server (its file descriptors are not ours).
if ! (cd "$builddir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	"$MAKE" install DESTDIR="$dest") >"$work/install.log" 2>&1; then
	tail -n 40 "$work/install.log" >&2
	fail "make install DESTDIR=$dest failed"
fi

# The manifest, with its directory variables resolved, against what is there.
dirvalue() {
	case $1 in
	prefix) echo "$prefix" ;;
	bindir) echo "$bindir" ;;
	sbindir) echo "$sbindir" ;;
	libdir) echo "$libdir" ;;
	includedir) echo "$includedir" ;;
	mandir) echo "$mandir" ;;
	docdir) echo "$docdir" ;;
	pkgdatadir) echo "$pkgdatadir" ;;
	systemdsystemunitdir) echo "$systemdsystemunitdir" ;;
	sysusersdir) echo "$sysusersdir" ;;
	tmpfilesdir) echo "$tmpfilesdir" ;;
	*) return 1 ;;
	esac
}

lineno=0
: >"$work/expected"
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case $line in '' | '#'*) continue ;; esac
	set -f
	# shellcheck disable=SC2086
	set -- $line
	set +f
	[ $# -eq 2 ] || fail "installed-files.list:$lineno: want 'DIRVAR RELPATH': $line"
	dir=$(dirvalue "$1") || fail "installed-files.list:$lineno: unknown directory variable $1"
	echo "$dir/$2" >>"$work/expected"
done <"$manifest"
sort -o "$work/expected" "$work/expected"
[ -s "$work/expected" ] || fail "installed-files.list names no file"

(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort) >"$work/installed"
missing=$(comm -23 "$work/expected" "$work/installed")
extra=$(comm -13 "$work/expected" "$work/installed")
[ -z "$missing" ] || fail "not installed: $(echo $missing)"
[ -z "$extra" ] || fail "installed but not in installed-files.list: $(echo $extra)"
echo "ok $test_name: $(wc -l <"$work/expected") files installed, as listed"

# Every installed page renders without a warning (check-man.sh does the
# same for the pages of the source tree).
for page in $(grep '^mandir ' "$manifest" | cut -d' ' -f2); do
	groff -man -ww -z "$dest$mandir/$page" 2>"$work/groff.err" ||
		fail "groff failed on the installed $page"
	[ ! -s "$work/groff.err" ] || fail "installed $page: $(cat "$work/groff.err")"
done

# The installed libraries carry the API; the daemon runs against them.
nm -D --defined-only "$dest$libdir/libcrdb.so.0" | grep -q ' T crdb_parse_version$' ||
	fail "libcrdb.so.0 does not export crdb_parse_version"
nm --defined-only "$dest$libdir/libcrdb.a" 2>/dev/null | grep -q ' T crdb_parse_version$' ||
	fail "libcrdb.a does not define crdb_parse_version"
LD_LIBRARY_PATH=$dest$libdir
export LD_LIBRARY_PATH
if [ -f "$dest$sbindir/crdbfeedd" ]; then
	out=$("$dest$sbindir/crdbfeedd" --version 2>&1) ||
		fail "the installed crdbfeedd --version failed: $out"
	case $out in
	*"$PACKAGE_VERSION"*) ;;
	*) fail "crdbfeedd --version says '$out', not $PACKAGE_VERSION" ;;
	esac
	ldd "$dest$sbindir/crdbfeedd" | grep -q "libcrdb.so.0 => $dest$libdir/" ||
		fail "the installed crdbfeedd does not load the installed libcrdb: $(ldd "$dest$sbindir/crdbfeedd" | grep libcrdb)"
fi

# pkg-config on the installed libcrdb.pc. PKG_CONFIG_SYSROOT_DIR relocates
# libcrdb's own paths into DESTDIR; its requirements (libpq, jansson) are
# the system's, so they are asked for without the sysroot (pkgconf would
# otherwise prefix their paths too). --maximum-traverse-depth=2 is pkgconf's
# way of saying "this package only".
PKG_CONFIG_PATH=$dest$libdir/pkgconfig
export PKG_CONFIG_PATH
modversion=$(pkg-config --modversion libcrdb) || fail "pkg-config does not find the installed libcrdb.pc"
[ "$modversion" = "$PACKAGE_VERSION" ] ||
	fail "libcrdb.pc says version $modversion, the package is $PACKAGE_VERSION"
own_flags=$(PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --maximum-traverse-depth=2 --cflags --libs libcrdb) ||
	fail "pkg-config --cflags --libs libcrdb failed"
case $own_flags in
*"-I$dest$includedir"*"-L$dest$libdir"*"-lcrdb"*) ;;
*) fail "libcrdb's flags do not point into DESTDIR: $own_flags" ;;
esac
requires=$(pkg-config --print-requires libcrdb) || fail "pkg-config --print-requires libcrdb failed"
dep_flags=$(pkg-config --cflags --libs $requires) || fail "pkg-config --cflags --libs $requires failed"

# Sanitizer builds install sanitized libraries: the program needs the same
# runtime (SAN_CFLAGS/SAN_LDFLAGS are empty otherwise).
# shellcheck disable=SC2086
$CC $SAN_CFLAGS -o "$work/parse-version" "$srcdir/tests/install/parse-version.c" \
	$own_flags $dep_flags $SAN_LDFLAGS 2>"$work/cc.err" ||
	fail "building parse-version.c against the installed libcrdb failed: $(cat "$work/cc.err")"
ldd "$work/parse-version" | grep -q "libcrdb.so.0 => $dest$libdir/" ||
	fail "parse-version does not load the installed libcrdb: $(ldd "$work/parse-version" | grep libcrdb)"

# Replay the version cases that need no escapes (a shell argument cannot
# be NULL): "input|expected", expected a number or ERR|message.
ran=0
while IFS= read -r line || [ -n "$line" ]; do
	case $line in '' | '#'* | *\\*) continue ;; esac
	input=${line%%|*}
	expected=${line#*|}
	got=$("$work/parse-version" "$input") || true
	[ "$got" = "$expected" ] ||
		fail "version.cases: '$input' gave '$got', expected '$expected'"
	ran=$((ran + 1))
done <"$cases"
[ $ran -gt 0 ] || fail "no version case was replayed"
echo "ok $test_name: a program built with pkg-config against the installed libcrdb parsed $ran version cases"

# make uninstall takes back every file it put there.
if ! (cd "$builddir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	"$MAKE" uninstall DESTDIR="$dest") >"$work/uninstall.log" 2>&1; then
	tail -n 40 "$work/uninstall.log" >&2
	fail "make uninstall DESTDIR=$dest failed"
fi
left=$(cd "$dest" && find . ! -type d | sed 's|^\.||')
[ -z "$left" ] || fail "left after make uninstall: $(echo $left)"
echo "ok $test_name: make uninstall removed all $(wc -l <"$work/expected") files"

