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

# now_ms: the time in ms since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# resolved_since RECORDING MS: recorder.py's RECORDING has a resolved
# line that arrived after time MS (ms since the epoch), for a timestamp
# after it (not a mark replayed from the journal).
resolved_since() {
	awk -v t="$2" '$1 > t && /"type":"resolved"/ {
		r = $0; sub(/.*"resolved":"/, "", r); sub(/\..*/, "", r)
		if (substr(r, 1, 13) + 0 > t) { found = 1; exit }
	} END { exit !found }' "$1"
}

# fm_setup: the fault matrix's table fm (through crdbsim) and, straight in
# PostgreSQL's defaultdb ($pgdb), the committed history: fm_audit, written
# by a trigger in the changes' own transactions with their
# txid_current(), and each transaction's place in the commit order
# (fm_commit's counter, fm_txn; writer.py fills them).
fm_setup() {
	sql "CREATE TABLE fm (k INT PRIMARY KEY, v BIGINT NOT NULL)"
	psql -X -q -v ON_ERROR_STOP=1 "$pgdb" <<'EOF2' >/dev/null || fail "cannot create the audit trigger"
CREATE TABLE fm_audit (n BIGSERIAL PRIMARY KEY, k INT NOT NULL, op TEXT NOT NULL, v BIGINT NOT NULL,
	xid BIGINT NOT NULL DEFAULT txid_current());
CREATE TABLE fm_commit (n BIGINT NOT NULL);
INSERT INTO fm_commit VALUES (0);
CREATE TABLE fm_txn (xid BIGINT PRIMARY KEY, commit_no BIGINT NOT NULL UNIQUE);
CREATE FUNCTION fm_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO fm_audit (k, op, v) VALUES (OLD.k, 'delete', OLD.v);
	ELSE
		INSERT INTO fm_audit (k, op, v) VALUES (NEW.k, lower(TG_OP), NEW.v);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER fm_audit AFTER INSERT OR UPDATE OR DELETE ON fm
	FOR EACH ROW EXECUTE FUNCTION fm_audit_fn();
EOF2
}

# ordered_verdict_can_fail RECORDING CHECK...: the ordered verdict (the
# command CHECK..., given a recording as its last argument) rejects each of
# fm-doctor-ordered.py's spoiled copies of RECORDING, for that reason.
ordered_verdict_can_fail() {
	_ov_rec=$1
	shift
	_ov_dir=$work/doctored
	mkdir -p "$_ov_dir"
	/usr/bin/python3 "$srcdir/tests/faults/fm-doctor-ordered.py" "$_ov_rec" "$_ov_dir" ||
		fail "cannot doctor $_ov_rec"
	for _ov_case in "dup:^duplicates: 1$" "gap:^seq: .* gaps=1 " "gap:^lost: 1$" \
		"swap: out-of-commit-order=[1-9]" "late:^late: 1$" "group-end: group_end-wrong=1 " \
		"resolved: resolved-wrong=1 "; do
		_ov_name=${_ov_case%%:*}
		_ov_want=${_ov_case#*:}
		"$@" "$_ov_dir/$_ov_name" >"$_ov_dir/$_ov_name.verdict" 2>&1 &&
			fail "the ordered verdict passed a recording spoiled by '$_ov_name'"
		grep -q -- "$_ov_want" "$_ov_dir/$_ov_name.verdict" ||
			fail "'$_ov_name' was not reported as /$_ov_want/: $(cat "$_ov_dir/$_ov_name.verdict")"
	done
}
