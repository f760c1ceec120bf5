/*
 * check_nats_pub.c: the NATS connection and publisher (daemon/nats_conn.c,
 * daemon/nats_nkey.c, daemon/nats_pub.c) against a real nats-server with
 * JetStream (run under tests/nats/nats-env by tests/nats/check-nats-pub.sh,
 * which exports NATS_URL and NATS_ENV_DIR): stream names, NKey public keys
 * from seeds (vectors computed outside this code), connect errors that name
 * the server or file and never a secret, token / password / NKey logins
 * and TLS (the server verified, by CA and name; a client certificate)
 * against servers this test starts, stream provisioning and validation,
 * 1000 messages published asynchronously and read back in order with
 * their headers, duplicates and too-large messages flagged, the high-water
 * mark, ack timeouts, and a server killed mid-publish (DOWN, every message
 * in flight failed, READY again once it is back).
 */
#include <config.h> /* autoconf's */

#include "daemon/nats_conn.h"
#include "daemon/nats_nkey.h"
#include "daemon/nats_pub.h"

#include <check.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A string the settings or argv hold as char *, never written. */
#define W(s) ((char *)(s))

#define ACKS_MAX 4096
#define STATES_MAX 64

/* What the publisher's callbacks told the test. */
struct record {
	struct nats_pub *p;
	enum nats_pub_state states[STATES_MAX];
	char whys[STATES_MAX][256];
	size_t nstates;
	struct nats_high_water hw;
	struct nats_pub_ack acks[ACKS_MAX];
	enum nats_pub_state ack_state[ACKS_MAX]; /* the state when taken */
	size_t nacks;
};
static struct record rec;
static struct event_base *base;
static char tmpdir[256];

static void on_state(void *arg, enum nats_pub_state state, const char *why,
		     const struct nats_high_water *hw)
{
	struct record *r = arg;

	ck_assert_uint_lt(r->nstates, STATES_MAX);
	r->states[r->nstates] = state;
	snprintf(r->whys[r->nstates], sizeof(r->whys[0]), "%s", why ? why : "");
	r->nstates++;
	if (state == NATS_PUB_READY) {
		ck_assert_ptr_nonnull(hw);
		r->hw = *hw;
	}
}

static void on_acks(void *arg)
{
	struct record *r = arg;

	size_t n = nats_pub_take_acks(r->p, r->acks + r->nacks,
				      ACKS_MAX - r->nacks);

	for (size_t i = r->nacks; i < r->nacks + n; i++)
		r->ack_state[i] = r->nstates ? r->states[r->nstates - 1]
					     : NATS_PUB_CONNECTING;
	r->nacks += n;
}

static enum nats_pub_state last_state(void)
{
	return rec.nstates ? rec.states[rec.nstates - 1] : NATS_PUB_CONNECTING;
}

/* Run the loop until cond() or timeout_ms; returns cond(). */
static bool pump(bool (*cond)(void), int timeout_ms)
{
	for (int i = 0; i < timeout_ms * 2; i++) {
		if (cond())
			return true;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(500);
	}
	return cond();
}

static bool is_ready(void) { return last_state() == NATS_PUB_READY; }
static bool is_down(void) { return last_state() == NATS_PUB_DOWN; }
static bool is_failed(void) { return last_state() == NATS_PUB_FAILED; }
static size_t want_acks;
static bool have_acks(void) { return rec.nacks >= want_acks; }

static struct nats_settings settings(void)
{
	struct nats_settings s;

	memset(&s, 0, sizeof(s));
	s.url = getenv("NATS_URL");
	ck_assert_msg(s.url != NULL, "NATS_URL is not set: run under tests/nats/nats-env");
	s.connect_timeout_ms = 2000;
	return s;
}

static struct nats_settings conn_settings;

static struct nats_pub *open_pub(const char *stream, const char *subjects,
				 bool create, size_t max_pending,
				 int64_t ack_timeout_ms)
{
	struct nats_pub_config cfg;
	struct nats_pub_callbacks cb = { on_state, on_acks, &rec };
	char err[256] = "";

	memset(&rec, 0, sizeof(rec));
	conn_settings = settings();
	memset(&cfg, 0, sizeof(cfg));
	cfg.conn = &conn_settings;
	cfg.stream.stream = stream;
	cfg.stream.subjects = subjects;
	cfg.stream.create = create;
	cfg.stream.replicas = 1;
	cfg.stream.duplicate_window_ms = 120000;
	cfg.max_pending = max_pending;
	cfg.ack_timeout_ms = ack_timeout_ms;
	rec.p = nats_pub_open(base, &cfg, &cb, err, sizeof(err));
	ck_assert_msg(rec.p != NULL, "%s", err);
	return rec.p;
}

