#!/bin/sh
# e2e-options.sh: the NDJSON fields under changefeed options (§4), through
# quick mode: envelope=row (row as value, empty value on delete),
# envelope=key_only (no "after", op unknown), updated and mvcc_timestamp
# (HLC strings, in that order), full_table_name (db.schema.table), and a
# CDC query feed (AS SELECT ... WHERE) in config mode.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/daemon/e2e-lib.sh"

sql "SET CLUSTER SETTING kv.rangefeed.enabled = true"
sql "CREATE TABLE opt_t (id INT PRIMARY KEY, name STRING, qty INT)"
k=0
# run_feed NAME OPTION...: a quick-mode feed while one row is updated,
# deleted and inserted again (key k); its lines end up in NAME.out.
run_feed() {
	name=$1
	shift
	k=$((k + 1))
	sql "INSERT INTO opt_t VALUES ($k, 'n$k', 1)"
	out=$work/$name.out
	daemon_log=$work/$name.log
	"$CRDBFEEDD" --dsn "$CRDB_DSN" -o resolved=500ms -o initial_scan=no "$@" opt_t >"$out" 2>"$daemon_log" &
	daemon_pid=$!
	wait_for 20 "$name streaming" has_line "$out" '.type == "state" and .state == "streaming"'
	sql "UPDATE opt_t SET qty = 2 WHERE id = $k"
	sql "DELETE FROM opt_t WHERE id = $k"
	sql "INSERT INTO opt_t VALUES ($k, 'again', 3)"
	wait_for 20 "$name: three rows" rows_at_least "$out" 3 ".key == [$k]"
	stop_daemon
}

run_feed row -o envelope=row
has_line "$work/row.out" ".type == \"row\" and .op == \"upsert\" and .after == {\"id\": $k, \"name\": \"n$k\", \"qty\": 2}" ||
	fail "envelope=row update: $(grep row "$work/row.out" | head -1)"
has_line "$work/row.out" '.type == "row" and .op == "delete" and .after == null' || fail "envelope=row delete"

run_feed keyonly -o envelope=key_only
[ "$(count_rows "$work/keyonly.out" '.op == "unknown" and (has("after") | not)')" -eq 3 ] ||
	fail "key_only rows: $(grep row "$work/keyonly.out" | head -2)"

run_feed stamps -o updated -o mvcc_timestamp
[ "$(count_rows "$work/stamps.out" '(.updated | test("^[0-9]{19}\\.[0-9]{10}$")) and (.mvcc_timestamp | test("^[0-9]{19}\\.[0-9]{10}$"))')" -eq 3 ] ||
	fail "updated/mvcc_timestamp missing or malformed"
grep '"type":"row"' "$work/stamps.out" | head -n 1 | grep -q '"updated":"[0-9.]*","mvcc_timestamp":"[0-9.]*"}$' ||
	fail "updated must come before mvcc_timestamp, last"
# Commit timestamps of one key only grow.
jq -r 'select(.type == "row") | .updated' "$work/stamps.out" >"$work/updated"
sort -c "$work/updated" || fail "updated timestamps out of order for one key"

run_feed fullname -o full_table_name
[ "$(count_rows "$work/fullname.out" '.table == "defaultdb.public.opt_t"')" -eq 3 ] ||
	fail "full_table_name: $(grep row "$work/fullname.out" | head -1)"
# A CDC query (§1.3): projected columns, rows filtered by WHERE, envelope
# bare by default (no "before"), through a config file and a stdout sink.
sql "CREATE TABLE cdc_t (id INT PRIMARY KEY, name STRING, qty INT)"
write_conf "$work/cdc.conf" <<EOF2
[feed cdc]
query = SELECT id, qty FROM cdc_t WHERE qty > 1
start = now
[sink cdc-out]
feed = cdc
type = stdout
EOF2
start_daemon "$work/cdc.conf" "$work/cdc.out"
wait_for 20 "cdc streaming" has_line "$work/cdc.out" '.type == "state" and .state == "streaming"'
sql "INSERT INTO cdc_t VALUES (1, 'small', 1), (2, 'big', 5)"
sql "UPDATE cdc_t SET qty = 7 WHERE id = 1"
wait_for 20 "the query's rows" rows_at_least "$work/cdc.out" 2
sleep 1
stop_daemon
[ "$(count_rows "$work/cdc.out")" -eq 2 ] || fail "CDC query rows: $(grep row "$work/cdc.out" | tr '\n' ' ')"
has_line "$work/cdc.out" '.type == "row" and .table == "cdc_t" and .key == [2] and .after == {"id": 2, "qty": 5}' ||
	fail "CDC query row for id 2: $(grep row "$work/cdc.out" | head -1)"
has_line "$work/cdc.out" '.type == "row" and .key == [1] and .after == {"id": 1, "qty": 7}' ||
	fail "CDC query row for id 1 after the update"
pass "envelope=row, key_only, updated, mvcc_timestamp, full_table_name, CDC query"
