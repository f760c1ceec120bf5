# faults-lib.sh: helpers of the fault tests (sourced after
# tests/daemon/e2e-lib.sh, whose helpers they build on: sql, ctl, wait_for,
# start_daemon, subscribe, has_line, write_conf).

# pg_sql SQL: straight to PostgreSQL's defaultdb (crdbsim's defaultdb is the
# PostgreSQL database of the same name), bypassing crdbsim.
pg_sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 "${PG_DSN%/*}/defaultdb" -c "$1"
}

# delivered_ids FILE: the distinct first key elements of row lines, sorted.
delivered_ids() {
	jq -r 'select(.type == "row") | .key[0]' "$1" 2>/dev/null | sort -n | uniq
}

# has_ids FILE FROM TO: every id in [FROM, TO] has a row line.
has_ids() {
	[ "$(delivered_ids "$1" | awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b' | wc -l)" -eq $(($3 - $2 + 1)) ]
}

# log_lines PATTERN: lines of the daemon log matching (0 when none).
log_lines() {
	grep -c -- "$1" "$daemon_log" 2>/dev/null || true
}

# sanitizer_clean: no sanitizer report in the daemon's log so far.
sanitizer_clean() {
	! grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$daemon_log"
}

# ctl_reply COMMAND: crdbsim's control reply line, printed.
ctl_reply() {
	printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$CRDBSIM_CONTROL"
}

# malform_done: crdbsim has sent every malformed row armed.
malform_done() {
	ctl_reply stats | grep -q ' malform=0$'
}

# resumed_from_checkpoint FEED: the newest changefeed statement of FEED
# had a cursor, and it was the newest checkpoint logged before it.
resumed_from_checkpoint() {
	awk -v f="feed $1: " '
		index($0, f "checkpoint ") { cp = $NF }
		index($0, f "sending ") { ok = / with \$1 = / && $NF == cp }
		END { exit !ok }' "$daemon_log"
}
