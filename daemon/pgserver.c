/*
 * pgserver.c: PostgreSQL protocol 3.0, server side, for the LISTEN
 * endpoint (pgserver.h): framing, start-up, authentication, the simple and
 * extended query protocols, and running the statements pgstatement.c
 * parses.
 */
#include <config.h> /* autoconf's, from the build directory */
#include "pgserver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define PROTO_SSL 80877103
#define PROTO_GSSENC 80877104
#define PROTO_CANCEL 80877102
#define PROTO_30 196608 /* 3 << 16 */
/* Bytes of output one message may produce, and then some. */
#define OUT_LIMIT (1024 * 1024)
#define STRINGIFY(x) #x
#define TEXT_OF(x) STRINGIFY(x)
/* Statements in one simple Query message. */
#define MAX_STATEMENTS 16
#define MAX_VALUE PGSTMT_MAX_VALUE
#define OID_INT4 23
#define OID_TEXT 25

#define ENDPOINT PGSTMT_ENDPOINT
#define UNSUPPORTED PGSTMT_UNSUPPORTED

struct chanset {
	char **names;
	size_t count;
};

struct param {
	char name[PGS_MAX_IDENT + 1]; /* lower case */
	char value[MAX_VALUE];
};

/* A prepared statement or a portal: its name and its statement text. */
struct prepared {
	bool used;
	bool binary; /* portals: results in binary format */
	char name[PGS_MAX_IDENT + 1];
	char *query;
};

struct pgs_session {
	struct pgs_config cfg;
	enum pgs_state state;
	struct textbuf out;
	char user[PGS_MAX_IDENT + 1];
	struct param params[PGS_MAX_PARAMS];  /* SET in the session */
	size_t nparams;
	struct param startup[PGS_MAX_PARAMS]; /* from the start-up packet: what RESET returns to */
	size_t nstartup;
	struct chanset channels;
	struct chanset txn_channels; /* the set as it will be at COMMIT */
	char txn;                    /* ReadyForQuery status: 'I', 'T', 'E' */
	bool skip_till_sync;         /* an extended-protocol error came */
	bool terminated;
	bool tls;                    /* the start-up goes on over TLS */
	struct scram_exchange scram;
	int32_t cancel_pid;
	uint32_t cancel_key;
	char close_reason[200];
	struct prepared statements[PGS_MAX_PREPARED];
	struct prepared portals[PGS_MAX_PREPARED];
};

/* ---- output ---------------------------------------------------------- */

static void put_bytes(struct textbuf *o, const void *p, size_t n)
{
	if (n) /* p may be NULL then: memcpy must not see it */
		textbuf_append(o, p, n);
}

static void put_u8(struct textbuf *o, unsigned v)
{
	char c = (char)v;
	put_bytes(o, &c, 1);
}

static void put_i16(struct textbuf *o, int v)
{
	unsigned char b[2] = {(unsigned char)((unsigned)v >> 8), (unsigned char)v};
	put_bytes(o, b, 2);
}

static void put_i32(struct textbuf *o, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};
	put_bytes(o, b, 4);
}

static void put_str(struct textbuf *o, const char *s)
{
	put_bytes(o, s, strlen(s) + 1);
}

/* Start a message of type; returns where its length goes. */
static size_t msg_begin(struct textbuf *o, char type)
{
	put_u8(o, (unsigned char)type);
	size_t at = o->len;
	put_i32(o, 0);
	return at;
}

static void msg_end(struct textbuf *o, size_t at)
{
	if (o->failed || at + 4 > o->len)
		return;
	uint32_t len = (uint32_t)(o->len - at);
	unsigned char *p = (unsigned char *)o->data + at;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
}

static void fields_message(struct textbuf *o, char type, const char *severity,
			   const char *sqlstate, const char *message)
{
	size_t at = msg_begin(o, type);
	put_u8(o, 'S');
	put_str(o, severity);
	put_u8(o, 'V');
	put_str(o, severity);
	put_u8(o, 'C');
	put_str(o, sqlstate);
	put_u8(o, 'M');
	put_str(o, message);
	put_u8(o, 0);
	msg_end(o, at);
}

void pgs_build_error(struct textbuf *out, const char *severity,
		     const char *sqlstate, const char *message)
{
	fields_message(out, 'E', severity, sqlstate, message);
}

void pgs_build_notice(struct textbuf *out, const char *sqlstate,
		      const char *message)
{
	fields_message(out, 'N', "NOTICE", sqlstate, message);
}

int pgs_build_notification(struct textbuf *out, int32_t pid,
			   const char *channel, const char *payload,
			   size_t payload_len)
{
	size_t chlen = strlen(channel);
	if (chlen == 0 || chlen > PGS_MAX_IDENT || payload_len > PGS_MAX_PAYLOAD ||
	    memchr(payload, '\0', payload_len))
		return -1;
	size_t at = msg_begin(out, 'A');
	put_i32(out, (uint32_t)pid);
	put_str(out, channel);
	put_bytes(out, payload, payload_len);
	put_u8(out, 0);
	msg_end(out, at);
	return out->failed ? -1 : 0;
}

