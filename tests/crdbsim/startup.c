/*
 * startup.c: a session's start (§6): the start-up packet, SSLRequest
 * (refused with 'N', or with --tls-cert accepted with 'S' and TLS from
 * there on), GSSENCRequest refused with 'N', CancelRequest (honoured from
 * emulated 22.1, §2.5), the per-connection emulated version from
 * `options`, client-certificate or cleartext-password authentication,
 * the session's own PostgreSQL connection (libpq, non-blocking), and the
 * start-up answer: ParameterStatus of §6.1 and BackendKeyData of §6.3.
 *
 * Before a database's first session goes on, crdbsim prepares that
 * database once per process for CockroachDB's dialect (§14.1, §14.5):
 * assignment casts from text to the types CockroachDB casts text to
 * implicitly (an event trigger adds one for each new enum type), and
 * crdbsim.unique_rowid(). The statements are idempotent, so a restarted
 * crdbsim runs them again harmlessly.
 *
 * TLS follows CockroachDB's secure mode [from memory of pkg/sql/pgwire;
 * doc/crdb-wire.md does not cover TLS]: a plain-text StartupMessage is
 * refused ("node is running secure mode, SSL connection required",
 * 08P01); a client certificate, when one is required and presented,
 * authenticates the user named by its Common Name instead of a password.
 */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/x509.h>

#include "proto.h"

#define CODE_SSL_REQUEST     80877103
#define CODE_GSSENC_REQUEST  80877104
#define CODE_CANCEL_REQUEST  80877102
#define CODE_PROTOCOL_3      196608
#define CANCEL_REQUEST_VERSION 220100   /* §2.5, §6.3 */

/* ---- start-up ---- */

static void send_startup_reply(struct sim_session *s)
{
	struct evbuffer *out = sess_out(s);
	struct pmsg m;
	int rc = 0;
	proto_begin(&m, 'R');
	proto_put_int32(&m, 0);                 /* AuthenticationOk */
	rc |= proto_end(&m, out);
	/* §6.1, in CockroachDB's statusReportParams set. */
	const char *params[][2] = {
		{"application_name", s->application_name ? s->application_name : ""},
		{"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"integer_datetimes", "on"},
		{"is_superuser", s->user && !strcmp(s->user, "root") ? "on" : "off"},
		{"server_encoding", "UTF8"},
		{"server_version", "13.0.0"},
		{"standard_conforming_strings", "on"},
		{"TimeZone", "UTC"},
		{"crdb_version", s->version_string},
		{"session_authorization", s->user},
	};
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		rc |= proto_parameter_status(out, params[i][0], params[i][1]);
	/* §6.3: one 64-bit key from 22.1 (PID = its upper half), zeros
	 * before. */
	proto_begin(&m, 'K');
	proto_put_int32(&m, (int32_t)s->key_pid);
	proto_put_int32(&m, (int32_t)s->key_secret);
	rc |= proto_end(&m, out);
	rc |= proto_ready(out, 'I');
	if (rc != 0)
		sess_fatal(s, "53200", "out of memory");
}

static void pg_poll(struct sim_session *s, PostgresPollingStatusType st);

static void pg_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sim_session *s = arg;
	pg_poll(s, PQconnectPoll(s->pg));
}

/*
 * CockroachDB accepts a text parameter wherever another type is expected
 * (§14.1): PostgreSQL does so in INSERT/UPDATE once an assignment cast from
 * text exists. unique_rowid() (§14.5): 10-microsecond ticks since
 * 2015-01-01 in the upper 48 bits, as CockroachDB's; the lower 15 bits are
 * a wrapping counter (CockroachDB's node id there relies on a per-node
 * clock bumped under a lock) so that ids within one tick stay unique.
 * CockroachDB's ids increase on a node in call order (§15.3); here they
 * increase within a session: when the counter wraps inside one tick, the
 * id moves to the tick after the session's last one.
 */
