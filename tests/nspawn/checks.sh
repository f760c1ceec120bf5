#!/bin/bash
# tests/nspawn/checks.sh: the Debian packages under a real systemd. Boots
# the cached Debian 12 root in systemd-nspawn --boot, installs the packages
# into it and checks, against the crdbsim of the crdbsim-env this runs in
# (CRDB_DSN, CRDBSIM_PORT; crdbsim asks for a password), what the units
# promise: notify, sandbox, directories, rows, credentials, reload,
# watchdog, socket activation, exit statuses, stop, the template unit,
# upgrade, removal and purge. Run by run.sh, which builds the packages and
# the root file system.
#
# Environment: NSPAWN_ROOT (the root file system), DEBS (directory of the
# built .deb files), RESULTS (file: one "ok ..." or "FAIL ..." line per
# check is appended), NSPAWN_WORK (scratch directory), CRDBSIM_PASSWORD.
# Every check prints one line; the exit status is 0 only when all passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
. "$here/container.sh"

for v in NSPAWN_ROOT DEBS RESULTS NSPAWN_WORK CRDBSIM_PASSWORD CRDB_DSN CRDBSIM_PORT; do
	if [ -z "${!v:-}" ]; then
		echo "FAIL debpkg: $v is not set (run tests/nspawn/run.sh)" >&2
		exit 1
	fi
done

work=$NSPAWN_WORK
pw=$CRDBSIM_PASSWORD
failed=0
sub_pids=()

ok() { echo "ok debpkg: $*"; echo "ok $*" >>"$RESULTS"; }
bad() { echo "FAIL debpkg: $*"; echo "FAIL $*" >>"$RESULTS"; failed=1; }

# check NAME FUNCTION: FUNCTION sets $evidence, or $why and returns 1.
check() {
	local name=$1
	evidence= why=
	if "$2"; then ok "$name: $evidence"; else bad "$name: ${why:-failed}"; fi
}
nope() { why=$*; return 1; }

cleanup() {
	local p
	for p in "${sub_pids[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$ct_pid" ]; then
		ct journalctl -b --no-pager -o short-precise >"$work/journal.txt" 2>&1
	fi
	ct_halt
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_until SECONDS COMMAND...: poll every 0.2 s; 1 on timeout.
wait_until() {
	local limit=$(($1 * 5)) n=0
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt $limit ] || return 1
		sleep 0.2
	done
}

sql() { PGPASSWORD=$pw psql -X -q -At -v ON_ERROR_STOP=1 "$CRDB_DSN" -c "$1"; }
prop() { ct systemctl show -P "$2" "$1"; }
active() { [ "$(prop "$1" ActiveState)" = active ]; }
mainpid() { prop crdbfeedd.service MainPID; }

# A subscriber on the host reading a socket inside the container.
subscribe() {
	/usr/bin/python3 "$srcdir/tests/daemon/subscriber.py" "$ct_root$1" "$2" \
		--duration 600 --connect-timeout 20 &
	sub_pids+=("$!")
	last_sub=$!
	wait_until 25 test -f "$2.connected"
}
has_line() { [ -f "$1" ] && jq -e -s "any(.[]; $2)" "$1" >/dev/null 2>&1; }
row_seen() { has_line "$1" ".type == \"row\" and .key == [$2]"; }

