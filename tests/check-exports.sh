#!/bin/sh
# tests/check-exports.sh: fail when libcrdb.so exports a dynamic symbol
# outside the public crdb_ namespace, or an internal crdb__ helper (see
# lib/local.mk's -export-symbols-regex '^crdb_[a-z]'). Every exported
# symbol is API: a stray one can clash with an application's own.
set -u

: "${top_builddir:=.}"
so=$top_builddir/lib/.libs/libcrdb.so

if [ ! -e "$so" ]; then
	echo "check-exports: $so is missing (was the shared library built?)" >&2
	exit 1
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "check-exports: nm not found (binutils)" >&2
	exit 1
fi

symbols=$(nm -D --defined-only "$so") || {
	echo "check-exports: nm -D failed on $so" >&2
	exit 1
}

bad=0
count=0
# Lines are "address type name[@version]"; the name is the last field.
for name in $(printf '%s\n' "$symbols" | awk 'NF >= 2 { print $NF }' | sed 's/@.*//'); do
	count=$((count + 1))
	case $name in
	crdb__*)
		echo "check-exports: internal symbol exported: $name" >&2
		bad=1 ;;
	crdb_*) ;;
	*)
		echo "check-exports: symbol outside the crdb_ namespace exported: $name" >&2
		bad=1 ;;
	esac
done

if [ "$count" -eq 0 ]; then
	echo "check-exports: $so exports no symbols at all" >&2
	exit 1
fi
if [ "$bad" -ne 0 ]; then
	exit 1
fi
echo "check-exports: $count symbols, all crdb_*"
exit 0