/* Submit one message; waits (pumping) while max_pending are out. */
static void submit(uint64_t tag, const char *subject, const char *msg_id,
		   bool resolved, crdb_hlc updated, const char *table,
		   const char *payload, size_t payload_len)
{
	struct nats_pub_msg m = { tag, subject, msg_id, resolved, tag, updated,
				  table, payload, payload_len };
	char err[256] = "";
	int rc;

	for (int i = 0; i < 20000; i++) {
		rc = nats_pub_submit(rec.p, &m, err, sizeof(err));
		ck_assert_msg(rc >= 0, "submit: %s", err);
		if (rc == 0)
			return;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(500);
	}
	ck_abort_msg("submit: still full after 10 s");
}

static void open_js(natsConnection **nc, jsCtx **js)
{
	struct nats_settings s = settings();
	char err[256] = "";

	ck_assert_msg(nats_conn_open(&s, NULL, true, 5000, nc, js, err, sizeof(err)) == 0,
		      "%s", err);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const char *tmp_path(const char *name)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

/* ---- names and keys ---- */

START_TEST(test_stream_default_name)
{
	char out[64];

	ck_assert_int_eq(nats_stream_default_name(out, sizeof(out), "orders"), 0);
	ck_assert_str_eq(out, "CRDBFEED_orders");
	ck_assert_int_eq(nats_stream_default_name(out, sizeof(out), "a.b c>*-_9"), 0);
	ck_assert_str_eq(out, "CRDBFEED_a_b_c__-_9");
	ck_assert_int_eq(nats_stream_default_name(out, 16, "orders"), 0);
	ck_assert_int_eq(nats_stream_default_name(out, 15, "orders"), -1);
	ck_assert_int_eq(nats_stream_default_name(out, sizeof(out), ""), -1);
}
END_TEST

/* Vectors: an operator key from nats-io/nkeys.net's README, and a user key
 * made with Python's cryptography (Ed25519) from seed bytes 1..32. */
START_TEST(test_nkey_public)
{
	char pub[NATS_NKEY_PUBLIC_BUFSIZE], err[256] = "";
	const char *op = "SOAELH6NJCEK4HST5644G4HK7TOAFZGRRJHNM4EUKUY7PPNDLIKO5IH4JM";
	const char *user = "SUAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CQ";
	char bad[64];

	ck_assert_int_eq(nats_nkey_public_from_seed(op, strlen(op), pub, sizeof(pub),
						    err, sizeof(err)), 0);
	ck_assert_str_eq(pub, "ODPWIBQJVIQ42462QAFI2RKJC4RZHCQSIVPRDDHWFCJAP52NRZK6Z2YC");
	ck_assert_int_eq(nats_nkey_public_from_seed(user, strlen(user), pub,
						    sizeof(pub), err, sizeof(err)), 0);
	ck_assert_str_eq(pub, "UB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJBFE");
	/* One character changed: the checksum refuses it. */
	snprintf(bad, sizeof(bad), "%s", user);
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(nats_nkey_public_from_seed(bad, strlen(bad), pub,
						    sizeof(pub), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "checksum") != NULL, "%s", err);
	ck_assert_int_eq(nats_nkey_public_from_seed("SUAB", 4, pub, sizeof(pub),
						    err, sizeof(err)), -1);
	/* From a file, with blanks and a newline around it. */
	snprintf(bad, sizeof(bad), "  %s\n", user);
	write_file(tmp_path("user.nk"), bad);
	ck_assert_int_eq(nats_nkey_public_from_seed_file(tmp_path("user.nk"), pub,
							 sizeof(pub), err,
							 sizeof(err)), 0);
	ck_assert_str_eq(pub, "UB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJBFE");
	ck_assert_int_eq(nats_nkey_public_from_seed_file(tmp_path("none.nk"), pub,
							 sizeof(pub), err,
							 sizeof(err)), -1);
	ck_assert_msg(strstr(err, "none.nk: No such file") != NULL, "%s", err);
}
END_TEST

/* ---- connecting ---- */

static void expect_open_error(struct nats_settings *s, const char *want,
			      const char *never)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	char err[512] = "";

	ck_assert_int_eq(nats_conn_open(s, NULL, true, 2000, &nc, &js, err, sizeof(err)), -1);
	ck_assert_ptr_null(nc);
	ck_assert_msg(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want, err);
	ck_assert_msg(!strchr(err, '\n'), "two lines: %s", err);
	if (never)
		ck_assert_msg(!strstr(err, never), "secret in \"%s\"", err);
}