static const char dialect_setup_sql[] =
	"DO $crdbsim$\n"
	"DECLARE t regtype;\n"
	"BEGIN\n"
	"  PERFORM pg_advisory_xact_lock(2026121412);\n"
	"  CREATE SCHEMA IF NOT EXISTS crdbsim;\n"
	"  CREATE SEQUENCE IF NOT EXISTS crdbsim.unique_rowid_counter\n"
	"    MINVALUE 0 MAXVALUE 32767 CYCLE;\n"
	"  CREATE OR REPLACE FUNCTION crdbsim.unique_rowid() RETURNS int8\n"
	"    LANGUAGE plpgsql VOLATILE AS $f$\n"
	"    DECLARE\n"
	"      id int8 := (floor((extract(epoch FROM clock_timestamp())\n"
	"                         - 1420070400) * 100000)::int8 << 15)\n"
	"                 | nextval('crdbsim.unique_rowid_counter');\n"
	"      prev int8 := nullif(current_setting('crdbsim.last_unique_rowid',\n"
	"                                          true), '')::int8;\n"
	"    BEGIN\n"
	"      IF id <= prev THEN\n"
	"        id := (((prev >> 15) + 1) << 15) | (id & 32767);\n"
	"      END IF;\n"
	"      PERFORM set_config('crdbsim.last_unique_rowid', id::text, false);\n"
	"      RETURN id;\n"
	"    END $f$;\n"
	"  FOREACH t IN ARRAY ARRAY['jsonb', 'int2', 'int4', 'int8', 'float4',\n"
	"      'float8', 'numeric', 'bool', 'date', 'time', 'timetz',\n"
	"      'timestamp', 'timestamptz', 'interval', 'uuid', 'inet', 'bit',\n"
	"      'varbit', 'oid']::regtype[] LOOP\n"
	"    IF NOT EXISTS (SELECT FROM pg_cast WHERE castsource = 'text'::regtype\n"
	"                   AND casttarget = t) THEN\n"
	"      EXECUTE format('CREATE CAST (text AS %s) WITH INOUT AS ASSIGNMENT', t);\n"
	"    END IF;\n"
	"  END LOOP;\n"
	"  CREATE OR REPLACE FUNCTION crdbsim.enum_text_cast() RETURNS event_trigger\n"
	"    LANGUAGE plpgsql AS $f$\n"
	"    DECLARE r record;\n"
	"    BEGIN\n"
	"      FOR r IN SELECT c.objid FROM pg_event_trigger_ddl_commands() c\n"
	"               JOIN pg_type ty ON ty.oid = c.objid\n"
	"               WHERE c.classid = 'pg_type'::regclass AND ty.typtype = 'e'\n"
	"      LOOP\n"
	"        EXECUTE format('CREATE CAST (text AS %s) WITH INOUT AS ASSIGNMENT',\n"
	"                       r.objid::regtype);\n"
	"        -- DROP TYPE takes the cast with it, as if it were the type's.\n"
	"        UPDATE pg_depend SET deptype = 'a'\n"
	"          WHERE classid = 'pg_cast'::regclass AND refobjid = r.objid\n"
	"            AND objid = (SELECT oid FROM pg_cast\n"
	"                         WHERE castsource = 'text'::regtype\n"
	"                           AND casttarget = r.objid);\n"
	"      END LOOP;\n"
	"    END $f$;\n"
	"  IF NOT EXISTS (SELECT FROM pg_event_trigger\n"
	"                 WHERE evtname = 'crdbsim_enum_text_cast') THEN\n"
	"    CREATE EVENT TRIGGER crdbsim_enum_text_cast ON ddl_command_end\n"
	"      WHEN TAG IN ('CREATE TYPE')\n"
	"      EXECUTE FUNCTION crdbsim.enum_text_cast();\n"
	"  END IF;\n"
	"END $crdbsim$";

/* Databases already prepared by this process (a short list: tests use a
 * handful). */
#define PREPARED_DBS_MAX 64
static char *prepared_dbs[PREPARED_DBS_MAX];
static int nprepared_dbs;

/* Prepare the session's database once (blocking, on a fresh local
 * connection: a few milliseconds, once per database). 0 or -1 with the
 * error sent. */
static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int prepare_database(struct sim_session *s)
{
	for (int i = 0; i < nprepared_dbs; i++)
		if (strcmp(prepared_dbs[i], s->database) == 0)
			return 0;
	/* "schema crdbsim already exists" and the like are expected. */
	PQsetNoticeProcessor(s->pg, quiet_notice, NULL);
	PGresult *r = PQexec(s->pg, dialect_setup_sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = '\0';
		PQclear(r);
		sess_fatal(s, "58000", "crdbsim: cannot prepare database %s: %s",
			   s->database, msg);
		return -1;
	}
	PQclear(r);
	if (nprepared_dbs < PREPARED_DBS_MAX) {
		char *copy = strdup(s->database);
		if (copy)
			prepared_dbs[nprepared_dbs++] = copy;
	}
	return 0;
}

