#!/bin/sh
# tests/daemon/check-includes.sh: fail when the files of daemon/ include
# each other in a circle. A module is a .c file with its .h (feed.c and
# feed.h are "feed"), and a module's internal header X_int.h belongs to X;
# a module depends on every module whose header it includes with
# #include "x.h". Dependencies must point one way: a circle (feed
# includes sink, sink includes feed) is printed as a path, and fails.
set -u

: "${top_srcdir:=.}"
dir=$top_srcdir/daemon

if [ ! -d "$dir" ]; then
	echo "check-includes: $dir is not a directory (top_srcdir set?)" >&2
	exit 1
fi

# One "module header-module" edge per line, for headers that live in daemon/.
edges=$(cd "$dir" && for f in *.c *.h; do
	[ -e "$f" ] || continue
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"/]*\)\.h".*/\1/p' "$f" |
	while read -r h; do
		[ -e "$h.h" ] || continue
		m=${f%.*}
		m=${m%_int}
		h=${h%_int}
		[ "$m" = "$h" ] || echo "$m $h"
	done
done | sort -u)

count=$(printf '%s\n' "$edges" | grep -c .)
if [ "$count" -eq 0 ]; then
	echo "check-includes: no includes found in $dir" >&2
	exit 1
fi

printf '%s\n' "$edges" | awk -v count="$count" '
	{ n[$1]++; to[$1, n[$1]] = $2; mods[$1] = 1; mods[$2] = 1 }
	# Depth-first search; color 1 = on the current path, 2 = done.
	function visit(m, path,    i, t) {
		color[m] = 1
		for (i = 1; i <= n[m]; i++) {
			t = to[m, i]
			if (color[t] == 1) {
				print "check-includes: include circle: " path " -> " t > "/dev/stderr"
				bad = 1
			} else if (!color[t]) {
				visit(t, path " -> " t)
			}
		}
		color[m] = 2
	}
	END {
		for (m in mods)
			if (!color[m])
				visit(m, m)
		if (bad)
			exit 1
		printf "check-includes: %d include edges among daemon/ modules, no circle\n", count
	}'
