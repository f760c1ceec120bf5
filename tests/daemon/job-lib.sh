# job-lib.sh: what the job feed tests share (sourced after e2e-lib.sh): a
# self-signed certificate for 127.0.0.1 and a token, a free port, the
# feed keys, the job as crdbsim and crdbfeedd see it, and HTTPS requests
# to the endpoint (python3's ssl and http.client).

# job_setup DIR: DIR/ingest.crt, ingest.key, token; job_port.
job_setup() {
	command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 2 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$1/ingest.key" -out "$1/ingest.crt" >/dev/null 2>&1 ||
		fail "openssl could not make a certificate"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1/token"
	job_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
}

# job_keys: a job feed's endpoint keys (inside its [feed] section).
job_keys() {
	cat <<EOK
ingest_listen = 127.0.0.1:$job_port
ingest_tls_cert = $work/ingest.crt
ingest_tls_key = $work/ingest.key
ingest_auth_file = $work/token
EOK
}

crdbfeedctl_status() {
	"$builddir/daemon/crdbfeedctl" -s "$work/ctl.sock" status --json
}

# job_status_is WORD: crdbfeedd's status shows the job so.
job_status_is() {
	[ "$(crdbfeedctl_status | jq -r '.feeds[0].job.status')" = "$1" ]
}

# jobs_count: crdbsim's changefeed jobs that are not cancelled or failed.
jobs_count() {
	psql -X -q -At "$CRDB_DSN" -c "SELECT count(*) FROM [SHOW CHANGEFEED JOBS] WHERE status NOT IN ('canceled', 'failed')"
}

# job_sql_status_is WORD: SHOW CHANGEFEED JOB says so (job: $job).
job_sql_status_is() {
	[ "$(psql -X -q -At "$CRDB_DSN" -c "SELECT status FROM [SHOW CHANGEFEED JOB $job]")" = "$1" ]
}

# check_ordered FILE [AFTER]: row seqs contiguous from AFTER+1, updated
# never going back, no (table, key, updated) twice.
check_ordered() {
	/usr/bin/python3 - "$1" "${2:-0}" <<'EOP' || fail "$1 is not ordered exactly once (above)"
import json, sys
seq = int(sys.argv[2]); last = (0, 0); seen = set(); bad = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("type") != "row":
        continue
    seq += 1
    if m["seq"] != seq:
        print("seq %d where %d was due" % (m["seq"], seq)); bad = 1; seq = m["seq"]
    w, _, l = m["updated"].partition(".")
    u = (int(w), int(l or 0))
    if u < last:
        print("updated %s after a later one" % m["updated"]); bad = 1
    last = u
    ident = (m["table"], json.dumps(m["key"]), m["updated"])
    if ident in seen:
        print("duplicate", ident); bad = 1
    seen.add(ident)
sys.exit(bad)
EOP
}

# post_request STATUS TOKEN PATH BODY: POST BODY, expect STATUS.
post_request() {
	_pr_got=$(/usr/bin/python3 - "$job_port" "$2" "$3" "$4" "$work/ingest.crt" <<'EOP'
import http.client, ssl, sys
port, token, path, body, ca = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=10)
if body.startswith("@big:"):
    body = '{"payload":[' + ",".join(['{"after":{"id":1},"key":[1],"topic":"jt","updated":"1.0000000000"}'] * int(body[5:])) + '],"length":' + body[5:] + '}'
c.request("POST", path, body=body.encode(), headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
r = c.getresponse()
print(r.status, r.read().decode(errors="replace").strip()[:200])
EOP
) || fail "the request to the endpoint failed"
	case $_pr_got in
	"$1"*) ;;
	*) fail "expected $1, got: $_pr_got" ;;
	esac
}

post() { post_request "$1" wrong-token "/crdbfeed/j" "$3"; }
post_raw() { post_request "$1" "$(cat "$work/token")" "/crdbfeed/j" "$2"; }
post_big() { post_request "$1" "$(cat "$work/token")" "/crdbfeed/j" "@big:200000"; }
post_path() { post_request "$1" "$(cat "$work/token")" "/crdbfeed/other" '{"resolved":"1.0000000000"}'; }