static void backend_ready(struct sim_session *s)
{
	if (prepare_database(s) != 0)
		return;
	s->pg_cancel = PQgetCancel(s->pg);
	s->backend = bufferevent_socket_new(s->srv->base, PQsocket(s->pg), 0);
	if (!s->backend) {
		sess_fatal(s, "53200", "out of memory");
		return;
	}
	bufferevent_setcb(s->backend, sess_backend_read_cb, sess_backend_write_cb,
			  sess_backend_event_cb, s);
	bufferevent_setwatermark(s->backend, EV_WRITE,
				 SIM_RELAY_HIGH_WATER / 2, 0);
	bufferevent_enable(s->backend, EV_READ);
	s->txn_status = 'I';
	s->state = S_READY;
	send_startup_reply(s);
	if (!s->dead)
		sess_kick(s);
}

static void pg_poll(struct sim_session *s, PostgresPollingStatusType st)
{
	short what;
	switch (st) {
	case PGRES_POLLING_OK:
		if (s->pg_ev)
			event_free(s->pg_ev);
		s->pg_ev = NULL;
		backend_ready(s);
		return;
	case PGRES_POLLING_FAILED: {
		char msg[300];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(s->pg));
		msg[strcspn(msg, "\n")] = '\0';
		/* "database ... does not exist" keeps its SQLSTATE. */
		sess_fatal(s, strstr(msg, "does not exist") ? "3D000" : "08006",
			   "%s", msg);
		return;
	}
	case PGRES_POLLING_READING:
		what = EV_READ;
		break;
	default:
		what = EV_WRITE;
		break;
	}
	if (s->pg_ev)
		event_free(s->pg_ev);
	s->pg_ev = event_new(s->srv->base, PQsocket(s->pg), what, pg_ev_cb, s);
	if (!s->pg_ev || event_add(s->pg_ev, NULL) != 0)
		sess_fatal(s, "53200", "out of memory");
}

static void begin_backend(struct sim_session *s)
{
	const char *kw[8], *val[8];
	int n = 0;
	kw[n] = "dbname"; val[n++] = s->srv->pg_dsn;
	kw[n] = "dbname"; val[n++] = s->database;
	kw[n] = "sslmode"; val[n++] = "disable";
	if (s->application_name) {
		kw[n] = "application_name"; val[n++] = s->application_name;
	}
	if (s->pg_options) {
		kw[n] = "options"; val[n++] = s->pg_options;
	}
	kw[n] = NULL; val[n] = NULL;
	s->state = S_CONNECTING;
	s->pg = PQconnectStartParams(kw, val, 1);
	if (!s->pg || PQstatus(s->pg) == CONNECTION_BAD) {
		sess_fatal(s, "08006", "cannot connect to PostgreSQL: %s",
			   s->pg ? PQerrorMessage(s->pg) : "out of memory");
		return;
	}
	pg_poll(s, PGRES_POLLING_WRITING);
}

/* -c settings in the start-up `options`: crdbsim.version picks the
 * emulated version of this connection; a few harmless PostgreSQL settings
 * are passed on; CockroachDB-only ones are dropped. */
static bool take_options(struct sim_session *s, const char *options)
{
	static const char *const pass[] = {
		"statement_timeout", "timezone", "datestyle", "intervalstyle",
		"search_path", "lock_timeout", "idle_in_transaction_session_timeout",
		"application_name", NULL,
	};
	char buf[1024];
	size_t used = 0;
	const char *p = options;
	buf[0] = '\0';
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		char tok[512];
		size_t n = 0;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 < sizeof tok)
				tok[n++] = *p;
			p++;
		}
		tok[n] = '\0';
		const char *setting = tok;
		if (!strcmp(tok, "-c")) {
			while (isspace((unsigned char)*p))
				p++;
			n = 0;
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				if (n + 1 < sizeof tok)
					tok[n++] = *p;
				p++;
			}
			tok[n] = '\0';
		} else if (!strncmp(tok, "-c", 2)) {
			setting = tok + 2;
		} else if (!strncmp(tok, "--", 2)) {
			setting = tok + 2;
		}
		const char *eq = strchr(setting, '=');
		if (!eq)
			continue;
		size_t namelen = (size_t)(eq - setting);
		if (namelen == 15 && !strncasecmp(setting, "crdbsim.version", 15)) {
			int v = sim_parse_version_arg(eq + 1);
			if (v < 0)
				return false;
			s->version = v;
			continue;
		}
		for (int i = 0; pass[i]; i++) {
			if (strlen(pass[i]) == namelen &&
			    !strncasecmp(setting, pass[i], namelen)) {
				int w = snprintf(buf + used, sizeof buf - used,
						 "%s-c %s", used ? " " : "", setting);
				if (w > 0 && (size_t)w < sizeof buf - used)
					used += (size_t)w;
				break;
			}
		}
	}
	if (used && !(s->pg_options = strdup(buf)))
		return false;
	return true;
}