START_TEST(test_connect_errors)
{
	struct nats_settings s = settings();

	s.url = W("nats://127.0.0.1:1, nats://someone:hunter2@127.0.0.1:2");
	expect_open_error(&s, "nats: nats://127.0.0.1:1,nats://127.0.0.1:2: no server available",
			  "hunter2");

	s = settings();
	s.tls_ca = W("/nonexistent/ca.pem");
	expect_open_error(&s, "nats_tls_ca /nonexistent/ca.pem: No such file or directory",
			  NULL);
	write_file(tmp_path("junk-ca.pem"), "not a certificate\n");
	s.tls_ca = W(tmp_path("junk-ca.pem"));
	expect_open_error(&s, "nats_tls_ca ", NULL);
	expect_open_error(&s, "junk-ca.pem", NULL);

	s = settings();
	s.token_file = W(tmp_path("no-token"));
	expect_open_error(&s, "nats_token_file ", NULL);
	expect_open_error(&s, "no-token: No such file or directory", NULL);
	write_file(tmp_path("empty-token"), "\n");
	s.token_file = W(tmp_path("empty-token"));
	expect_open_error(&s, "empty-token: is empty", NULL);

	s = settings();
	s.user = W("u");
	expect_open_error(&s, "nats_user and nats_password_file go together", NULL);
	s = settings();
	s.creds = W(tmp_path("none.creds"));
	expect_open_error(&s, "nats_creds ", NULL);
}
END_TEST

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Whether something listens on 127.0.0.1:port. */
static bool port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Run nats-server (NATS_SERVER, exported by nats-env) with argv, its
 * output discarded. */
static pid_t spawn_server(char *const argv[])
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(getenv("NATS_SERVER"), argv);
		_exit(127);
	}
	return pid;
}

/* spawn_server, then wait until port listens. */
static pid_t start_server(int port, char *const argv[])
{
	pid_t pid = spawn_server(argv);

	for (int i = 0; i < 200 && !port_open(port); i++)
		usleep(25000);
	ck_assert_msg(port_open(port), "nats-server on %d did not start", port);
	return pid;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static bool opens(struct nats_settings *s, char *err, size_t errlen)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;

	if (nats_conn_open(s, NULL, true, 2000, &nc, &js, err, errlen))
		return false;
	nats_conn_close(nc, js);
	return true;
}

START_TEST(test_logins)
{
	struct nats_settings s;
	char url[64], port_s[16], conf[512], err[512] = "", want[128];
	int port = free_port();
	char *server = getenv("NATS_SERVER");
	pid_t pid;

	ck_assert_msg(server != NULL, "NATS_SERVER is not set: run under tests/nats/nats-env");
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);

	/* A token. */
	{
		char *argv[] = { server, W("-a"), W("127.0.0.1"), W("-p"), port_s,
				 W("--auth"), W("right-token"), NULL };
		pid = start_server(port, argv);
	}
	memset(&s, 0, sizeof(s));
	s.url = url;
	s.connect_timeout_ms = 2000;
	write_file(tmp_path("wrong-token"), "wrong-token\n");
	s.token_file = W(tmp_path("wrong-token"));
	snprintf(want, sizeof(want), "nats: %s: authorization violation", url);
	expect_open_error(&s, want, "wrong-token");
	write_file(tmp_path("right-token"), "right-token\n");
	s.token_file = W(tmp_path("right-token"));
	ck_assert_msg(opens(&s, err, sizeof(err)), "%s", err);
	stop_server(pid);

	/* A user and password. */
	{
		char *argv[] = { server, W("-a"), W("127.0.0.1"), W("-p"), port_s,
				 W("--user"), W("feeder"), W("--pass"), W("pw-123"),
				 NULL };
		pid = start_server(port, argv);
	}
	memset(&s, 0, sizeof(s));
	s.url = url;
	s.user = W("feeder");
	write_file(tmp_path("pw"), "pw-124\n");
	s.password_file = W(tmp_path("pw"));
	expect_open_error(&s, "authorization", "pw-124");
	write_file(tmp_path("pw"), "pw-123\n");
	ck_assert_msg(opens(&s, err, sizeof(err)), "%s", err);
	stop_server(pid);

	/* An NKey (the user vector of test_nkey_public). */
	snprintf(conf, sizeof(conf),
		 "listen: 127.0.0.1:%d\nauthorization { users: [ { nkey: "
		 "UB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJBFE } ] }\n",
		 port);
	write_file(tmp_path("nkey.conf"), conf);
	{
		char *argv[] = { server, W("-c"), W(tmp_path("nkey.conf")), NULL };
		pid = start_server(port, argv);
	}
	memset(&s, 0, sizeof(s));
	s.url = url;
	expect_open_error(&s, "authorization", NULL);
	write_file(tmp_path("user.nk"),
		   "SUAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CQ\n");
	s.nkey_seed = W(tmp_path("user.nk"));
	ck_assert_msg(opens(&s, err, sizeof(err)), "%s", err);
	stop_server(pid);
}
END_TEST

/* Certificates made at test time by tests/security/tls-lib.sh in dir: ca,
 * wrong-ca, server (localhost, 127.0.0.1), client, and elsewhere (a server
 * certificate of ca for another name). */
