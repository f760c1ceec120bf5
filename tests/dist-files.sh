#!/bin/sh
# tests/dist-files.sh SRCDIR DISTDIR: every file git tracks in SRCDIR is in
# the unpacked distribution DISTDIR, but for those kept out on purpose:
#   debian/          the packaging, built from the repository (debpkg)
#   tests/nspawn/    the packages' test under systemd, run from the repository
#   .gitignore, m4/.gitkeep
# make distcheck runs it (distcheck-hook): a test that reads a directory
# (check_config's case files) would otherwise pass there with files
# missing. Outside a git checkout there is nothing to compare with: it says
# so and succeeds; in a checkout whose files git cannot list it fails.
set -u
srcdir=$1 distdir=$2

if [ ! -e "$srcdir/.git" ]; then
	echo "dist-files: $srcdir is not a git checkout; the distribution's file list is not compared"
	exit 0
fi
# A checkout whose files git cannot list (git missing, a refused
# directory) fails: the comparison must not pass by comparing nothing.
tracked=$(git -C "$srcdir" ls-files) && [ -n "$tracked" ] || {
	echo "dist-files: git ls-files gave no files in $srcdir" >&2
	exit 1
}
missing=$(printf '%s\n' "$tracked" |
	grep -v -E '^(debian/|tests/nspawn/|\.gitignore$|m4/\.gitkeep$)' |
	while IFS= read -r f; do
		[ -e "$distdir/$f" ] || printf '%s\n' "$f"
	done)
if [ -n "$missing" ]; then
	echo "dist-files: tracked files missing from the distribution (add them to EXTRA_DIST or a _SOURCES list in their local.mk):" >&2
	printf '%s\n' "$missing" | sed 's/^/  /' >&2
	exit 1
fi
echo "dist-files: every tracked file is in the distribution"