static void param_status(struct textbuf *o, const char *name, const char *value)
{
	size_t at = msg_begin(o, 'S');
	put_str(o, name);
	put_str(o, value);
	msg_end(o, at);
}

static void simple_message(struct textbuf *o, char type)
{
	msg_end(o, msg_begin(o, type));
}

static void command_complete(struct textbuf *o, const char *tag)
{
	size_t at = msg_begin(o, 'C');
	put_str(o, tag);
	msg_end(o, at);
}

static void ready_for_query(struct pgs_session *s)
{
	size_t at = msg_begin(&s->out, 'Z');
	put_u8(&s->out, (unsigned char)s->txn);
	msg_end(&s->out, at);
}

static void auth_message(struct textbuf *o, uint32_t code, const char *data,
			 size_t len)
{
	size_t at = msg_begin(o, 'R');
	put_i32(o, code);
	put_bytes(o, data, len);
	msg_end(o, at);
}

/* ---- session state --------------------------------------------------- */

static void close_session(struct pgs_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void close_session(struct pgs_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->close_reason, sizeof s->close_reason, fmt, ap);
	va_end(ap);
	s->state = PGS_CLOSED;
}

/* FATAL error to the client, then close. */
static void fatal(struct pgs_session *s, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fatal(struct pgs_session *s, const char *sqlstate, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pgs_build_error(&s->out, "FATAL", sqlstate, msg);
	close_session(s, "%s (%s)", msg, sqlstate);
}

static void chanset_clear(struct chanset *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->names[i]);
	free(c->names);
	c->names = NULL;
	c->count = 0;
}

static bool chanset_has(const struct chanset *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->names[i], name) == 0)
			return true;
	return false;
}

static int chanset_add(struct chanset *c, const char *name)
{
	char *copy = strdup(name);
	char **grown = copy ? realloc(c->names, (c->count + 1) * sizeof *grown) : NULL;
	if (!grown) {
		free(copy);
		return -1;
	}
	c->names = grown;
	c->names[c->count++] = copy;
	return 0;
}

static void chanset_remove(struct chanset *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->names[i], name) == 0) {
			free(c->names[i]);
			c->names[i] = c->names[--c->count];
			return;
		}
}

static int chanset_copy(struct chanset *dst, const struct chanset *src)
{
	chanset_clear(dst);
	for (size_t i = 0; i < src->count; i++)
		if (chanset_add(dst, src->names[i]) != 0)
			return -1;
	return 0;
}

struct pgs_session *pgs_new(const struct pgs_config *cfg)
{
	struct pgs_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (!s->cfg.max_message)
		s->cfg.max_message = PGS_DEFAULT_MAX_MESSAGE;
	if (!s->cfg.max_channels)
		s->cfg.max_channels = PGS_DEFAULT_MAX_CHANNELS;
	if (!s->cfg.timezone)
		s->cfg.timezone = "UTC";
	textbuf_init(&s->out, OUT_LIMIT + s->cfg.max_message);
	s->state = PGS_STARTUP;
	s->txn = 'I';
	return s;
}

static void prepared_clear(struct prepared *p)
{
	free(p->query);
	memset(p, 0, sizeof *p);
}

void pgs_free(struct pgs_session *s)
{
	if (!s)
		return;
	chanset_clear(&s->channels);
	chanset_clear(&s->txn_channels);
	for (size_t i = 0; i < PGS_MAX_PREPARED; i++) {
		prepared_clear(&s->statements[i]);
		prepared_clear(&s->portals[i]);
	}
	OPENSSL_cleanse(&s->scram, sizeof s->scram);
	textbuf_free(&s->out);
	free(s);
}

void pgs_tls_started(struct pgs_session *s)
{
	if (s->state != PGS_TLS_ACCEPT)
		return;
	s->tls = true;
	s->state = PGS_STARTUP;
}

enum pgs_state pgs_state(const struct pgs_session *s)
{
	return s->state;
}

struct textbuf *pgs_out(struct pgs_session *s)
{
	return &s->out;
}

void pgs_out_clear(struct pgs_session *s)
{
	s->out.len = 0;
	if (s->out.data)
		s->out.data[0] = '\0';
}

void pgs_cancel_key(const struct pgs_session *s, int32_t *pid, uint32_t *key)
{
	*pid = s->cancel_pid;
	*key = s->cancel_key;
}

bool pgs_cancel_matches(const struct pgs_session *s, int32_t pid, uint32_t key)
{
	unsigned char a[4], b[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (unsigned char)(key >> (8 * i));
		b[i] = (unsigned char)(s->cfg.secret >> (8 * i));
	}
	bool key_same = CRYPTO_memcmp(a, b, sizeof a) == 0;
	return (s->cfg.pid == pid) & key_same;
}

