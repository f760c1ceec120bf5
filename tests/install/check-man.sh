#!/bin/sh
# check-man.sh: lints every manual page of the source tree (a file named
# *.[1-8] that starts a page with .TH). Each must render with groff's man
# macros without a single warning (-ww, and -rCHECKSTYLE=3 for the man
# macros' own style checks), carry a .TH whose title and section match its
# file name, have NAME, DESCRIPTION and SEE ALSO sections, and have a NAME
# line that lexgrog (what mandb indexes with) reads as that name; and
# every crdbfeed page it refers to (crdbfeed*, libcrdb in bold with a
# section) must exist in the tree. mandoc's lint must find nothing at
# warning level or above (-W warning: it exits non-zero then).
# libcrdb(3) must name every function that lib/crdb.h declares.
# Needs top_srcdir (exported by the test harness), groff, lexgrog and
# mandoc.
set -eu

test_name=check-man
fail() {
	echo "FAIL $test_name: $*" >&2
	exit 1
}

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# Debian: groff-base (groff), man-db (lexgrog), mandoc.
for tool in groff lexgrog mandoc; do
	command -v $tool >/dev/null 2>&1 || fail "$tool is needed (Debian: groff-base, man-db, mandoc)"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/check-man.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The pages: skip build trees, distcheck's and CI's, and VCS metadata.
find "$srcdir" -mindepth 1 \( -name .git -o -name 'build-*' -o -name '_build' -o \
	-name 'crdbfeed-*' -o -name autom4te.cache -o -name corpus \) -prune -o \
	-type f -name '*.[1-8]' -print | sort >"$work/candidates"
: >"$work/pages"
while IFS= read -r f; do
	grep -q '^\.TH ' "$f" && echo "$f" >>"$work/pages"
done <"$work/candidates"
count=$(wc -l <"$work/pages")
[ "$count" -gt 0 ] || fail "no manual page found under $srcdir"

while IFS= read -r f; do
	base=$(basename "$f")
	section=${base##*.}
	name=${base%.*}
	rel=${f#"$srcdir"/}

	groff -man -ww -z -rCHECKSTYLE=3 "$f" 2>"$work/err" || fail "$rel: groff failed"
	[ ! -s "$work/err" ] || fail "$rel: $(cat "$work/err")"
	mandoc -T lint -W warning "$f" >"$work/err" 2>&1 || fail "$rel: $(cat "$work/err")"
	[ ! -s "$work/err" ] || fail "$rel: $(cat "$work/err")"

	# .TH TITLE SECTION: the title is the name in capitals.
	th=$(grep -m 1 '^\.TH ' "$f")
	set -f
	# shellcheck disable=SC2086
	set -- $th
	set +f
	want_title=$(echo "$name" | tr '[:lower:]' '[:upper:]')
	[ "${2:-}" = "$want_title" ] || fail "$rel: .TH title '${2:-}', want '$want_title'"
	[ "${3:-}" = "$section" ] || fail "$rel: .TH section '${3:-}', want '$section'"

	for sh in NAME DESCRIPTION 'SEE ALSO'; do
		grep -q "^\\.SH \"\\{0,1\\}$sh\"\\{0,1\\}\$" "$f" || fail "$rel: no $sh section"
	done

	whatis=$(lexgrog "$f" 2>&1) || fail "$rel: lexgrog cannot read the NAME section: $whatis"
	case $whatis in
	*": \"$name - "*) ;;
	*) fail "$rel: NAME reads as $whatis, want '$name - ...'" ;;
	esac

	# References to our own pages must resolve to a page of the tree.
	grep -o '^\.BR *\(crdbfeed[a-z.]*\|libcrdb\) ([1-8])' "$f" |
		sed 's/^\.BR *\([^ ]*\) (\([1-8]\))/\1.\2/' | sort -u >"$work/refs" || true
	while IFS= read -r ref; do
		grep -q "/$ref\$" "$work/pages" || fail "$rel refers to $ref, which is not in the tree"
	done <"$work/refs"
	echo "ok $test_name: $rel"
done <"$work/pages"
echo "ok $test_name: $count manual pages lint clean"

# libcrdb(3) documents every function of the public header.
header=$srcdir/lib/crdb.h
page=$srcdir/lib/libcrdb.3
[ -f "$header" ] && [ -f "$page" ] || fail "lib/crdb.h or lib/libcrdb.3 is missing"
grep -o -E '\bcrdb_[a-z0-9_]+\(' "$header" | sort -u >"$work/api"
[ -s "$work/api" ] || fail "no function found in lib/crdb.h"
undocumented=
while IFS= read -r fn; do
	grep -q -F "$fn" "$page" || undocumented="$undocumented ${fn%(}"
done <"$work/api"
[ -z "$undocumented" ] || fail "libcrdb.3 does not document:$undocumented"
echo "ok $test_name: libcrdb.3 documents all $(wc -l <"$work/api") functions of crdb.h"