static void handle_cancel_request(struct sim_session *s, const char *pkt)
{
	struct preader r;
	preader_init(&r, pkt, 16);
	(void)preader_int32(&r);
	(void)preader_int32(&r);
	uint32_t pid = (uint32_t)preader_int32(&r);
	uint32_t secret = (uint32_t)preader_int32(&r);
	struct sim_session *v = sim_find_by_cancel_key(s->srv, pid, secret);
	/* §2.5: CockroachDB before 22.1 ignores every CancelRequest. */
	if (v && v->version >= CANCEL_REQUEST_VERSION)
		sim_session_cancel(v);
	sess_close(s);
}

/* With client certificates required, the certificate's Common Name must
 * be the user asked for: 1 authenticated, 0 no certificate in play, -1
 * refused (FATAL sent). */
static int cert_authenticates(struct sim_session *s)
{
	bool client_certs = false;
	if (!s->tls || !sim_tls_ctx(&client_certs) || !client_certs)
		return 0;
	SSL *ssl = bufferevent_openssl_get_ssl(s->client);
	X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	char cn[256] = "";
	if (peer) {
		X509_NAME *subject = X509_get_subject_name(peer);
		if (subject && X509_NAME_get_text_by_NID(subject, NID_commonName,
							 cn, sizeof cn) < 0)
			cn[0] = '\0';
		X509_free(peer);
	}
	if (!peer) {
		/* The handshake requires one: not reached, but be sure. */
		sess_fatal(s, "28000", "no client certificate presented");
		return -1;
	}
	if (strcmp(cn, s->user) != 0) {
		sess_fatal(s, "28000", "requested user is %s, but certificate is for %s",
			   s->user, cn);
		return -1;
	}
	return 1;
}