bool pgs_listening(const struct pgs_session *s, const char *channel)
{
	return s->state == PGS_READY && chanset_has(&s->channels, channel);
}

size_t pgs_channel_count(const struct pgs_session *s)
{
	return s->channels.count;
}

const char *pgs_user(const struct pgs_session *s)
{
	return s->user;
}

const char *pgs_close_reason(const struct pgs_session *s)
{
	return s->close_reason;
}

bool pgs_terminated(const struct pgs_session *s)
{
	return s->terminated;
}

/* ---- parameters ------------------------------------------------------ */

/* The parameters reported at start-up; fixed ones cannot be SET to another value. */
static const struct {
	const char *name;
	bool fixed;
} reported[] = {
	{"application_name", false},
	{"client_encoding", true},
	{"DateStyle", false},
	{"default_transaction_read_only", true},
	{"in_hot_standby", true},
	{"integer_datetimes", true},
	{"IntervalStyle", false},
	{"is_superuser", true},
	{"server_encoding", true},
	{"server_version", true},
	{"session_authorization", true},
	{"standard_conforming_strings", true},
	{"TimeZone", false},
};

static struct param *param_find(struct param *set, size_t n, const char *lname)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i].name, lname) == 0)
			return &set[i];
	return NULL;
}

static int reported_index(const char *lname)
{
	for (size_t i = 0; i < sizeof reported / sizeof *reported; i++)
		if (strcasecmp(reported[i].name, lname) == 0)
			return (int)i;
	return -1;
}

/*
 * The value of a parameter by lower-case name: SET, then from the
 * start-up packet, then built in, then "".
 */
static const char *param_value(struct pgs_session *s, const char *lname)
{
	int r = reported_index(lname);
	if (r < 0 || !reported[r].fixed) {
		const struct param *p = param_find(s->params, s->nparams, lname);
		if (!p)
			p = param_find(s->startup, s->nstartup, lname);
		if (p)
			return p->value;
	}
	if (strcmp(lname, "client_encoding") == 0 || strcmp(lname, "server_encoding") == 0)
		return "UTF8";
	if (strcmp(lname, "datestyle") == 0)
		return "ISO, MDY";
	if (strcmp(lname, "intervalstyle") == 0)
		return "postgres";
	if (strcmp(lname, "integer_datetimes") == 0 ||
	    strcmp(lname, "standard_conforming_strings") == 0)
		return "on";
	if (strcmp(lname, "default_transaction_read_only") == 0 ||
	    strcmp(lname, "in_hot_standby") == 0 || strcmp(lname, "is_superuser") == 0)
		return "off";
	if (strcmp(lname, "server_version") == 0)
		return PGS_SERVER_VERSION;
	if (strcmp(lname, "session_authorization") == 0)
		return s->user;
	if (strcmp(lname, "timezone") == 0)
		return s->cfg.timezone;
	return "";
}

/* Set (value non-NULL) or remove a parameter of set. 0, or -1 when full. */
static int param_set(struct param *set, size_t *n, const char *lname, const char *value)
{
	struct param *p = param_find(set, *n, lname);
	if (!value) {
		if (p)
			*p = set[--*n];
		return 0;
	}
	if (!p) {
		if (*n >= PGS_MAX_PARAMS)
			return -1;
		p = &set[(*n)++];
		snprintf(p->name, sizeof p->name, "%s", lname);
	}
	snprintf(p->value, sizeof p->value, "%s", value);
	return 0;
}

/* ---- running statements ---------------------------------------------- */

/* Whether the statement returns a row (RowDescription + DataRow). */
static bool returns_row(const struct pgstmt *st)
{
	return st->kind == PGSTMT_SHOW || st->kind == PGSTMT_SELECT1;
}

static void row_description(struct pgs_session *s, const struct pgstmt *st, bool binary)
{
	size_t at = msg_begin(&s->out, 'T');
	put_i16(&s->out, 1);
	put_str(&s->out, st->kind == PGSTMT_SHOW ? st->name : "?column?");
	put_i32(&s->out, 0);
	put_i16(&s->out, 0);
	put_i32(&s->out, st->kind == PGSTMT_SHOW ? OID_TEXT : OID_INT4);
	put_i16(&s->out, st->kind == PGSTMT_SHOW ? -1 : 4);
	put_i32(&s->out, 0xffffffffu);
	put_i16(&s->out, binary ? 1 : 0);
	msg_end(&s->out, at);
}

