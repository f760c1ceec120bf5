#!/bin/sh
# check-nats-pub.sh: runs tests/daemon/check_nats_pub (the NATS connection
# and publisher) next to a throwaway nats-server (tests/nats/nats-env). Under
# .ci/valgrind-test, which sets CRDBFEEDD_WRAPPER for shell tests, the
# program runs under that wrapper with Check's fork mode off.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
prog=$top_builddir/tests/daemon/check_nats_pub
if [ -n "${CRDBFEEDD_WRAPPER:-}" ]; then
	CK_FORK=no
	export CK_FORK
	# shellcheck disable=SC2086
	exec "$top_srcdir/tests/nats/nats-env" \
		"$top_builddir/libtool" --mode=execute $CRDBFEEDD_WRAPPER "$prog"
fi
exec "$top_srcdir/tests/nats/nats-env" "$prog"