static void make_pki(const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "fail() { echo \"$*\" >&2; exit 1; }; . '%s/tests/security/tls-lib.sh' && "
		 "make_test_pki '%s' && make_cert '%s' elsewhere ca elsewhere DNS:elsewhere.example",
		 getenv("top_srcdir"), dir, dir);
	ck_assert_msg(getenv("top_srcdir") != NULL, "top_srcdir is not set");
	ck_assert_msg(system(cmd) == 0, "openssl could not make the test certificates");
}

START_TEST(test_tls)
{
	struct nats_settings s;
	char url[64], conf[2048], err[512] = "", pki[300], path[4][400];
	char want[256];
	int port = free_port();
	char *server = getenv("NATS_SERVER");
	pid_t pid;

	ck_assert_msg(server != NULL, "NATS_SERVER is not set: run under tests/nats/nats-env");
	snprintf(pki, sizeof(pki), "%s/pki", tmpdir);
	make_pki(pki);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	snprintf(conf, sizeof(conf),
		 "listen: 127.0.0.1:%d\ntls { cert_file: \"%s/server.crt\", "
		 "key_file: \"%s/server.key\", ca_file: \"%s/ca.crt\", verify: true }\n",
		 port, pki, pki, pki);
	write_file(tmp_path("tls.conf"), conf);
	{
		char *argv[] = { server, W("-c"), W(tmp_path("tls.conf")), NULL };
		pid = start_server(port, argv);
	}
	snprintf(path[0], sizeof(path[0]), "%s/wrong-ca.crt", pki);
	snprintf(path[1], sizeof(path[1]), "%s/ca.crt", pki);
	snprintf(path[2], sizeof(path[2]), "%s/client.crt", pki);
	snprintf(path[3], sizeof(path[3]), "%s/client.key", pki);
	memset(&s, 0, sizeof(s));
	s.url = url;
	s.connect_timeout_ms = 2000;
	s.tls_cert = path[2];
	s.tls_key = path[3];
	/* A CA that did not sign the server's certificate. */
	s.tls_ca = path[0];
	snprintf(want, sizeof(want),
		 "nats: %s: tls: SSL handshake error: 20:unable to get local issuer certificate",
		 url);
	expect_open_error(&s, want, NULL);
	/* The right CA, and a client certificate the server requires. */
	s.tls_ca = path[1];
	ck_assert_msg(opens(&s, err, sizeof(err)), "%s", err);
	s.tls_cert = s.tls_key = NULL;
	snprintf(want, sizeof(want),
		 "nats: %s: tls: the server closed the connection after the handshake (a client certificate required?",
		 url);
	expect_open_error(&s, want, NULL);
	stop_server(pid);

	/* A certificate of the right CA for another name. */
	snprintf(conf, sizeof(conf),
		 "listen: 127.0.0.1:%d\ntls { cert_file: \"%s/elsewhere.crt\", "
		 "key_file: \"%s/elsewhere.key\" }\n", port, pki, pki);
	write_file(tmp_path("tls.conf"), conf);
	{
		char *argv[] = { server, W("-c"), W(tmp_path("tls.conf")), NULL };
		pid = start_server(port, argv);
	}
	/* A CA configured means TLS required: a server without TLS is
	 * refused, not used in clear. */
	{
		struct nats_settings plain = settings();

		plain.tls_ca = path[1];
		snprintf(want, sizeof(want), "nats: %s: Secure Connection not available",
			 plain.url);
		expect_open_error(&plain, want, NULL);
	}
	/* nats.c checks the name (here the IP address) by itself. */
	snprintf(want, sizeof(want), "nats: %s: tls: SSL handshake error: 64:IP address mismatch",
		 url);
	expect_open_error(&s, want, NULL);
	stop_server(pid);
}
END_TEST

/* ---- streams ---- */