static void data_row(struct pgs_session *s, const struct pgstmt *st, bool binary)
{
	size_t at = msg_begin(&s->out, 'D');
	put_i16(&s->out, 1);
	if (st->kind == PGSTMT_SELECT1 && binary) {
		put_i32(&s->out, 4);
		put_i32(&s->out, 1);
	} else {
		const char *v = st->kind == PGSTMT_SELECT1 ? "1" : param_value(s, st->name);
		put_i32(&s->out, (uint32_t)strlen(v));
		put_bytes(&s->out, v, strlen(v));
	}
	msg_end(&s->out, at);
}

/* The channel set LISTEN and UNLISTEN change now: the transaction's, in one. */
static struct chanset *working_channels(struct pgs_session *s)
{
	return s->txn == 'I' ? &s->channels : &s->txn_channels;
}

static int run_set(struct pgs_session *s, const struct pgstmt *st, struct pgstmt_error *e)
{
	int r = reported_index(st->name);
	const char *value = st->kind == PGSTMT_SET ? st->value : NULL;
	if (r >= 0 && reported[r].fixed) {
		/* The client encoding is UTF8 whatever is asked: payloads are sent as they are. */
		if (strcmp(st->name, "client_encoding") == 0)
			return 0;
		if (value && strcasecmp(value, param_value(s, st->name)) == 0)
			return 0;
		if (!value)
			return 0;
		return pgstmt_fail(e, "55P02", ENDPOINT ": parameter \"%s\" cannot be changed", st->name);
	}
	if (param_set(s->params, &s->nparams, st->name, value) != 0)
		return pgstmt_fail(e, "54000", ENDPOINT ": at most %d parameters may be set", PGS_MAX_PARAMS);
	if (r >= 0)
		param_status(&s->out, reported[r].name, param_value(s, st->name));
	return 0;
}

/*
 * Run one parsed statement: its answer without RowDescription (the caller
 * sends that when the protocol wants it). 0, or -1 with e set.
 */
static int run_statement(struct pgs_session *s, const struct pgstmt *st, bool binary,
			 struct pgstmt_error *e)
{
	if (s->txn == 'E' && st->kind != PGSTMT_COMMIT && st->kind != PGSTMT_ROLLBACK)
		return pgstmt_fail(e, "25P02", "current transaction is aborted, commands ignored until end of transaction block");
	switch (st->kind) {
	case PGSTMT_EMPTY:
		simple_message(&s->out, 'I');
		return 0;
	case PGSTMT_LISTEN: {
		struct chanset *c = working_channels(s);
		if (!chanset_has(c, st->name)) {
			if (c->count >= s->cfg.max_channels)
				return pgstmt_fail(e, "54000", ENDPOINT ": a session may listen on at most %zu channels",
						s->cfg.max_channels);
			if (chanset_add(c, st->name) != 0)
				return pgstmt_fail(e, "53200", "out of memory");
		}
		command_complete(&s->out, "LISTEN");
		return 0;
	}
	case PGSTMT_UNLISTEN:
		chanset_remove(working_channels(s), st->name);
		command_complete(&s->out, "UNLISTEN");
		return 0;
	case PGSTMT_UNLISTEN_ALL:
		chanset_clear(working_channels(s));
		command_complete(&s->out, "UNLISTEN");
		return 0;
	case PGSTMT_SET:
	case PGSTMT_RESET_PARAM:
		if (run_set(s, st, e) != 0)
			return -1;
		command_complete(&s->out, st->reset_keyword ? "RESET" : "SET");
		return 0;
	case PGSTMT_SHOW:
		data_row(s, st, binary);
		command_complete(&s->out, "SHOW");
		return 0;
	case PGSTMT_SELECT1:
		data_row(s, st, binary);
		command_complete(&s->out, "SELECT 1");
		return 0;
	case PGSTMT_BEGIN:
		if (s->txn != 'I') {
			fields_message(&s->out, 'N', "WARNING", "25001", "there is already a transaction in progress");
		} else {
			if (chanset_copy(&s->txn_channels, &s->channels) != 0)
				return pgstmt_fail(e, "53200", "out of memory");
			s->txn = 'T';
		}
		command_complete(&s->out, "BEGIN");
		return 0;
	case PGSTMT_COMMIT:
	case PGSTMT_ROLLBACK:
		if (s->txn == 'I') {
			fields_message(&s->out, 'N', "WARNING", "25P01", "there is no transaction in progress");
		} else if (s->txn == 'T' && st->kind == PGSTMT_COMMIT) {
			struct chanset done = s->channels;
			s->channels = s->txn_channels;
			s->txn_channels = done;
		}
		chanset_clear(&s->txn_channels);
		command_complete(&s->out, st->kind == PGSTMT_COMMIT && s->txn != 'E' ? "COMMIT" : "ROLLBACK");
		s->txn = 'I';
		return 0;
	}
	return pgstmt_fail(e, "XX000", "unknown statement kind");
}

static void send_sql_error(struct pgs_session *s, const struct pgstmt_error *e)
{
	pgs_build_error(&s->out, "ERROR", e->sqlstate, e->message);
	if (s->txn == 'T')
		s->txn = 'E';
}