int startup_handle(struct sim_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	unsigned char hdr[4];
	if (evbuffer_get_length(in) < 4)
		return H_WAIT;
	evbuffer_copyout(in, hdr, 4);
	uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		       ((uint32_t)hdr[2] << 8) | hdr[3];
	if (len < 8 || len > SIM_MAX_STARTUP) {
		sess_fatal(s, "08P01", "invalid length of startup packet");
		return H_GONE;
	}
	if (evbuffer_get_length(in) < len)
		return H_WAIT;
	const char *pkt = (const char *)evbuffer_pullup(in, len);
	if (!pkt) {
		sess_fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	struct preader r;
	preader_init(&r, pkt, len);
	(void)preader_int32(&r);
	uint32_t code = (uint32_t)preader_int32(&r);
	SSL_CTX *tls_ctx = sim_tls_ctx(NULL);
	if (code == CODE_SSL_REQUEST && tls_ctx && !s->tls) {
		if (len != 8) {
			sess_fatal(s, "08P01", "invalid length of SSL request");
			return H_GONE;
		}
		evbuffer_drain(in, len);
		/* 'S' goes out in plain text, then the handshake follows. */
		if (evbuffer_add(sess_out(s), "S", 1) != 0 ||
		    sess_start_tls(s, tls_ctx) != 0) {
			sim_log("session %s (%s): cannot start TLS",
				s->session_id, s->peer);
			sess_close(s);
			return H_GONE;
		}
		return H_DONE;
	}
	if (code == CODE_SSL_REQUEST || code == CODE_GSSENC_REQUEST) {
		evbuffer_drain(in, len);
		/* Refused politely: the client goes on in plain text. */
		if (evbuffer_add(sess_out(s), "N", 1) != 0) {
			sess_fatal(s, "53200", "out of memory");
			return H_GONE;
		}
		return H_DONE;
	}
	if (code == CODE_CANCEL_REQUEST) {
		if (len != 16) {
			sess_fatal(s, "08P01", "invalid length of cancel request");
			return H_GONE;
		}
		handle_cancel_request(s, pkt);
		return H_GONE;
	}
	if (tls_ctx && !s->tls) {
		sess_fatal(s, "08P01",
			   "node is running secure mode, SSL connection required");
		return H_GONE;
	}
	if (code != CODE_PROTOCOL_3) {
		sess_fatal(s, "0A000", "unsupported frontend protocol %u.%u",
			   code >> 16, code & 0xffff);
		return H_GONE;
	}
	const char *options = NULL;
	for (;;) {
		const char *name = preader_cstr(&r);
		if (r.bad || !*name)
			break;
		const char *value = preader_cstr(&r);
		if (r.bad)
			break;
		char **slot = NULL;
		if (!strcmp(name, "user"))
			slot = &s->user;
		else if (!strcmp(name, "database"))
			slot = &s->database;
		else if (!strcmp(name, "application_name"))
			slot = &s->application_name;
		else if (!strcmp(name, "client_encoding"))
			slot = &s->client_encoding;
		else if (!strcmp(name, "options"))
			options = value;
		if (slot) {
			free(*slot);
			if (!(*slot = strdup(value))) {
				sess_fatal(s, "53200", "out of memory");
				return H_GONE;
			}
		}
	}
	if (!preader_done(&r)) {
		sess_fatal(s, "08P01", "invalid startup packet layout");
		return H_GONE;
	}
	if (!s->user || !*s->user) {
		sess_fatal(s, "28000", "no user specified in startup packet");
		return H_GONE;
	}
	if ((!s->database || !*s->database)) {
		free(s->database);
		if (!(s->database = strdup("defaultdb"))) {
			sess_fatal(s, "53200", "out of memory");
			return H_GONE;
		}
	}
	if (s->srv->draining) {
		/* §7: a draining node refuses new connections. */
		sess_fatal(s, "57P01", "server is not accepting clients, try another node");
		return H_GONE;
	}
	if (options && !take_options(s, options)) {
		sess_fatal(s, "22023", "crdbsim: bad options (crdbsim.version wants X.Y.Z)");
		return H_GONE;
	}
	evbuffer_drain(in, len);
	sim_version_string(s->version, s->version_string,
			   sizeof s->version_string);
	if (s->version >= CANCEL_REQUEST_VERSION) {
		uint32_t rnd[2];
		if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
			rnd[0] = (uint32_t)sess_now_us();
			rnd[1] = (uint32_t)rand();
		}
		/* Node 1 in the top 12 bits of the 64-bit key. */
		s->key_pid = (1u << 20) | (rnd[0] & 0xfffffu);
		s->key_secret = rnd[1];
		s->has_key = true;
	}
	int cert = cert_authenticates(s);
	if (cert < 0)
		return H_GONE;
	if (s->srv->password && !cert) {
		struct pmsg m;
		proto_begin(&m, 'R');
		proto_put_int32(&m, 3);         /* cleartext password */
		if (proto_end(&m, sess_out(s)) != 0) {
			sess_fatal(s, "53200", "out of memory");
			return H_GONE;
		}
		s->state = S_PASSWORD;
		return H_DONE;
	}
	begin_backend(s);
	return s->dead ? H_GONE : H_DONE;
}

int startup_password(struct sim_session *s, char type, size_t total)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	if (type != 'p') {
		sess_fatal(s, "08P01", "expected password response, got message type %d",
			   (unsigned char)type);
		return H_GONE;
	}
	const char *msg = (const char *)evbuffer_pullup(in, (ssize_t)total);
	if (!msg) {
		sess_fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	struct preader r;
	preader_init(&r, msg + 5, total - 5);
	const char *pw = preader_cstr(&r);
	bool ok = preader_done(&r) && strcmp(pw, s->srv->password) == 0;
	evbuffer_drain(in, total);
	if (!ok) {
		sess_fatal(s, "28P01", "password authentication failed for user %s",
			   s->user);
		return H_GONE;
	}
	begin_backend(s);
	return s->dead ? H_GONE : H_DONE;
}

