#!/bin/bash
# tests/nspawn/run.sh: the Debian packages, built and proven under a real
# systemd (CI stage "debpkg"; as root, takes minutes, so not in make check).
#
# 1. Builds crdbfeedd, libcrdb0 and libcrdb-dev with dpkg-buildpackage from
#    a copy of the tracked files (DEB_BUILD_OPTIONS=nocheck unless
#    DEBPKG_MAKE_CHECK=1: the suite has stages of its own) and runs lintian.
# 2. Debootstraps a minimal Debian 12 root once and caches it.
# 3. Runs checks.sh under tests/crdbsim/crdbsim-env, with crdbsim asking for
#    a password: it boots the root in systemd-nspawn --boot and checks the
#    installed units (see checks.sh).
# Prints one line per check, then "debpkg: N passed, N failed"; exits 0 only
# when every check passed.
#
# Environment:
#   DEBPKG_WORK        scratch directory, emptied first (default: build-debpkg
#                      in the source tree; it holds the packages and logs)
#   DEBPKG_ROOT_CACHE  where the root file system is cached (default
#                      /var/tmp/crdbfeed-nspawn); delete it to rebuild
#   DEBPKG_MIRROR      Debian mirror (default http://deb.debian.org/debian)
#   DEBPKG_MAKE_CHECK=1  let dpkg-buildpackage run make check
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
work=${DEBPKG_WORK:-$top/build-debpkg}
cache=${DEBPKG_ROOT_CACHE:-/var/tmp/crdbfeed-nspawn}
mirror=${DEBPKG_MIRROR:-http://deb.debian.org/debian}
# systemd as PID 1; dbus for systemctl; procps for ExecReload's kill;
# libnss-systemd for dynamic users; the libraries crdbfeedd links, so
# that dpkg -i needs no network.
includes=systemd,systemd-sysv,dbus,procps,libnss-systemd,libpq5,libssl3,libevent-2.1-7,libevent-openssl-2.1-7,libjansson4,liblmdb0,libnats3.4
t_start=$SECONDS
passed=0
failed=0

ok() { echo "ok debpkg: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL debpkg: $*"; failed=$((failed + 1)); }
finish() {
	echo "debpkg: $passed passed, $failed failed ($((SECONDS - t_start)) s)"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

if [ "$(id -u)" != 0 ]; then
	bad "must run as root (systemd-nspawn, debootstrap)"
	finish
fi
for tool in dpkg-buildpackage dh lintian debootstrap systemd-nspawn nsenter pgrep psql jq git \
	/usr/bin/python3; do
	command -v "$tool" >/dev/null 2>&1 || { bad "$tool is missing (sh .ci/install-deps)"; finish; }
done

rm -rf "$work" && mkdir -p "$work/src" || { bad "cannot create $work"; finish; }

# ---- 1. packages
t0=$SECONDS
(cd "$top" && git ls-files -z) | (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$work/src" ||
	{ bad "cannot copy the source tree"; finish; }
opts=nocheck
[ "${DEBPKG_MAKE_CHECK:-}" = 1 ] && opts=
if (cd "$work/src" && DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=$opts): $(cd "$work" && ls *.deb | grep -v dbgsym | tr '\n' ' ')in $((SECONDS - t0)) s"
else
	bad "dpkg-buildpackage failed; last lines:"
	tail -n 40 "$work/build.log"
	finish
fi
mkdir -p "$work/debs" && cp "$work"/*.deb "$work/debs/"

changes=$(ls "$work"/*.changes | head -n 1)
if lintian --fail-on error,warning --pedantic --display-info "$changes" >"$work/lintian.log" 2>&1; then
	ok "lintian --pedantic: no error or warning$(grep -c '^[IPX]:' "$work/lintian.log" | sed 's/^0$//; s/^[0-9].*/ (& info\/pedantic tags, see lintian.log)/')"
else
	bad "lintian found errors or warnings:"
	grep -E '^[EW]:' "$work/lintian.log"
fi

# Debian's paths, and the library's symbols file.
layout_problems=
for f in crdbfeedd:./usr/sbin/crdbfeedd crdbfeedd:./usr/bin/crdbfeedctl \
	crdbfeedd:./lib/systemd/system/crdbfeedd.service crdbfeedd:./lib/systemd/system/crdbfeedd@.service \
	crdbfeedd:./lib/systemd/system/crdbfeedd.socket crdbfeedd:./usr/lib/sysusers.d/crdbfeedd.conf \
	crdbfeedd:./usr/lib/tmpfiles.d/crdbfeedd.conf crdbfeedd:./etc/crdbfeedd/crdbfeedd.conf \
	crdbfeedd:./usr/share/man/man8/crdbfeedd.8.gz crdbfeedd:./usr/share/man/man5/crdbfeedd.conf.5.gz \
	crdbfeedd:./usr/share/man/man1/crdbfeedctl.1.gz \
	libcrdb0:./usr/lib/x86_64-linux-gnu/libcrdb.so.0 \
	libcrdb-dev:./usr/include/crdb.h libcrdb-dev:./usr/lib/x86_64-linux-gnu/libcrdb.a \
	libcrdb-dev:./usr/lib/x86_64-linux-gnu/libcrdb.so \
	libcrdb-dev:./usr/lib/x86_64-linux-gnu/pkgconfig/libcrdb.pc \
	libcrdb-dev:./usr/share/man/man3/libcrdb.3.gz; do
	pkg=${f%%:*} path=${f#*:}
	dpkg-deb -c "$work/debs/${pkg}"_*.deb | awk '{ print $6 }' | grep -qx "$path" ||
		layout_problems="$layout_problems $pkg:$path"
done
dpkg-deb -I "$work/debs/"libcrdb0_*.deb symbols >/dev/null 2>&1 || layout_problems="$layout_problems libcrdb0:symbols"
if [ -z "$layout_problems" ]; then
	ok "layout: binaries in /usr/sbin and /usr/bin, units in /lib/systemd/system, library in /usr/lib/x86_64-linux-gnu, symbols file in libcrdb0, conffile /etc/crdbfeedd/crdbfeedd.conf"
else
	bad "missing from the packages:$layout_problems"
fi

# ---- 2. the root file system, cached
root=$cache/bookworm
t0=$SECONDS
if [ "$(cat "$root/.crdbfeed-nspawn-root" 2>/dev/null)" = "minbase $includes" ]; then
	ok "root file system: cached $root"
else
	rm -rf "$root" "$root.tmp" && mkdir -p "$cache"
	if debootstrap --variant=minbase --include="$includes" bookworm "$root.tmp" "$mirror" \
		>"$work/debootstrap.log" 2>&1 &&
		echo "minbase $includes" >"$root.tmp/.crdbfeed-nspawn-root" && mv "$root.tmp" "$root"; then
		ok "root file system: debootstrap --variant=minbase bookworm in $((SECONDS - t0)) s, $(du -sm "$root" | cut -f1) MB, cached in $root"
	else
		bad "debootstrap failed; last lines:"
		tail -n 20 "$work/debootstrap.log"
		rm -rf "$root.tmp"
		finish
	fi
fi

# ---- 3. the units under systemd, against crdbsim
if ! make -C "$work/src" -s tests/crdbsim/crdbsim >"$work/crdbsim-build.log" 2>&1; then
	bad "cannot build crdbsim"
	tail -n 20 "$work/crdbsim-build.log"
	finish
fi
pw="nspawn-pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
: >"$work/results"
NSPAWN_ROOT=$root DEBS=$work/debs RESULTS=$work/results NSPAWN_WORK=$work \
	CRDBSIM_PASSWORD=$pw CRDBSIM_ARGS="--password $pw" \
	CRDBSIM=$work/src/tests/crdbsim/crdbsim \
	timeout -k 30 900 "$top/tests/crdbsim/crdbsim-env" "$top/tests/nspawn/checks.sh" \
	>"$work/checks.log" 2>&1
rc=$?
grep -E '^(ok|FAIL) debpkg:' "$work/checks.log"
n_ok=$(grep -c '^ok ' "$work/results")
n_bad=$(grep -c '^FAIL ' "$work/results")
passed=$((passed + n_ok))
failed=$((failed + n_bad))
if [ $rc -ne 0 ] && [ "$n_bad" -eq 0 ]; then
	bad "checks.sh exited $rc after $n_ok checks; see $work/checks.log"
fi
if [ $rc -ne 0 ]; then
	echo "---- $work/checks.log (last 40 lines)"
	grep -v -E '^(ok|FAIL) debpkg:' "$work/checks.log" | tail -n 40
	echo "----"
fi
finish