/* ---- messages -------------------------------------------------------- */

/* A cursor over one message's body. */
struct reader {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint32_t get_i32(struct reader *r)
{
	if (r->left < 4) {
		r->bad = true;
		return 0;
	}
	uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
		     (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return v;
}

static int get_i16(struct reader *r)
{
	if (r->left < 2) {
		r->bad = true;
		return 0;
	}
	int v = (int16_t)((unsigned)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return v;
}

/* A NUL-terminated string in the message (NULL, bad set, when there is none). */
static const char *get_str(struct reader *r, size_t *len)
{
	const unsigned char *nul = r->bad ? NULL : memchr(r->p, 0, r->left);
	if (!nul) {
		r->bad = true;
		return NULL;
	}
	const char *s = (const char *)r->p;
	size_t n = (size_t)(nul - r->p);
	if (len)
		*len = n;
	r->p += n + 1;
	r->left -= n + 1;
	return s;
}

static const unsigned char *get_bytes(struct reader *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

static void send_startup_answers(struct pgs_session *s)
{
	auth_message(&s->out, 0, NULL, 0);
	for (size_t i = 0; i < sizeof reported / sizeof *reported; i++) {
		char lname[PGS_MAX_IDENT + 1];
		snprintf(lname, sizeof lname, "%s", reported[i].name);
		pgstmt_lower(lname);
		param_status(&s->out, reported[i].name, param_value(s, lname));
	}
	size_t at = msg_begin(&s->out, 'K');
	put_i32(&s->out, (uint32_t)s->cfg.pid);
	put_i32(&s->out, s->cfg.secret);
	msg_end(&s->out, at);
	s->state = PGS_READY;
	ready_for_query(s);
}

static void startup_packet(struct pgs_session *s, uint32_t code, struct reader *r)
{
	if (code >> 16 != 3) {
		fatal(s, "0A000", "unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
		      code >> 16, code & 0xffff);
		return;
	}
	char unknown_opts[PGS_MAX_STARTUP];
	size_t unknown_len = 0;
	int nunknown = 0;
	const char *user = NULL;
	for (;;) {
		size_t klen, vlen;
		const char *key = get_str(r, &klen);
		if (!key || klen == 0)
			break;
		const char *value = get_str(r, &vlen);
		if (!value)
			break;
		if (strncmp(key, "_pq_.", 5) == 0) {
			memcpy(unknown_opts + unknown_len, key, klen + 1);
			unknown_len += klen + 1;
			nunknown++;
		} else if (strcmp(key, "user") == 0) {
			user = value;
		} else if (strcmp(key, "replication") == 0) {
			if (strcmp(value, "false") != 0 && strcmp(value, "off") != 0 &&
			    strcmp(value, "0") != 0 && strcmp(value, "no") != 0) {
				fatal(s, "08P01", ENDPOINT ": replication connections are not supported");
				return;
			}
		} else if (strcmp(key, "database") != 0 && strcmp(key, "options") != 0 &&
			   strcmp(key, "client_encoding") != 0 && klen <= PGS_MAX_IDENT &&
			   vlen < MAX_VALUE) {
			/* Other settings as SET would take them, e.g. application_name. */
			char lname[PGS_MAX_IDENT + 1];
			snprintf(lname, sizeof lname, "%s", key);
			pgstmt_lower(lname);
			int ri = reported_index(lname);
			if (ri < 0 || !reported[ri].fixed)
				(void)param_set(s->startup, &s->nstartup, lname, value);
		}
	}
	if (r->bad || r->left != 0) {
		fatal(s, "08P01", ENDPOINT ": invalid start-up packet layout: expected a list of name/value pairs ending with an empty name");
		return;
	}
	if (!user || !*user) {
		fatal(s, "28000", "no PostgreSQL user name specified in startup packet");
		return;
	}
	if (strlen(user) > PGS_MAX_IDENT) {
		fatal(s, "28000", ENDPOINT ": user name longer than %d bytes", PGS_MAX_IDENT);
		return;
	}
	if (s->cfg.tls_required && !s->tls) {
		fatal(s, "28000", ENDPOINT ": TLS required");
		return;
	}
	snprintf(s->user, sizeof s->user, "%s", user);
	if ((code & 0xffff) != 0 || nunknown) {
		size_t at = msg_begin(&s->out, 'v');
		put_i32(&s->out, PROTO_30);
		put_i32(&s->out, (uint32_t)nunknown);
		put_bytes(&s->out, unknown_opts, unknown_len);
		msg_end(&s->out, at);
	}
	switch (s->cfg.auth) {
	case PGS_AUTH_TRUST:
		send_startup_answers(s);
		return;
	case PGS_AUTH_REFUSE:
		fatal(s, s->cfg.refuse_sqlstate ? s->cfg.refuse_sqlstate : "28000", "%s",
		      s->cfg.refuse_reason ? s->cfg.refuse_reason
							     : ENDPOINT ": connection refused");
		return;
	case PGS_AUTH_SCRAM:
		scram_exchange_init(&s->scram, scram_users_find(s->cfg.users, s->user), s->user);
		auth_message(&s->out, 10, "SCRAM-SHA-256\0", 15);
		s->state = PGS_SASL_INITIAL;
		return;
	}
}

static void password_failed(struct pgs_session *s)
{
	fatal(s, "28P01", "password authentication failed for user \"%s\"", s->user);
}

static void sasl_message(struct pgs_session *s, struct reader *r)
{
	char out[512];
	char why[300] = "";
	if (s->state == PGS_SASL_INITIAL) {
		const char *mech = get_str(r, NULL);
		uint32_t len = get_i32(r);
		const unsigned char *data = len == 0xffffffffu ? NULL : get_bytes(r, len);
		if (r->bad || r->left || !data) {
			fatal(s, "08P01", "malformed SASLInitialResponse message");
			return;
		}
		if (strcmp(mech, "SCRAM-SHA-256") != 0) {
			fatal(s, "28000", "SASL authentication mechanism \"%s\" is not supported: use SCRAM-SHA-256", mech);
			return;
		}
		if (scram_server_first(&s->scram, (const char *)data, len, s->cfg.test_server_nonce,
				       out, sizeof out, why, sizeof why) != 0) {
			fatal(s, "08P01", "%s", why);
			return;
		}
		auth_message(&s->out, 11, out, strlen(out));
		s->state = PGS_SASL_FINAL;
		return;
	}
	int ok = scram_server_final(&s->scram, (const char *)r->p, r->left, out, sizeof out,
				    why, sizeof why);
	if (ok < 0) {
		fatal(s, "08P01", "%s", why);
		return;
	}
	if (ok == 0) {
		password_failed(s);
		return;
	}
	auth_message(&s->out, 12, out, strlen(out));
	send_startup_answers(s);
}

static void simple_query(struct pgs_session *s, struct reader *r)
{
	size_t len;
	const char *q = get_str(r, &len);
	struct pgstmt sts[MAX_STATEMENTS];
	struct pgstmt_error e;
	if (!q || r->left) {
		fatal(s, "08P01", "malformed Query message");
		return;
	}
	int n = pgstmt_parse(q, len, sts, sizeof sts / sizeof *sts,
			    ENDPOINT ": at most " TEXT_OF(MAX_STATEMENTS) " statements in one query", &e);
	if (n < 0) {
		send_sql_error(s, &e);
	} else {
		for (int i = 0; i < n; i++) {
			if (returns_row(&sts[i]) && s->txn != 'E')
				row_description(s, &sts[i], false);
			if (run_statement(s, &sts[i], false, &e) != 0) {
				send_sql_error(s, &e);
				break;
			}
		}
	}
	ready_for_query(s);
}

static struct prepared *prepared_find(struct prepared *set, const char *name)
{
	for (size_t i = 0; i < PGS_MAX_PREPARED; i++)
		if (set[i].used && strcmp(set[i].name, name) == 0)
			return &set[i];
	return NULL;
}

/* A slot for name: the existing one when replace, else a free one. */
static struct prepared *prepared_slot(struct prepared *set, const char *name,
				      bool replace, struct pgstmt_error *e, const char *what)
{
	struct prepared *p = prepared_find(set, name);
	if (p) {
		if (!replace)
			return pgstmt_fail(e, what[0] == 's' ? "42P05" : "42P03",
					"%s \"%s\" already exists", what, name), NULL;
		prepared_clear(p);
		return p;
	}
	for (size_t i = 0; i < PGS_MAX_PREPARED; i++)
		if (!set[i].used)
			return &set[i];
	return pgstmt_fail(e, "54000", ENDPOINT ": at most %d %ss per session", PGS_MAX_PREPARED, what),
	       NULL;
}

static int parse_one(const char *q, size_t len, struct pgstmt *st, struct pgstmt_error *e)
{
	return pgstmt_parse(q, len, st, 1,
			   "cannot insert multiple commands into a prepared statement", e) < 0 ? -1 : 0;
}

static int ext_parse(struct pgs_session *s, struct reader *r, struct pgstmt_error *e)
{
	size_t nlen = 0, qlen = 0;
	const char *name = get_str(r, &nlen);
	const char *q = get_str(r, &qlen);
	int ntypes = get_i16(r);
	if (!r->bad)
		get_bytes(r, (size_t)(ntypes < 0 ? 0 : ntypes) * 4);
	if (r->bad || r->left || ntypes < 0 || nlen > PGS_MAX_IDENT)
		return pgstmt_fail(e, "08P01", "malformed Parse message");
	if (ntypes > 0)
		return pgstmt_fail(e, "0A000", ENDPOINT ": statement parameters are not supported");
	struct pgstmt st;
	if (parse_one(q, qlen, &st, e) != 0)
		return -1;
	struct prepared *p = prepared_slot(s->statements, name, nlen == 0, e, "statement");
	if (!p)
		return -1;
	p->query = strdup(q);
	if (!p->query)
		return pgstmt_fail(e, "53200", "out of memory");
	p->used = true;
	snprintf(p->name, sizeof p->name, "%s", name);
	simple_message(&s->out, '1');
	return 0;
}

static int ext_bind(struct pgs_session *s, struct reader *r, struct pgstmt_error *e)
{
	size_t plen = 0, slen = 0;
	const char *portal = get_str(r, &plen);
	const char *stmt = get_str(r, &slen);
	int nformats = get_i16(r);
	if (!r->bad && nformats > 0)
		get_bytes(r, (size_t)nformats * 2);
	int nparams = get_i16(r);
	for (int i = 0; i < nparams && !r->bad; i++) {
		uint32_t len = get_i32(r);
		if (len != 0xffffffffu)
			get_bytes(r, len);
	}
	int nresults = get_i16(r);
	int first_result = 0;
	for (int i = 0; i < nresults && !r->bad; i++) {
		int f = get_i16(r);
		if (i == 0)
			first_result = f;
	}
	if (r->bad || r->left || nformats < 0 || nparams < 0 || nresults < 0 ||
	    plen > PGS_MAX_IDENT)
		return pgstmt_fail(e, "08P01", "malformed Bind message");
	struct prepared *st = prepared_find(s->statements, stmt);
	if (!st)
		return pgstmt_fail(e, "26000", "prepared statement \"%s\" does not exist", stmt);
	if (nparams != 0)
		return pgstmt_fail(e, "08P01", "bind message supplies %d parameters, but prepared statement \"%s\" requires 0",
				nparams, stmt);
	if (s->txn == 'E')
		return pgstmt_fail(e, "25P02", "current transaction is aborted, commands ignored until end of transaction block");
	struct prepared *p = prepared_slot(s->portals, portal, plen == 0, e, "portal");
	if (!p)
		return -1;
	p->query = strdup(st->query);
	if (!p->query)
		return pgstmt_fail(e, "53200", "out of memory");
	p->used = true;
	p->binary = first_result == 1;
	snprintf(p->name, sizeof p->name, "%s", portal);
	simple_message(&s->out, '2');
	return 0;
}

static int ext_describe(struct pgs_session *s, struct reader *r, struct pgstmt_error *e)
{
	const unsigned char *kind = get_bytes(r, 1);
	const char *name = get_str(r, NULL);
	if (r->bad || r->left || (*kind != 'S' && *kind != 'P'))
		return pgstmt_fail(e, "08P01", "malformed Describe message");
	struct prepared *p = prepared_find(*kind == 'S' ? s->statements : s->portals, name);
	if (!p)
		return pgstmt_fail(e, *kind == 'S' ? "26000" : "34000", "%s \"%s\" does not exist",
				*kind == 'S' ? "prepared statement" : "portal", name);
	struct pgstmt st;
	if (parse_one(p->query, strlen(p->query), &st, e) != 0)
		return -1;
	if (*kind == 'S') {
		size_t at = msg_begin(&s->out, 't');
		put_i16(&s->out, 0);
		msg_end(&s->out, at);
	}
	if (returns_row(&st))
		row_description(s, &st, *kind == 'P' && p->binary);
	else
		simple_message(&s->out, 'n');
	return 0;
}

static int ext_execute(struct pgs_session *s, struct reader *r, struct pgstmt_error *e)
{
	const char *name = get_str(r, NULL);
	(void)get_i32(r); /* row limit: at most one row anyway */
	if (r->bad || r->left)
		return pgstmt_fail(e, "08P01", "malformed Execute message");
	struct prepared *p = prepared_find(s->portals, name);
	if (!p)
		return pgstmt_fail(e, "34000", "portal \"%s\" does not exist", name);
	struct pgstmt st;
	if (parse_one(p->query, strlen(p->query), &st, e) != 0)
		return -1;
	return run_statement(s, &st, p->binary, e);
}

static int ext_close(struct pgs_session *s, struct reader *r, struct pgstmt_error *e)
{
	const unsigned char *kind = get_bytes(r, 1);
	const char *name = get_str(r, NULL);
	if (r->bad || r->left || (*kind != 'S' && *kind != 'P'))
		return pgstmt_fail(e, "08P01", "malformed Close message");
	struct prepared *p = prepared_find(*kind == 'S' ? s->statements : s->portals, name);
	if (p)
		prepared_clear(p);
	simple_message(&s->out, '3');
	return 0;
}

static void query_message(struct pgs_session *s, char type, struct reader *r)
{
	struct pgstmt_error e;
	int rc = 0;
	if (type == 'X') {
		s->terminated = true;
		close_session(s, "the client terminated the session");
		return;
	}
	if (type == 'S') {
		s->skip_till_sync = false;
		ready_for_query(s);
		return;
	}
	if (s->skip_till_sync)
		return;
	switch (type) {
	case 'Q':
		simple_query(s, r);
		return;
	case 'P':
		rc = ext_parse(s, r, &e);
		break;
	case 'B':
		rc = ext_bind(s, r, &e);
		break;
	case 'D':
		rc = ext_describe(s, r, &e);
		break;
	case 'E':
		rc = ext_execute(s, r, &e);
		break;
	case 'C':
		rc = ext_close(s, r, &e);
		break;
	case 'H':
		return;
	case 'F':
		rc = pgstmt_fail(&e, "0A000", UNSUPPORTED " (no function calls)");
		break;
	case 'd': case 'c': case 'f':
		/* COPY data outside COPY: ignored, as PostgreSQL does. */
		return;
	default:
		fatal(s, "08P01", "invalid frontend message type %u", (unsigned char)type);
		return;
	}
	if (rc != 0) {
		send_sql_error(s, &e);
		s->skip_till_sync = true;
	}
}

static size_t startup_input(struct pgs_session *s, const unsigned char *data, size_t len)
{
	if (len < 4)
		return 0;
	uint32_t plen = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
			(uint32_t)data[2] << 8 | data[3];
	if (plen < 8 || plen > PGS_MAX_STARTUP) {
		fatal(s, "08P01", ENDPOINT ": invalid length of start-up packet (%u bytes; this is a PostgreSQL protocol 3.0 server)",
		      plen);
		return len;
	}
	if (len < plen)
		return 0;
	struct reader r = {data + 4, plen - 4, false};
	uint32_t code = get_i32(&r);
	/* Over TLS, a second request falls through to startup_packet and
	 * is refused as an unsupported protocol, as PostgreSQL does. */
	if ((code == PROTO_SSL || code == PROTO_GSSENC) && !s->tls) {
		if (plen != 8) {
			fatal(s, "08P01", "invalid length of start-up packet");
			return len;
		}
		if (code == PROTO_SSL && s->cfg.tls_offered) {
			/* Bytes sent before 'S' would be taken as plain text:
			 * PostgreSQL's answer to CVE-2021-23214. */
			if (len > plen) {
				fatal(s, "08P01", "received unencrypted data after SSL request");
				return len;
			}
			put_u8(&s->out, 'S');
			s->state = PGS_TLS_ACCEPT;
			return plen;
		}
		put_u8(&s->out, 'N');
		return plen;
	}
	if (code == PROTO_CANCEL) {
		if (plen != 16) {
			fatal(s, "08P01", "invalid length of cancel request packet");
			return len;
		}
		s->cancel_pid = (int32_t)get_i32(&r);
		s->cancel_key = get_i32(&r);
		s->state = PGS_CANCEL;
		close_session(s, "cancel request");
		s->state = PGS_CANCEL;
		return plen;
	}
	startup_packet(s, code, &r);
	return plen;
}

size_t pgs_input(struct pgs_session *s, const unsigned char *data, size_t len)
{
	size_t used = 0;
	while (s->state != PGS_CLOSED && s->state != PGS_CANCEL &&
	       s->state != PGS_TLS_ACCEPT && !s->out.failed) {
		if (s->state == PGS_STARTUP) {
			size_t n = startup_input(s, data + used, len - used);
			if (n == 0)
				break;
			used += n;
			continue;
		}
		if (len - used < 5)
			break;
		const unsigned char *m = data + used;
		char type = (char)m[0];
		uint32_t mlen = (uint32_t)m[1] << 24 | (uint32_t)m[2] << 16 |
				(uint32_t)m[3] << 8 | m[4];
		if (mlen < 4) {
			fatal(s, "08P01", "invalid message length %u", mlen);
			used = len;
			break;
		}
		if (mlen - 4 > s->cfg.max_message) {
			fatal(s, "08P01", ENDPOINT ": message of %u bytes is over the limit of %zu",
			      mlen - 4, s->cfg.max_message);
			used = len;
			break;
		}
		if (len - used < (size_t)mlen + 1)
			break;
		struct reader r = {m + 5, mlen - 4, false};
		used += (size_t)mlen + 1;
		if (s->state == PGS_SASL_INITIAL || s->state == PGS_SASL_FINAL) {
			if (type != 'p') {
				fatal(s, "08P01", "expected SASL response, got message type %u",
				      (unsigned char)type);
				break;
			}
			sasl_message(s, &r);
		} else {
			query_message(s, type, &r);
		}
	}
	if (s->out.failed && s->state != PGS_CLOSED)
		close_session(s, "output over its limit or out of memory");
	return used;
}
