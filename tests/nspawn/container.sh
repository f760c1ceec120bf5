# tests/nspawn/container.sh: boot, enter and halt a throwaway Debian 12
# container under systemd-nspawn --boot (sourced by checks.sh).
#
# The host's PID 1 is not systemd, so the container is not registered
# (--register=no --keep-unit) and machinectl cannot reach it: commands run
# inside through nsenter(1) into all namespaces of the container's PID 1,
# and its files are reached from the host through /proc/PID/root.
# --volatile=overlay keeps the cached root file system pristine: every boot
# starts from the debootstrapped tree. Without --private-network the
# container shares the host's network, so crdbsim on 127.0.0.1 is reachable.
#
# Sets: ct_name, ct_nspawn_pid (the systemd-nspawn process), ct_pid (the
# container's PID 1 as the host sees it), ct_root (/proc/ct_pid/root).

ct_name=
ct_nspawn_pid=
ct_pid=
ct_root=

# ct_boot ROOT NAME LOG [nspawn options]: boot ROOT; returns once its
# systemd reports "running" (at most 60 s), or 1.
ct_boot() {
	_cb_root=$1 ct_name=$2 _cb_log=$3
	shift 3
	systemd-nspawn --quiet --boot --register=no --keep-unit --volatile=overlay \
		--directory="$_cb_root" --machine="$ct_name" "$@" \
		>"$_cb_log" 2>&1 </dev/null &
	ct_nspawn_pid=$!
	_cb_n=0
	# The container's PID 1 is the child of nspawn in another PID
	# namespace: nspawn's short-lived outer child, also its child for a
	# moment, shares ours, and picking it leaves a PID that is soon gone.
	_cb_ns=$(readlink /proc/self/ns/pid)
	while :; do
		ct_pid=
		for _cb_c in $(pgrep -P "$ct_nspawn_pid" 2>/dev/null); do
			_cb_cns=$(readlink "/proc/$_cb_c/ns/pid" 2>/dev/null) || continue
			[ "$_cb_cns" != "$_cb_ns" ] && { ct_pid=$_cb_c; break; }
		done
		[ -n "$ct_pid" ] && break
		_cb_n=$((_cb_n + 1))
		if [ $_cb_n -ge 300 ] || ! kill -0 "$ct_nspawn_pid" 2>/dev/null; then
			echo "container $ct_name: no PID 1 after 30 s; nspawn said:" >&2
			tail -n 20 "$_cb_log" >&2
			return 1
		fi
		sleep 0.1
	done
	ct_root=/proc/$ct_pid/root
	# Until its D-Bus is up systemctl cannot ask: retry for 60 s.
	_cb_n=0
	while :; do
		_cb_state=$(timeout 60 nsenter -t "$ct_pid" -a systemctl is-system-running --wait 2>&1)
		case $_cb_state in
		running | degraded | maintenance | stopping | offline) break ;;
		esac
		_cb_n=$((_cb_n + 1))
		[ $_cb_n -lt 300 ] || break
		sleep 0.2
	done
	if [ "$_cb_state" != running ]; then
		echo "container $ct_name: systemd says '$_cb_state' after boot" >&2
		timeout 10 nsenter -t "$ct_pid" -a systemctl --failed --no-pager >&2
		return 1
	fi
}

# ct COMMAND...: run COMMAND inside the container, as root, with a sane PATH.
ct() {
	nsenter -t "$ct_pid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 SYSTEMD_PAGER= DEBIAN_FRONTEND=noninteractive "$@"
}

# ct_halt: SIGTERM to systemd-nspawn (a clean shutdown of the container's
# systemd; SIGKILL would orphan it), at most 30 s, then its propagation
# directory, which nspawn leaves behind when not registered.
ct_halt() {
	[ -n "$ct_nspawn_pid" ] || return 0
	kill -TERM "$ct_nspawn_pid" 2>/dev/null
	_ch_n=0
	while kill -0 "$ct_nspawn_pid" 2>/dev/null && [ $_ch_n -lt 300 ]; do
		sleep 0.1
		_ch_n=$((_ch_n + 1))
	done
	if kill -0 "$ct_nspawn_pid" 2>/dev/null; then
		echo "container $ct_name did not stop in 30 s; SIGTERM to its PID 1" >&2
		kill -TERM "$ct_pid" 2>/dev/null
		sleep 5
	fi
	wait "$ct_nspawn_pid" 2>/dev/null
	rm -rf "/run/systemd/nspawn/propagate/$ct_name"
	ct_nspawn_pid= ct_pid= ct_root=
}