# The journal since a cursor (journal_mark sets one).
journal_mark() { cursor=$(ct journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'); }
journal_since() { ct journalctl --after-cursor="$cursor" --no-pager -o cat "$@"; }

conf=/etc/crdbfeedd/crdbfeedd.conf
dsn="postgresql://root@127.0.0.1:$CRDBSIM_PORT/defaultdb?sslmode=disable"
main_conf() {
	cat <<EOF
; crdbfeedd.conf of the nspawn test: one feed, its password from
; LoadCredential= (/etc/credstore/crdbfeedd-dsn-password).
[crdbfeedd]
dsn = $dsn
credential = dsn-password
control_socket = /run/crdbfeedd/control.sock
resolved = 1s
start = now
log_level = debug

[feed orders]
tables = orders

[sink orders]
feed = orders
path = /run/crdbfeedd/orders.sock

; Every line also to standard output, that is the journal: what a
; restarted daemon sends before anyone could reconnect is seen there.
[sink journal]
feed = orders
type = stdout
EOF
}
# Write a file inside the container keeping its owner and mode.
put() { cat >"$ct_root$1"; }

# ---- the checks

c_boot() {
	ct_boot "$NSPAWN_ROOT" "crdbfeed-test-$$" "$work/nspawn.log" --bind-ro="$DEBS:/debs" ||
		nope "the container did not boot (see $work/nspawn.log)" || return 1
	# PID 1's debug log shows each sd_notify message it gets.
	ct systemd-analyze log-level debug || nope "systemd-analyze log-level debug failed" || return 1
	evidence="systemd $(ct systemctl --version | head -n 1 | cut -d' ' -f2) is PID 1 of $ct_name, state running, in $((SECONDS - boot_t0)) s"
}

c_install() {
	local out
	ct install -d -m 0700 /etc/credstore &&
		printf '%s\n' "$pw" >"$ct_root/etc/credstore/crdbfeedd-dsn-password" &&
		ct chmod 0600 /etc/credstore/crdbfeedd-dsn-password || nope "cannot write /etc/credstore" || return 1
	out=$(timeout 120 nsenter -t "$ct_pid" -a sh -c 'dpkg -i /debs/libcrdb0_*.deb /debs/crdbfeedd_*.deb' </dev/null 2>&1) ||
		nope "dpkg -i failed: $(tail -n 5 <<<"$out" | tr '\n' ' ')" || return 1
	[ "$(ct systemctl is-enabled crdbfeedd.service)" = enabled ] || nope "crdbfeedd.service not enabled by the package" || return 1
	wait_until 20 active crdbfeedd.service || nope "crdbfeedd.service not started by the package: $(prop crdbfeedd.service ActiveState)" || return 1
	[ "$(ct systemctl is-enabled crdbfeedd.socket)" = disabled ] || nope "crdbfeedd.socket should be left disabled" || return 1
	evidence="dpkg -i: crdbfeedd.service enabled and active with the shipped configuration; crdbfeedd.socket installed, disabled"
}

c_user() {
	local pwent dir cf
	pwent=$(ct getent passwd crdbfeedd) || nope "no crdbfeedd user" || return 1
	IFS=: read -r _ _ uid gid _ home shell <<<"$pwent"
	[ "$uid" -lt 1000 ] || nope "crdbfeedd is not a system user: $pwent" || return 1
	dir=$(ct stat -c '%a %U:%G' /etc/crdbfeedd)
	cf=$(ct stat -c '%a %U:%G' $conf)
	[ "$dir" = "750 root:crdbfeedd" ] && [ "$cf" = "640 root:crdbfeedd" ] ||
		nope "/etc/crdbfeedd is $dir, crdbfeedd.conf $cf (want 750 root:crdbfeedd, 640 root:crdbfeedd)" || return 1
	grep -qx /etc/crdbfeedd/crdbfeedd.conf "$ct_root/var/lib/dpkg/info/crdbfeedd.conffiles" ||
		nope "crdbfeedd.conf is not a conffile" || return 1
	evidence="sysusers made $pwent; /etc/crdbfeedd $dir, crdbfeedd.conf $cf and a conffile"
}

c_start() {
	main_conf | put $conf || nope "cannot write $conf" || return 1
	timeout 60 nsenter -t "$ct_pid" -a systemctl restart crdbfeedd.service ||
		nope "systemctl restart failed: $(prop crdbfeedd.service Result)" || return 1
	local st pid
	st=$(prop crdbfeedd.service StatusText)
	pid=$(mainpid)
	[ "$(prop crdbfeedd.service SubState)" = running ] || nope "not running" || return 1
	# systemctl returns once READY=1 came (Type=notify); the manager's log says so.
	ct journalctl -b --no-pager -o cat _PID=1 | grep -q "Got notification message from PID $pid (READY=1" ||
		nope "no READY=1 from PID $pid in PID 1's log" || return 1
	grep -Eq '^feeds: ([0-9]+ connecting, )?[0-9]+ streaming, [0-9]+ reconnecting, [0-9]+ failed, [0-9]+ paused; [0-9.]+ events/s; worst lag ([0-9.]+s \([a-z]+\)|-); [0-9]+ subscribers$' <<<"$st" ||
		nope "STATUS text not as crdbfeedd(8) documents it: '$st'" || return 1
	evidence="active (running), READY=1 from PID $pid, STATUS '$st'"
}

c_sandbox() {
	local pid s uid
	pid=$(mainpid)
	s=$(ct cat "/proc/$pid/status") || nope "cannot read /proc/$pid/status" || return 1
	uid=$(ct id -u crdbfeedd)
	grep -qP '^Seccomp:\t2$' <<<"$s" || nope "$(grep Seccomp: <<<"$s")" || return 1
	grep -qP '^NoNewPrivs:\t1$' <<<"$s" || nope "$(grep NoNewPrivs <<<"$s")" || return 1
	local c
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -qP "^$c:\t0000000000000000$" <<<"$s" || nope "$(grep "^$c" <<<"$s")" || return 1
	done
	grep -qP "^Uid:\t$uid\t$uid\t$uid\t$uid$" <<<"$s" || nope "$(grep ^Uid <<<"$s") (crdbfeedd is $uid)" || return 1
	evidence="/proc/$pid/status: Seccomp 2 ($(grep Seccomp_filters <<<"$s" | tr -d '\t')), NoNewPrivs 1, CapInh/Prm/Eff/Bnd/Amb all 0, Uid $uid (crdbfeedd) x4"
}

c_dirs() {
	local st rt cf
	st=$(ct stat -c '%a %U:%G' /var/lib/crdbfeedd)
	rt=$(ct stat -c '%a %U:%G' /run/crdbfeedd)
	cf=$(ct stat -c '%a %U:%G' /etc/crdbfeedd)
	[ "$st" = "750 crdbfeedd:crdbfeedd" ] && [ "$rt" = "750 crdbfeedd:crdbfeedd" ] && [ "$cf" = "750 root:crdbfeedd" ] ||
		nope "State $st, Runtime $rt, Configuration $cf" || return 1
	evidence="StateDirectory /var/lib/crdbfeedd $st, RuntimeDirectory /run/crdbfeedd $rt, ConfigurationDirectory /etc/crdbfeedd $cf"
}

c_rows() {
	subscribe /run/crdbfeedd/orders.sock "$work/sub1.out" || nope "no subscriber on orders.sock" || return 1
	sub1=$last_sub
	wait_until 20 has_line "$work/sub1.out" '.type == "state" and .state == "streaming"' ||
		nope "no streaming state line" || return 1
	sql "INSERT INTO orders VALUES (1, 'apples')" || nope "insert through crdbsim failed" || return 1
	wait_until 20 row_seen "$work/sub1.out" 1 || nope "row 1 did not reach the subscriber" || return 1
	local st
	st=$(ct crdbfeedctl status 2>&1) || nope "crdbfeedctl status failed: $st" || return 1
	grep -q orders <<<"$st" && grep -q streaming <<<"$st" || nope "crdbfeedctl status: $st" || return 1
	evidence="row 1 inserted through crdbsim reached a host subscriber on /run/crdbfeedd/orders.sock; crdbfeedctl status: $(grep -m1 orders <<<"$st" | tr -s ' ')"
}

c_secret() {
	local where=
	ct test -s /run/credentials/crdbfeedd.service/dsn-password ||
		nope "no /run/credentials/crdbfeedd.service/dsn-password" || return 1
	ct journalctl -b --no-pager -o verbose | grep -qF "$pw" && where="$where journal"
	ct systemctl status --no-pager -l crdbfeedd.service | grep -qF "$pw" && where="$where systemctl-status"
	ct systemctl show crdbfeedd.service | grep -qF "$pw" && where="$where systemctl-show"
	ct crdbfeedctl status | grep -qF "$pw" && where="$where crdbfeedctl-status"
	ct crdbfeedctl metrics | grep -qF "$pw" && where="$where metrics"
	grep -qF "$pw" "$work/sub1.out" && where="$where subscriber"
	[ -z "$where" ] || nope "the password appears in:$where" || return 1
	evidence="crdbsim requires the password and the feed streams with it from /etc/credstore/crdbfeedd-dsn-password (LoadCredential=); absent from the whole journal, systemctl status/show, crdbfeedctl status and metrics, and the subscriber's lines"
}

c_reload() {
	local pid0 pid1 j
	pid0=$(mainpid)
	journal_mark
	{ main_conf; printf '\n[feed items]\ntables = items\n\n[sink items]\nfeed = items\npath = /run/crdbfeedd/items.sock\n'; } | put $conf
	timeout 60 nsenter -t "$ct_pid" -a systemctl reload crdbfeedd.service || nope "systemctl reload failed" || return 1
	pid1=$(mainpid)
	[ "$pid0" = "$pid1" ] || nope "main pid changed: $pid0 -> $pid1" || return 1
	[ "$(prop crdbfeedd.service ReloadResult)" = success ] || nope "ReloadResult $(prop crdbfeedd.service ReloadResult)" || return 1
	j=$(journal_since _PID=1)
	grep -A1000 "Got notification message from PID $pid0 (RELOADING=1" <<<"$j" |
		grep -q "Got notification message from PID $pid0 (READY=1" ||
		nope "PID 1 did not log RELOADING=1 then READY=1 from $pid0" || return 1
	sql "INSERT INTO orders VALUES (2, 'pears')" || return 1
	wait_until 20 row_seen "$work/sub1.out" 2 || nope "row 2 did not reach the subscriber after the reload" || return 1
	kill -0 "$sub1" 2>/dev/null || nope "the orders subscriber was disconnected" || return 1
	[ "$(grep -c '"type":"state"' "$work/sub1.out")" = 1 ] || nope "the unchanged feed's subscriber got new state lines" || return 1
	ct test -S /run/crdbfeedd/items.sock || nope "the new feed's socket is missing" || return 1
	evidence="main pid $pid0 kept, ReloadResult success, PID 1 logged RELOADING=1 then READY=1; the orders subscriber kept its connection (one state line) and got row 2; new feed items listens"
}

c_watchdog() {
	local pid0 pid1 n0 ck j
	pid0=$(mainpid)
	n0=$(prop crdbfeedd.service NRestarts)
	# A checkpoint that covers row 2: resolved lines after it.
	wait_until 20 has_line "$work/sub1.out" '.type == "resolved"' || nope "no resolved line" || return 1
	wait_until 20 ct test -s /var/lib/crdbfeedd/orders.checkpoint || nope "no checkpoint file" || return 1
	ck=$(ct cat /var/lib/crdbfeedd/orders.checkpoint | head -c 200)
	journal_mark
	ct kill -STOP "$pid0" || nope "kill -STOP failed" || return 1
	sleep 1
	# Written while the daemon is stopped: only a resume from the checkpoint brings it.
	sql "INSERT INTO orders VALUES (3, 'plums')" || return 1
	local t0=$SECONDS
	wait_until 60 sh -c "[ \"\$(nsenter -t $ct_pid -a systemctl show -P MainPID crdbfeedd.service)\" != $pid0 ] && [ \"\$(nsenter -t $ct_pid -a systemctl show -P ActiveState crdbfeedd.service)\" = active ]" ||
		nope "not restarted within 60 s of SIGSTOP" || return 1
	pid1=$(mainpid)
	j=$(journal_since)
	grep -q 'crdbfeedd.service: Watchdog timeout' <<<"$j" || nope "no watchdog timeout in the journal" || return 1
	grep -q "crdbfeedd.service: Failed with result 'watchdog'" <<<"$j" || nope "no result 'watchdog'" || return 1
	[ "$(prop crdbfeedd.service NRestarts)" -gt "$n0" ] || nope "NRestarts did not grow" || return 1
	grep -q 'orders: resuming from checkpoint' <<<"$j" || nope "the new daemon did not log 'resuming from checkpoint'" || return 1
	wait_until 30 sh -c "nsenter -t $ct_pid -a journalctl -b _PID=$pid1 -o cat --no-pager | grep -F '\"key\":[3]'" ||
		nope "row 3, written while stopped, was not sent by the restarted daemon (its stdout sink)" || return 1
	evidence="SIGSTOP $pid0: killed after $((SECONDS - t0)) s ('Watchdog timeout', result 'watchdog'), restarted as $pid1 (NRestarts $n0 -> $(prop crdbfeedd.service NRestarts)), logged 'resuming from checkpoint' and sent row 3, written while it was stopped (its stdout sink, in the journal)"
}

c_socket() {
	local pid ino fds
	timeout 60 nsenter -t "$ct_pid" -a systemctl stop crdbfeedd.service || nope "stop failed" || return 1
	timeout 30 nsenter -t "$ct_pid" -a systemctl start crdbfeedd.socket || nope "cannot start crdbfeedd.socket" || return 1
	sleep 1
	active crdbfeedd.service && nope "the service started with the socket, before any client" && return 1
	local st
	st=$(timeout 60 nsenter -t "$ct_pid" -a crdbfeedctl status 2>&1) || nope "crdbfeedctl through the held socket failed: $st" || return 1
	wait_until 30 active crdbfeedd.service || nope "the client did not start the service" || return 1
	pid=$(mainpid)
	ct journalctl -b _PID="$pid" -o cat --no-pager | grep -q 'using the socket passed by systemd as "control"' ||
		nope "the service did not log adopting the socket named control" || return 1
	ct cat "/proc/$pid/environ" | tr '\0' '\n' | grep -qx LISTEN_FDNAMES=control ||
		nope "LISTEN_FDNAMES=control not in the service's environment" || return 1
	# The listening socket the service uses is the one PID 1 holds.
	ino=$(ct sh -c 'for f in /proc/1/fd/*; do readlink "$f"; done' | grep '^socket:' | sort -u)
	fds=$(ct sh -c "for f in /proc/$pid/fd/*; do readlink \"\$f\"; done" | grep '^socket:' | sort -u)
	[ -n "$(comm -12 <(echo "$ino") <(echo "$fds"))" ] || nope "the service holds none of PID 1's sockets" || return 1
	evidence="crdbfeedd.socket alone: service inactive; crdbfeedctl status started it (pid $pid) and got its answer; LISTEN_FDNAMES=control, and the service holds PID 1's listening socket $(comm -12 <(echo "$ino") <(echo "$fds") | head -n 1)"
}

# Not restarted after exit status $1: start, wait past RestartSec= twice.
no_restart_after() {
	local want=$1 n0
	n0=$(prop crdbfeedd.service NRestarts)
	timeout 60 nsenter -t "$ct_pid" -a systemctl start crdbfeedd.service 2>/dev/null && nope "start succeeded" && return 1
	sleep 5
	local a s r n
	a=$(prop crdbfeedd.service ActiveState) s=$(prop crdbfeedd.service ExecMainStatus)
	r=$(prop crdbfeedd.service Result) n=$(prop crdbfeedd.service NRestarts)
	[ "$a" = failed ] && [ "$s" = "$want" ] && [ "$n" = "$n0" ] ||
		nope "state $a, status $s, result $r, NRestarts $n0 -> $n" || return 1
	evidence="exit status $s, $a (result $r), NRestarts still $n after 5 s (RestartSec=2s)"
}

c_exit78() {
	timeout 60 nsenter -t "$ct_pid" -a systemctl stop crdbfeedd.socket crdbfeedd.service
	ct systemctl reset-failed crdbfeedd.service 2>/dev/null
	cp "$ct_root$conf" "$work/good.conf"
	printf '[crdbfeedd]\nno_such_key = 1\n' | put $conf
	no_restart_after 78
	local rc=$?
	put $conf <"$work/good.conf"
	ct systemctl reset-failed crdbfeedd.service
	[ $rc -eq 0 ] && evidence="bad configuration: $evidence"
	return $rc
}

c_exit64() {
	local d=/run/systemd/system/crdbfeedd.service.d
	ct mkdir -p $d
	printf '[Service]\nExecStart=\nExecStart=/usr/sbin/crdbfeedd --no-such-option\n' | put $d/usage.conf
	ct systemctl daemon-reload
	no_restart_after 64
	local rc=$?
	ct rm -rf $d
	ct systemctl daemon-reload
	ct systemctl reset-failed crdbfeedd.service
	[ $rc -eq 0 ] && evidence="unknown option (a drop-in's ExecStart): $evidence"
	return $rc
}

c_stop() {
	timeout 60 nsenter -t "$ct_pid" -a systemctl start crdbfeedd.service || nope "start failed" || return 1
	local t0 t1 ms code st r
	t0=$(date +%s%N)
	timeout 60 nsenter -t "$ct_pid" -a systemctl stop crdbfeedd.service || nope "stop failed" || return 1
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	code=$(prop crdbfeedd.service ExecMainCode) st=$(prop crdbfeedd.service ExecMainStatus) r=$(prop crdbfeedd.service Result)
	# ExecMainCode 1 is CLD_EXITED.
	[ "$code" = 1 ] && [ "$st" = 0 ] && [ "$r" = success ] || nope "code $code status $st result $r" || return 1
	[ $ms -lt 20000 ] || nope "stop took $ms ms (TimeoutStopSec=20s)" || return 1
	evidence="systemctl stop in $ms ms (TimeoutStopSec=20s), exited with status 0, result success"
	timeout 60 nsenter -t "$ct_pid" -a systemctl start crdbfeedd.service
}

c_template() {
	sql "CREATE TABLE IF NOT EXISTS alt_t (id INT PRIMARY KEY)" || return 1
	printf '%s\n' "$pw" >"$ct_root/etc/credstore/crdbfeedd-alt-dsn-password"
	ct chmod 0600 /etc/credstore/crdbfeedd-alt-dsn-password
	put /etc/crdbfeedd/alt.conf <<EOF
[crdbfeedd]
dsn = $dsn
credential = dsn-password
state_dir = \${STATE_DIRECTORY}
resolved = 1s
start = now
[feed alt]
tables = alt_t
[sink alt]
feed = alt
path = /run/crdbfeedd/alt/alt.sock
EOF
	ct chown root:crdbfeedd /etc/crdbfeedd/alt.conf && ct chmod 0640 /etc/crdbfeedd/alt.conf
	timeout 60 nsenter -t "$ct_pid" -a systemctl start crdbfeedd@alt.service ||
		nope "crdbfeedd@alt failed: $(ct journalctl -b -u crdbfeedd@alt -o cat --no-pager | tail -n 3 | tr '\n' ' ')" || return 1
	subscribe /run/crdbfeedd/alt/alt.sock "$work/alt.out" || nope "no subscriber on alt.sock" || return 1
	wait_until 20 has_line "$work/alt.out" '.type == "state" and .state == "streaming"' || nope "alt not streaming" || return 1
	sql "INSERT INTO alt_t VALUES (7)" || return 1
	wait_until 20 row_seen "$work/alt.out" 7 || nope "row 7 did not reach the alt subscriber" || return 1
	wait_until 20 ct test -s /var/lib/crdbfeedd/alt/alt.checkpoint || nope "no /var/lib/crdbfeedd/alt/alt.checkpoint" || return 1
	evidence="crdbfeedd@alt runs /etc/crdbfeedd/alt.conf (ExecStart $(prop crdbfeedd@alt.service ExecStart | grep -o 'argv\[\]=[^;]*' | sed 's/argv\[\]=//')), credential crdbfeedd-alt-dsn-password, socket /run/crdbfeedd/alt/alt.sock got row 7, checkpoint in /var/lib/crdbfeedd/alt/"
}

c_upgrade() {
	local deb ver newver pid0 pid1 apid0 apid1 sum0 sum1 files0 files1 out
	active crdbfeedd.service || timeout 60 nsenter -t "$ct_pid" -a systemctl start crdbfeedd.service
	wait_until 20 ct test -s /var/lib/crdbfeedd/orders.checkpoint || nope "no checkpoint before the upgrade" || return 1
	# The same package under a higher version: dpkg runs the upgrade path.
	deb=$(ls "$DEBS"/crdbfeedd_*.deb | head -n 1)
	rm -rf "$work/up" && dpkg-deb -R "$deb" "$work/up" || return 1
	ver=$(sed -n 's/^Version: //p' "$work/up/DEBIAN/control")
	newver=$ver+upgradetest1
	sed -i "s/^Version: .*/Version: $newver/" "$work/up/DEBIAN/control"
	dpkg-deb -b "$work/up" "$ct_root/tmp/crdbfeedd-up.deb" >/dev/null || nope "cannot build the upgrade package" || return 1
	pid0=$(mainpid) apid0=$(prop crdbfeedd@alt.service MainPID)
	sum0=$(ct md5sum $conf)
	files0=$(ct find /var/lib/crdbfeedd -type f | sort)
	out=$(timeout 120 nsenter -t "$ct_pid" -a dpkg -i /tmp/crdbfeedd-up.deb </dev/null 2>&1) ||
		nope "dpkg -i (upgrade) failed: $(tail -n 5 <<<"$out" | tr '\n' ' ')" || return 1
	[ "$(ct dpkg-query -W -f '${Version}' crdbfeedd)" = "$newver" ] || nope "version not upgraded" || return 1
	sum1=$(ct md5sum $conf)
	[ "$sum0" = "$sum1" ] || nope "the edited conffile changed" || return 1
	ct sh -c 'ls /etc/crdbfeedd/*.dpkg-* 2>/dev/null' | grep -q . && nope "dpkg left $(ct sh -c 'ls /etc/crdbfeedd/*.dpkg-*')" && return 1
	files1=$(ct find /var/lib/crdbfeedd -type f | sort)
	[ -z "$(comm -23 <(echo "$files0") <(echo "$files1"))" ] || nope "state files lost: $(comm -23 <(echo "$files0") <(echo "$files1"))" || return 1
	wait_until 20 active crdbfeedd.service || nope "not active after the upgrade" || return 1
	pid1=$(mainpid) apid1=$(prop crdbfeedd@alt.service MainPID)
	[ "$pid0" != "$pid1" ] || nope "crdbfeedd.service was not restarted" || return 1
	[ "$apid0" != "$apid1" ] && [ "$apid1" != 0 ] || nope "crdbfeedd@alt was not restarted" || return 1
	ct journalctl -b -u crdbfeedd.service _PID="$pid1" -o cat --no-pager | grep -q 'orders: resuming from checkpoint' ||
		nope "the upgraded daemon did not resume from its checkpoint" || return 1
	evidence="$ver -> $newver: edited conffile kept (no prompt, no .dpkg-*), state files kept ($(echo $files1)), crdbfeedd.service restarted ($pid0 -> $pid1) and resumed from its checkpoint, crdbfeedd@alt restarted ($apid0 -> $apid1)"
}

c_remove() {
	local out
	out=$(timeout 120 nsenter -t "$ct_pid" -a dpkg -r crdbfeedd </dev/null 2>&1) || nope "dpkg -r failed: $out" || return 1
	local u a
	for u in crdbfeedd.service crdbfeedd@alt.service crdbfeedd.socket; do
		a=$(prop $u ActiveState)
		[ "$a" = inactive ] || [ "$a" = failed ] || nope "$u is $a after removal" || return 1
	done
	ct pgrep -x crdbfeedd >/dev/null && nope "a crdbfeedd process survived the removal" && return 1
	ct test -f $conf && ct test -d /var/lib/crdbfeedd || nope "removal (not purge) deleted the conffile or the state" || return 1
	evidence="dpkg -r stopped crdbfeedd.service, crdbfeedd@alt and crdbfeedd.socket (no crdbfeedd process left); conffile and /var/lib/crdbfeedd kept until purge"
}

c_purge() {
	local out
	ct rm -f /etc/crdbfeedd/alt.conf
	out=$(timeout 120 nsenter -t "$ct_pid" -a dpkg -P crdbfeedd </dev/null 2>&1) || nope "dpkg -P failed: $out" || return 1
	local left=
	for p in /var/lib/crdbfeedd /run/crdbfeedd /etc/crdbfeedd; do
		ct test -e $p && left="$left $p"
	done
	[ -z "$left" ] || nope "left after purge:$left" || return 1
	ct getent passwd crdbfeedd >/dev/null || nope "the system user was removed (policy keeps it)" || return 1
	evidence="dpkg -P removed /var/lib/crdbfeedd (checkpoints), /run/crdbfeedd and /etc/crdbfeedd; the crdbfeedd user stays (Debian policy)"
}

# ---- run them

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true" &&
	sql "CREATE TABLE orders (id INT PRIMARY KEY, item TEXT)" &&
	sql "CREATE TABLE items (id INT PRIMARY KEY)" ||
	{ bad "setup: cannot create the tables through crdbsim"; exit 1; }

boot_t0=$SECONDS
check boot c_boot
[ -n "$ct_pid" ] || exit 1
check install c_install
check user-and-conffile c_user
check start c_start
check sandbox c_sandbox
check directories c_dirs
check rows-and-ctl c_rows
check credential c_secret
check reload c_reload
check watchdog c_watchdog
check socket-activation c_socket
check exit-78-no-restart c_exit78
check exit-64-no-restart c_exit64
check stop c_stop
check template c_template
check upgrade c_upgrade
check remove c_remove
check purge c_purge
exit $failed