START_TEST(test_stream_ensure)
{
	natsConnection *nc;
	jsCtx *js;
	char err[512] = "";
	struct nats_stream_spec spec = { "ENSURE_A", "ens.a.>", false, 1, 120000, 0 };
	jsStreamInfo *si = NULL;

	open_js(&nc, &js);
	ck_assert_int_eq(nats_stream_ensure(js, &spec, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "stream ENSURE_A: not found, and nats_stream_create is off");
	spec.create = true;
	spec.duplicate_window_ms = 60000;
	spec.max_age_ms = 3600000;
	ck_assert_msg(nats_stream_ensure(js, &spec, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(js_GetStreamInfo(&si, js, "ENSURE_A", NULL, NULL), NATS_OK);
	ck_assert_int_eq(si->Config->Duplicates, 60000 * 1000000LL);
	ck_assert_int_eq(si->Config->MaxAge, 3600000 * 1000000LL);
	ck_assert_str_eq(si->Config->Subjects[0], "ens.a.>");
	jsStreamInfo_Destroy(si);
	/* Existing: accepted again, then validated. */
	ck_assert_msg(nats_stream_ensure(js, &spec, err, sizeof(err)) == 0, "%s", err);
	spec.duplicate_window_ms = 120000;
	ck_assert_int_eq(nats_stream_ensure(js, &spec, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "stream ENSURE_A: duplicate window 60s is shorter than nats_duplicate_window 120s");
	spec.duplicate_window_ms = 1500;
	ck_assert_msg(nats_stream_ensure(js, &spec, err, sizeof(err)) == 0, "%s", err);
	spec.subjects = "ens.b.>";
	ck_assert_int_eq(nats_stream_ensure(js, &spec, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "stream ENSURE_A: its subjects do not cover ens.b.> (ens.a.>)");
	/* A wider stream covers a feed's subjects; a narrower one does not. */
	spec.stream = "ENSURE_WIDE";
	spec.subjects = "wide.>";
	ck_assert_msg(nats_stream_ensure(js, &spec, err, sizeof(err)) == 0, "%s", err);
	spec.create = false;
	spec.subjects = "wide.f.>";
	ck_assert_msg(nats_stream_ensure(js, &spec, err, sizeof(err)) == 0, "%s", err);
	spec.stream = "ENSURE_A";
	spec.subjects = "ens.>";
	ck_assert_int_eq(nats_stream_ensure(js, &spec, err, sizeof(err)), -1);
	/* A window the server refuses (longer than max age): its reason. */
	spec.stream = "ENSURE_BAD";
	spec.subjects = "ens.bad.>";
	spec.create = true;
	spec.duplicate_window_ms = 120000;
	spec.max_age_ms = 60000;
	ck_assert_int_eq(nats_stream_ensure(js, &spec, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "stream ENSURE_BAD: create: ") == err, "%s", err);
	ck_assert_msg(strstr(err, "max age") != NULL, "%s", err);
	nats_conn_close(nc, js);
}
END_TEST

/* The publisher reports a stream that does not fit as FAILED, with why. */
START_TEST(test_pub_stream_missing)
{
	open_pub("PUB_MISSING", "missing.f.>", false, 16, 5000);
	ck_assert(pump(is_failed, 5000));
	ck_assert_str_eq(rec.whys[rec.nstates - 1],
			 "stream PUB_MISSING: not found, and nats_stream_create is off");
	nats_pub_close(rec.p);
}
END_TEST

/* ---- publishing ---- */

#define N_MSGS 1000

START_TEST(test_publish_1000)
{
	char subject[64], id[64], payload[128];
	natsConnection *nc;
	jsCtx *js;
	struct nats_pub_stats st;

	open_pub("PUB_1000", "p1k.f.>", true, 256, 5000);
	ck_assert(pump(is_ready, 5000));
	ck_assert(!rec.hw.any);
	for (int i = 0; i < N_MSGS; i++) {
		crdb_hlc upd = { 1700000000000000000LL + i, i % 3 };
		int len = snprintf(payload, sizeof(payload), "{\"n\":%d}", i);

		snprintf(subject, sizeof(subject), "p1k.f.t%d", i % 2);
		snprintf(id, sizeof(id), "id-%d", i);
		submit((uint64_t)i + 1, subject, id, false, upd,
		       i % 2 ? "public.t1" : "public.t0", payload, (size_t)len);
	}
	want_acks = N_MSGS;
	ck_assert(pump(have_acks, 10000));
	ck_assert_uint_eq(rec.nacks, N_MSGS);
	for (int i = 0; i < N_MSGS; i++) {
		ck_assert_uint_eq(rec.acks[i].tag, (uint64_t)i + 1);
		ck_assert_int_eq(rec.acks[i].result, NATS_PUB_ACK_STORED);
		ck_assert_uint_eq(rec.acks[i].stream_seq, (uint64_t)i + 1);
	}
	ck_assert_uint_eq(nats_pub_outstanding(rec.p), 0);
	nats_pub_get_stats(rec.p, &st);
	ck_assert_uint_eq(st.published, N_MSGS);
	ck_assert_uint_eq(st.stored, N_MSGS);
	ck_assert_uint_eq(st.last_stream_seq, N_MSGS);
	ck_assert_int_eq(st.max_payload, 1048576);
	nats_pub_close(rec.p);

	/* Read back: order, subjects, payloads, headers. */
	open_js(&nc, &js);
	for (int i = 0; i < N_MSGS; i++) {
		natsMsg *m = NULL;
		const char *v;
		char want[64];

		ck_assert_int_eq(js_GetMsg(&m, js, "PUB_1000", (uint64_t)i + 1, NULL, NULL),
				 NATS_OK);
		snprintf(want, sizeof(want), "p1k.f.t%d", i % 2);
		ck_assert_str_eq(natsMsg_GetSubject(m), want);
		snprintf(want, sizeof(want), "{\"n\":%d}", i);
		ck_assert_int_eq(natsMsg_GetDataLength(m), (int)strlen(want));
		ck_assert(!memcmp(natsMsg_GetData(m), want, strlen(want)));
		ck_assert_int_eq(natsMsgHeader_Get(m, "Nats-Msg-Id", &v), NATS_OK);
		snprintf(want, sizeof(want), "id-%d", i);
		ck_assert_str_eq(v, want);
		ck_assert_int_eq(natsMsgHeader_Get(m, NATS_HDR_TYPE, &v), NATS_OK);
		ck_assert_str_eq(v, "row");
		ck_assert_int_eq(natsMsgHeader_Get(m, NATS_HDR_SEQ, &v), NATS_OK);
		snprintf(want, sizeof(want), "%d", i + 1);
		ck_assert_str_eq(v, want);
		ck_assert_int_eq(natsMsgHeader_Get(m, NATS_HDR_UPDATED, &v), NATS_OK);
		snprintf(want, sizeof(want), "%lld.%010d", 1700000000000000000LL + i, i % 3);
		ck_assert_str_eq(v, want);
		ck_assert_int_eq(natsMsgHeader_Get(m, NATS_HDR_TABLE, &v), NATS_OK);
		ck_assert_str_eq(v, i % 2 ? "public.t1" : "public.t0");
		natsMsg_Destroy(m);
	}
	nats_conn_close(nc, js);
}
END_TEST

START_TEST(test_duplicates)
{
	char id[32];
	crdb_hlc upd = { 5, 0 };

	open_pub("PUB_DUP", "dup.f.>", true, 64, 5000);
	ck_assert(pump(is_ready, 5000));
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 10; i++) {
			snprintf(id, sizeof(id), "dup-%d", i);
			submit((uint64_t)(round * 10 + i), "dup.f.t", id, false, upd,
			       "t", "x", 1);
		}
	want_acks = 20;
	ck_assert(pump(have_acks, 5000));
	for (int i = 0; i < 20; i++) {
		ck_assert_uint_eq(rec.acks[i].tag, (uint64_t)i);
		ck_assert_int_eq(rec.acks[i].result,
				 i < 10 ? NATS_PUB_ACK_STORED : NATS_PUB_ACK_DUPLICATE);
		/* A duplicate's ack carries the first copy's sequence. */
		ck_assert_uint_eq(rec.acks[i].stream_seq, (uint64_t)(i % 10) + 1);
	}
	nats_pub_close(rec.p);
}
END_TEST

START_TEST(test_too_large)
{
	struct nats_pub_stats st;
	size_t max, headers, len;
	char *big;
	crdb_hlc upd = { 7, 0 };

	open_pub("PUB_BIG", "big.f.>", true, 8, 5000);
	ck_assert(pump(is_ready, 5000));
	nats_pub_get_stats(rec.p, &st);
	max = (size_t)st.max_payload;
	ck_assert_uint_eq(max, 1048576);
	/* The headers of the message below: "NATS/1.0\r\n", each
	 * "Key: Value\r\n", "\r\n". */
	headers = 10 + strlen("Nats-Msg-Id: big-1\r\n") +
		  strlen("Crdb-Type: row\r\n") + strlen("Crdb-Seq: 1\r\n") +
		  strlen("Crdb-Updated: 7.0000000000\r\n") +
		  strlen("Crdb-Table: t\r\n") + 2;
	len = max - headers;
	big = malloc(max + 1);
	memset(big, 'a', max + 1);
	submit(1, "big.f.t", "big-1", false, upd, "t", big, len + 1);
	submit(1, "big.f.t", "big-1", false, upd, "t", big, len);
	want_acks = 2;
	ck_assert(pump(have_acks, 5000));
	ck_assert_int_eq(rec.acks[0].result, NATS_PUB_ACK_TOO_LARGE);
	ck_assert_msg(strstr(rec.acks[0].error, "exceed the server's max_payload 1048576"),
		      "%s", rec.acks[0].error);
	ck_assert_int_eq(rec.acks[1].result, NATS_PUB_ACK_STORED);
	nats_pub_get_stats(rec.p, &st);
	ck_assert_uint_eq(st.too_large, 1);
	free(big);
	nats_pub_close(rec.p);
}
END_TEST

START_TEST(test_high_water)
{
	natsConnection *nc;
	jsCtx *js;
	struct nats_high_water hw;
	char err[256] = "";
	crdb_hlc r1 = { 100, 1 }, res = { 200, 0 }, r2 = { 150, 2 };
	struct nats_stream_spec wide = { "PUB_HW", "hw.>", true, 1, 120000, 0 };

	/* A stream wider than the feed: it holds another feed's too. */
	open_js(&nc, &js);
	ck_assert_msg(nats_stream_ensure(js, &wide, err, sizeof(err)) == 0, "%s", err);
	nats_conn_close(nc, js);
	open_pub("PUB_HW", "hw.f.>", false, 8, 5000);
	ck_assert(pump(is_ready, 5000));
	ck_assert(!rec.hw.any);
	submit(1, "hw.f.t", "hw-1", false, r1, "t", "a", 1);
	submit(2, "hw.f._resolved", "hw-r", true, res, NULL, "r", 1);
	want_acks = 2;
	ck_assert(pump(have_acks, 5000));
	nats_pub_close(rec.p);

	/* A restarted publisher learns the resolved message. */
	open_pub("PUB_HW", "hw.f.>", false, 8, 5000);
	ck_assert(pump(is_ready, 5000));
	ck_assert(rec.hw.any);
	ck_assert(rec.hw.resolved);
	ck_assert_uint_eq(rec.hw.stream_seq, 2);
	ck_assert_int_eq(crdb_hlc_compare(rec.hw.updated, res), 0);
	submit(3, "hw.f.t", "hw-2", false, r2, "t", "b", 1);
	want_acks = 1;
	ck_assert(pump(have_acks, 5000));
	nats_pub_close(rec.p);

	/* Then a row; messages of another feed in the stream do not count. */
	open_js(&nc, &js);
	ck_assert_int_eq(js_Publish(NULL, js, "hw.g.t", "z", 1, NULL, NULL), NATS_OK);
	ck_assert_msg(nats_stream_high_water(js, "PUB_HW", "hw.f.>", &hw, err,
					     sizeof(err)) == 0, "%s", err);
	ck_assert(hw.any);
	ck_assert(!hw.resolved);
	ck_assert_uint_eq(hw.stream_seq, 3);
	ck_assert_int_eq(crdb_hlc_compare(hw.updated, r2), 0);
	/* A feed with nothing in the stream. */
	ck_assert_msg(nats_stream_high_water(js, "PUB_HW", "hw.none.>", &hw, err,
					     sizeof(err)) == 0, "%s", err);
	ck_assert(!hw.any);
	/* A message without our headers is an error naming it. */
	ck_assert_int_eq(nats_stream_high_water(js, "PUB_HW", "hw.g.>", &hw, err,
						sizeof(err)), -1);
	ck_assert_msg(strstr(err, "stream PUB_HW: message 4 on hw.g.t has no") == err,
		      "%s", err);
	nats_conn_close(nc, js);
}
END_TEST

static pid_t node_pid(void)
{
	char path[512];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/node-1.pid", getenv("NATS_ENV_DIR"));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	return (pid_t)pid;
}

/* SIGSTOP the server and wait until it is stopped (a signal is
 * delivered asynchronously: a message sent meanwhile could be stored). */
static void stop_node(pid_t pid)
{
	char path[64], stat[256];

	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		char *end = NULL;

		ck_assert_ptr_nonnull(f);
		if (fgets(stat, sizeof(stat), f))
			end = strrchr(stat, ')');
		fclose(f);
		if (end && end[1] == ' ' && (end[2] == 'T' || end[2] == 't'))
			return;
		usleep(1000);
	}
	ck_abort_msg("nats-server %ld did not stop", (long)pid);
}

/* A server that stops answering: every message gets ACK_ERROR after the
 * ack timeout, and the publisher stays READY. */
START_TEST(test_ack_timeout)
{
	crdb_hlc upd = { 9, 0 };
	pid_t pid;

	open_pub("PUB_TMO", "tmo.f.>", true, 16, 300);
	ck_assert(pump(is_ready, 5000));
	pid = node_pid();
	stop_node(pid);
	for (int i = 0; i < 5; i++)
		submit((uint64_t)i, "tmo.f.t", "tmo", false, upd, "t", "x", 1);
	want_acks = 5;
	pump(have_acks, 3000);
	kill(pid, SIGCONT);
	ck_assert_uint_eq(rec.nacks, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(rec.acks[i].result, NATS_PUB_ACK_ERROR);
		ck_assert_str_eq(rec.acks[i].error, "no acknowledgement within 300 ms");
	}
	ck_assert_int_eq(last_state(), NATS_PUB_READY);
	nats_pub_close(rec.p);
}
END_TEST

/* kill -9 with messages in flight: DOWN, each one ACK_ERROR; restarted:
 * READY again with the stream's high-water mark, and publishing works. */
START_TEST(test_server_killed)
{
	crdb_hlc upd = { 11, 0 };
	char conf[512], id[32];
	struct nats_pub_stats st;
	pid_t pid;
	size_t ready_before;

	open_pub("PUB_KILL", "kill.f.>", true, 64, 30000);
	ck_assert(pump(is_ready, 5000));
	submit(100, "kill.f.t", "kill-first", false, upd, "t", "x", 1);
	want_acks = 1;
	ck_assert(pump(have_acks, 5000));
	ck_assert_int_eq(rec.acks[0].result, NATS_PUB_ACK_STORED);

	pid = node_pid();
	stop_node(pid);
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "kill-%d", i);
		submit((uint64_t)i, "kill.f.t", id, false, upd, "t", "x", 1);
	}
	for (int i = 0; i < 2000; i++) {
		nats_pub_get_stats(rec.p, &st);
		if (st.published == 51)
			break;
		usleep(1000);
	}
	ck_assert_uint_eq(st.published, 51);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ready_before = rec.nstates;
	ck_assert(pump(is_down, 5000));
	ck_assert_str_eq(rec.whys[rec.nstates - 1], "connection to NATS lost");
	want_acks = 51;
	ck_assert(pump(have_acks, 2000));
	for (int i = 1; i < 51; i++) {
		ck_assert_uint_eq(rec.acks[i].tag, (uint64_t)i - 1);
		ck_assert_int_eq(rec.acks[i].result, NATS_PUB_ACK_ERROR);
		/* After DOWN: the loop learns it may not resubmit first. */
		ck_assert_int_eq(rec.ack_state[i], NATS_PUB_DOWN);
	}
	ck_assert_uint_eq(nats_pub_outstanding(rec.p), 0);
	/* Not READY: submitting is refused. */
	{
		struct nats_pub_msg m = { 1, "kill.f.t", "k", false, 1, upd, "t", "x", 1 };
		char err[128] = "";

		ck_assert_int_eq(nats_pub_submit(rec.p, &m, err, sizeof(err)), -1);
		ck_assert_str_eq(err, "nats publisher: not ready");
	}

	snprintf(conf, sizeof(conf), "%s/node-1.conf", getenv("NATS_ENV_DIR"));
	{
		/* Stopped by nats-env through the pid file, like node 1. */
		char *argv[] = { getenv("NATS_SERVER"), W("-c"), conf, NULL };

		spawn_server(argv);
	}
	ck_assert(pump(is_ready, 15000));
	ck_assert_uint_gt(rec.nstates, ready_before + 1);
	ck_assert(rec.hw.any);
	ck_assert_uint_eq(rec.hw.stream_seq, 1);
	nats_pub_get_stats(rec.p, &st);
	ck_assert_uint_eq(st.reconnects, 1);
	submit(200, "kill.f.t", "kill-after", false, upd, "t", "y", 1);
	want_acks = 52;
	ck_assert(pump(have_acks, 5000));
	ck_assert_int_eq(rec.acks[51].result, NATS_PUB_ACK_STORED);
	nats_pub_close(rec.p);
}
END_TEST

/* Close while connecting to nothing: returns, no callback afterwards. */
START_TEST(test_close_while_down)
{
	struct nats_pub_config cfg;
	struct nats_pub_callbacks cb = { on_state, on_acks, &rec };
	struct nats_settings s;
	char err[256] = "";

	memset(&rec, 0, sizeof(rec));
	memset(&s, 0, sizeof(s));
	s.url = W("nats://127.0.0.1:1");
	s.connect_timeout_ms = 500;
	memset(&cfg, 0, sizeof(cfg));
	cfg.conn = &s;
	cfg.stream.stream = "X";
	cfg.stream.subjects = "x.>";
	cfg.max_pending = 4;
	cfg.ack_timeout_ms = 1000;
	rec.p = nats_pub_open(base, &cfg, &cb, err, sizeof(err));
	ck_assert_msg(rec.p != NULL, "%s", err);
	ck_assert(pump(is_down, 3000));
	ck_assert_msg(strstr(rec.whys[rec.nstates - 1], "no server available"),
		      "%s", rec.whys[rec.nstates - 1]);
	nats_pub_close(rec.p);
	rec.nstates = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(rec.nstates, 0);
}
END_TEST

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_nats_pub.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
	char cmd[600];

	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static Suite *nats_pub_suite(void)
{
	Suite *s = suite_create("nats_pub");
	TCase *tc = tcase_create("nats");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream_default_name);
	tcase_add_test(tc, test_nkey_public);
	tcase_add_test(tc, test_connect_errors);
	tcase_add_test(tc, test_logins);
	tcase_add_test(tc, test_tls);
	tcase_add_test(tc, test_stream_ensure);
	tcase_add_test(tc, test_pub_stream_missing);
	tcase_add_test(tc, test_publish_1000);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_high_water);
	tcase_add_test(tc, test_close_while_down);
	tcase_add_test(tc, test_ack_timeout);
	/* Last: it kills the server and leaves a restarted one. */
	tcase_add_test(tc, test_server_killed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nats_pub_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
