/*
 * session.c: the life of one crdbsim client session (see session.h):
 * creation and teardown, the input loop that feeds client messages to
 * startup.c and statements.c with bounded buffers, the switch to TLS,
 * deferred work, and the relay of PostgreSQL's answers back to the client (filtered,
 * reworded and, for RowDescription, refilled where CockroachDB differs).
 */
#include "config.h"

#include "session.h"

#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "proto.h"
#include "rowdesc.h"

/* ---- helpers ---- */

struct evbuffer *sess_backend_out(struct sim_session *s)
{
	return bufferevent_get_output(s->backend);
}


struct evbuffer *sess_out(struct sim_session *s)
{
	return bufferevent_get_output(s->client);
}

int64_t sess_now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void sess_kick(struct sim_session *s)
{
	if (!s->dead)
		event_active(s->tick, EV_TIMEOUT, 1);
}

void sess_set_running(struct sim_session *s, const char *sql)
{
	char *q = strdup(sql);
	if (!q)
		return;
	free(s->query);
	s->query = q;
	sim_new_id(s->srv, s->query_id);
	s->start_us = sess_now_us();
	s->running = true;
}

void sess_clear_running(struct sim_session *s)
{
	s->running = false;
	free(s->query);
	s->query = NULL;
	s->query_id[0] = '\0';
}

/* Bytes still to reach the client's socket: under TLS the filter's
 * output and the encrypted bytes in the socket bufferevent below it. */
static size_t client_pending(struct sim_session *s)
{
	size_t n = evbuffer_get_length(sess_out(s));
	struct bufferevent *under = bufferevent_get_underlying(s->client);
	if (under)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/* S_CLOSING: wait for the last bytes to be written, but not forever. A
 * plain socket's write callback says when it is drained; below a TLS
 * filter nobody tells us, so poll. */
static void closing_wait(struct sim_session *s)
{
	static const struct timeval poll_tls = {0, 20000};
	struct timeval left;
	if (client_pending(s) == 0 || sess_now_us() >= s->close_by_us) {
		sess_close(s);
		return;
	}
	if (s->tls) {
		left = poll_tls;
	} else {
		int64_t us = s->close_by_us - sess_now_us();
		left.tv_sec = (time_t)(us / 1000000);
		left.tv_usec = (suseconds_t)(us % 1000000);
	}
	if (event_add(s->tick, &left) != 0)
		sess_close(s);
}

/* A fatal error to the client, then close once it is written. */
void sess_fatal(struct sim_session *s, const char *sqlstate,
		const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sim_log("session %s (%s): %s", s->session_id, s->peer, msg);
	if (s->in_feed && s->feed) {
		simfeed_stop(s->feed);
		s->feed = NULL;
	}
	s->in_feed = false;
	if (proto_error(sess_out(s), V_FIELD(s), "FATAL", sqlstate, msg, NULL) != 0) {
		sess_close(s);
		return;
	}
	s->state = S_CLOSING;
	bufferevent_disable(s->client, EV_READ);
	if (s->backend)
		bufferevent_disable(s->backend, EV_READ);
	/* A client that never reads its last error is closed anyway. */
	s->close_by_us = sess_now_us() + 5000000;
	closing_wait(s);
}

void sess_ready(struct sim_session *s)
{
	if (proto_ready(sess_out(s), s->txn_status) != 0)
		sess_fatal(s, "53200", "out of memory");
	if (s->expected == 0)
		sess_clear_running(s);
}

void sess_error(struct sim_session *s, const char *sqlstate,
		const char *message, const char *hint)
{
	if (proto_error(sess_out(s), V_FIELD(s), "ERROR", sqlstate, message,
			hint) != 0)
		sess_fatal(s, "53200", "out of memory");
}

/* The end of a statement crdbsim answered: simple protocol gets
 * ReadyForQuery; extended protocol skips to Sync after an error. */
void sess_local_done(struct sim_session *s, bool extended, bool failed)
{
	if (!extended)
		sess_ready(s);
	else if (failed)
		s->skip_until_sync = true;
}

/* Make PostgreSQL finish what was forwarded so that crdbsim may answer
 * the next message itself: returns true when that is already so. */
bool sess_settle_backend(struct sim_session *s)
{
	if (s->batch_forwarded) {
		if (proto_simple(bufferevent_get_output(s->backend), 'S') != 0) {
			sess_fatal(s, "53200", "out of memory");
			return false;
		}
		s->expected++;
		s->swallow++;
		s->batch_forwarded = false;
	}
	return s->expected == 0;
}

/* ---- the session list and accessors ---- */

const char *sim_session_id(const struct sim_session *s)
{
	return s->session_id;
}

const char *sim_session_query_id(const struct sim_session *s)
{
	return s->running ? s->query_id : NULL;
}

bool sim_session_key(const struct sim_session *s, uint32_t *pid,
		     uint32_t *secret)
{
	*pid = s->key_pid;
	*secret = s->key_secret;
	return s->has_key;
}

int sim_session_version(const struct sim_session *s)
{
	return s->version;
}

struct sim_session *sim_session_next(const struct sim_session *s)
{
	return s->next;
}

bool sim_session_has_feed(const struct sim_session *s)
{
	return s->in_feed;
}

bool sim_session_running(const struct sim_session *s, struct sim_running *r)
{
	if (!s->running || !s->query)
		return false;
	r->query_id = s->query_id;
	r->query = s->query;
	r->session_id = s->session_id;
	r->user = s->user ? s->user : "";
	r->client_address = s->peer;
	r->application_name = s->application_name ? s->application_name : "";
	r->start_us = s->start_us;
	return true;
}

/* ---- teardown ---- */

void sess_free_local(struct local_obj *o)
{
	for (int i = 0; i < o->nparams; i++)
		free(o->params[i]);
	free(o->params);
	free(o->name);
	sim_stmt_clear(&o->st);
	free(o);
}

static void free_struct_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	free(arg);
}

void sess_close(struct sim_session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	if (s->feed)
		simfeed_stop(s->feed);
	s->feed = NULL;
	s->in_feed = false;
	if (s->prev)
		s->prev->next = s->next;
	else
		s->srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->client)
		bufferevent_free(s->client);
	if (s->backend)
		bufferevent_free(s->backend);
	if (s->pg_ev)
		event_free(s->pg_ev);
	if (s->tick)
		event_free(s->tick);
	if (s->cancel_retry)
		event_free(s->cancel_retry);
	if (s->pg_cancel && s->expected > 0) {
		/* PostgreSQL would run an orphaned statement to its end. */
		char errbuf[256];
		if (!PQcancel(s->pg_cancel, errbuf, sizeof errbuf))
			sim_log("cancel to PostgreSQL failed: %s", errbuf);
	}
	if (s->pg)
		PQfinish(s->pg);
	if (s->pg_cancel)
		PQfreeCancel(s->pg_cancel);
	while (s->locals) {
		struct local_obj *o = s->locals;
		s->locals = o->next;
		sess_free_local(o);
	}
	while (s->relayed) {
		struct relay_stmt *r = s->relayed;
		s->relayed = r->next;
		free(r->name);
		free(r->sql);
		free(r);
	}
	free(s->user);
	free(s->database);
	free(s->application_name);
	free(s->client_encoding);
	free(s->pg_options);
	free(s->query);
	/* The struct itself goes after this loop pass: callers up the stack
	 * may still look at s->dead. */
	static const struct timeval zero = {0, 0};
	if (event_base_once(s->srv->base, -1, EV_TIMEOUT, free_struct_cb, s,
			    &zero) != 0)
		sim_log("cannot schedule a session free: leaking it");
}

void sim_session_free(struct sim_session *s)
{
	sess_close(s);
}

void sim_session_kill(struct sim_session *s)
{
	sess_close(s);
}

void sim_session_shutdown(struct sim_session *s)
{
	/* §7: node draining; 57P01 then the connection closes. */
	sess_fatal(s, "57P01", "server is shutting down");
}

/* ---- the input loop ---- */

static void session_process_messages(struct sim_session *s);

/*
 * Handle what the client sent, then bound what waits: when a complete
 * message cannot go on (PostgreSQL busy or slow) and more than
 * SIM_RELAY_HIGH_WATER is queued, stop reading the client until it can.
 * An incomplete message is always read to its end (at most 1 GiB).
 */
void sess_process(struct sim_session *s)
{
	session_process_messages(s);
	if (s->dead || s->state != S_READY)
		return;
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t queued = evbuffer_get_length(in);
	bool blocked = false;
	if (queued > SIM_RELAY_HIGH_WATER) {
		unsigned char hdr[5];
		evbuffer_copyout(in, hdr, 5);
		uint32_t len = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
			       ((uint32_t)hdr[3] << 8) | hdr[4];
		blocked = (size_t)len + 1 <= queued;
	}
	if (blocked)
		bufferevent_disable(s->client, EV_READ);
	else
		bufferevent_enable(s->client, EV_READ);
}

static void session_process_messages(struct sim_session *s)
{
	while (!s->dead) {
		if (s->state == S_STARTUP) {
			if (startup_handle(s) != H_DONE)
				return;
			continue;
		}
		if (s->state != S_READY && s->state != S_PASSWORD)
			return;
		if (s->backend &&
		    evbuffer_get_length(sess_backend_out(s)) > SIM_RELAY_HIGH_WATER)
			return;         /* sess_backend_write_cb resumes */
		struct evbuffer *in = bufferevent_get_input(s->client);
		unsigned char hdr[5];
		if (evbuffer_copyout(in, hdr, 5) < 5)
			return;
		uint32_t len = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
			       ((uint32_t)hdr[3] << 8) | hdr[4];
		if (len < 4 || len > SIM_MAX_MESSAGE) {
			sess_fatal(s, "08P01", "invalid message length %u", len);
			return;
		}
		size_t total = (size_t)len + 1;
		if (evbuffer_get_length(in) < total)
			return;
		int rc = s->state == S_PASSWORD ?
			 startup_password(s, (char)hdr[0], total) :
			 stmt_handle_message(s, (char)hdr[0], total);
		if (rc != H_DONE)
			return;
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sim_session *s = arg;
	if (s->state == S_CLOSING) {
		closing_wait(s);
		return;
	}
	if (s->feed_done) {
		/* The engine ended the feed: free it outside its callback. */
		s->feed_done = false;
		if (s->feed)
			simfeed_stop(s->feed);
		s->feed = NULL;
	}
	sess_process(s);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	sess_process(arg);
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct sim_session *s = arg;
	size_t queued = evbuffer_get_length(bufferevent_get_output(bev));
	if (s->state == S_CLOSING) {
		if (queued == 0)
			closing_wait(s);
		return;
	}
	if (s->feed_paused && s->feed && queued < SIM_FEED_HIGH_WATER) {
		s->feed_paused = false;
		simfeed_resume(s->feed);
		if (s->dead)
			return;
	}
	if (s->relay_paused && queued < SIM_RELAY_HIGH_WATER) {
		s->relay_paused = false;
		bufferevent_enable(s->backend, EV_READ);
		sess_backend_read_cb(s->backend, s);
	}
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sim_session *s = arg;
	if (s->tls && (what & BEV_EVENT_ERROR)) {
		/* A failed handshake (no or a bad client certificate, a
		 * client that does not trust us) says why only here. */
		unsigned long e;
		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			char buf[256];
			if (ERR_GET_LIB(e) == 0)
				continue;       /* libevent's errno marker */
			ERR_error_string_n(e, buf, sizeof buf);
			sim_log("session %s (%s): TLS: %s", s->session_id,
				s->peer, buf);
		}
		/* The alert that tells the client why is still queued in
		 * the socket bufferevent: let it go out first. */
		if (s->state != S_CLOSING) {
			struct bufferevent *under = bufferevent_get_underlying(bev);
			s->state = S_CLOSING;
			bufferevent_disable(bev, EV_READ);
			if (under)
				bufferevent_enable(under, EV_WRITE);
			s->close_by_us = sess_now_us() + 1000000;
		}
		closing_wait(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		sess_close(s);
}

int sess_start_tls(struct sim_session *s, SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return -1;
	struct bufferevent *under = s->client;
	struct bufferevent *tls = bufferevent_openssl_filter_new(
		s->srv->base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		return -1;
	}
	/* From here freeing the filter frees the socket bufferevent. */
	s->client = tls;
	s->tls = true;
	/* Clients close without close_notify; that is an EOF, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	/* Bound what waits below the filter: the filter encrypts only up to
	 * the socket's write high-water mark, and the socket reads only up
	 * to its read high-water mark while the session is not reading. */
	bufferevent_setwatermark(under, EV_WRITE, SIM_FEED_HIGH_WATER / 4,
				 SIM_FEED_HIGH_WATER);
	bufferevent_setwatermark(under, EV_READ, 0, SIM_RELAY_HIGH_WATER);
	bufferevent_setcb(tls, client_read_cb, client_write_cb,
			  client_event_cb, s);
	bufferevent_setwatermark(tls, EV_WRITE, SIM_FEED_HIGH_WATER / 2, 0);
	return bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* ---- PostgreSQL -> client ---- */

/* Names of ParameterStatus messages that pass through after start-up
 * (a SET of them reports the new value, as CockroachDB does). */
static bool pass_parameter(const char *name)
{
	static const char *const names[] = {
		"application_name", "DateStyle", "IntervalStyle", "TimeZone",
		"client_encoding", "standard_conforming_strings", NULL,
	};
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* PostgreSQL's 57014 errors, reworded as CockroachDB's (§2.5, §7):
 * 0 when sent reworded, 1 when msg is another error, -1 out of memory. */
static int relay_cancel_error(struct sim_session *s, const char *msg,
			      size_t total)
{
	struct preader r;
	preader_init(&r, msg + 5, total - 5);
	bool is_cancel = false, timeout = false;
	for (;;) {
		uint8_t f = preader_byte(&r);
		if (r.bad || f == 0)
			break;
		const char *v = preader_cstr(&r);
		if (f == 'C' && !strcmp(v, "57014"))
			is_cancel = true;
		if (f == 'M' && strstr(v, "statement timeout"))
			timeout = true;
	}
	if (!is_cancel)
		return 1;
	return proto_error(sess_out(s), V_FIELD(s), "ERROR", "57014",
			   timeout ? "query execution canceled due to statement timeout"
				   : "query execution canceled", NULL) == 0 ? 0 : -1;
}

void sess_backend_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool became_idle = false;
	while (!s->dead && s->state != S_CLOSING) {
		if (evbuffer_get_length(sess_out(s)) > SIM_RELAY_HIGH_WATER) {
			s->relay_paused = true;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		unsigned char hdr[5];
		if (evbuffer_copyout(in, hdr, 5) < 5)
			break;
		uint32_t len = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
			       ((uint32_t)hdr[3] << 8) | hdr[4];
		if (len < 4 || len > SIM_MAX_MESSAGE) {
			sess_fatal(s, "08006", "crdbsim: PostgreSQL sent a bad message");
			return;
		}
		size_t total = (size_t)len + 1;
		if (evbuffer_get_length(in) < total)
			break;
		char type = (char)hdr[0];
		if (type == 'Z' || type == 'S' || type == 'E' || type == 'T') {
			unsigned char *raw = evbuffer_pullup(in, (ssize_t)total);
			const char *msg = (const char *)raw;
			if (!msg) {
				sess_fatal(s, "53200", "out of memory");
				return;
			}
			if (type == 'Z') {
				if (total >= 6)
					s->txn_status = msg[5];
				bool swallow = s->swallow > 0 && s->expected == 1;
				if (s->expected > 0)
					s->expected--;
				if (swallow) {
					s->swallow--;
					evbuffer_drain(in, total);
				} else if (evbuffer_remove_buffer(in, sess_out(s), total) != (int)total) {
					sess_fatal(s, "53200", "out of memory");
					return;
				}
				if (s->expected == 0) {
					if (!swallow)
						sess_clear_running(s);
					became_idle = true;
				}
				continue;
			}
			if (type == 'S') {
				struct preader r;
				preader_init(&r, msg + 5, total - 5);
				const char *name = preader_cstr(&r);
				if (r.bad || !pass_parameter(name)) {
					evbuffer_drain(in, total);
					continue;
				}
			}
			if (type == 'T') {
				/* §14.8: CockroachDB's sizes and modifiers; the
				 * length stays, so the bytes change in place. */
				rowdesc_rewrite(raw, total, s->version);
			}
			if (type == 'E') {
				int rc = relay_cancel_error(s, msg, total);
				if (rc < 0) {
					sess_fatal(s, "53200", "out of memory");
					return;
				}
				if (rc == 0) {
					evbuffer_drain(in, total);
					continue;
				}
			}
		} else if (type == 'K' || type == 'A') {
			/* crdbsim's own key stands; no NOTIFY on CockroachDB. */
			evbuffer_drain(in, total);
			continue;
		}
		if (evbuffer_remove_buffer(in, sess_out(s), total) != (int)total) {
			sess_fatal(s, "53200", "out of memory");
			return;
		}
	}
	if (became_idle && !s->dead)
		sess_process(s);
}

void sess_backend_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	sess_process(arg);
}

void sess_backend_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct sim_session *s = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		sess_fatal(s, "57P01",
			   "terminating connection: the PostgreSQL backend closed");
}

/* ---- creation ---- */

struct sim_session *sim_session_new(struct sim_server *srv, int fd,
				    const char *peer)
{
	struct sim_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->srv = srv;
	s->version = srv->default_version;
	s->txn_status = 'I';
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	sim_new_id(srv, s->session_id);
	s->client = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->tick = evtimer_new(srv->base, tick_cb, s);
	s->cancel_retry = evtimer_new(srv->base, sess_cancel_retry_cb, s);
	if (!s->client || !s->tick || !s->cancel_retry) {
		if (s->client)
			bufferevent_free(s->client);
		else
			close(fd);
		if (s->tick)
			event_free(s->tick);
		if (s->cancel_retry)
			event_free(s->cancel_retry);
		free(s);
		return NULL;    /* the fd is closed either way */
	}
	evutil_make_socket_nonblocking(fd);
	bufferevent_setcb(s->client, client_read_cb, client_write_cb,
			  client_event_cb, s);
	bufferevent_setwatermark(s->client, EV_WRITE, SIM_FEED_HIGH_WATER / 2, 0);
	bufferevent_enable(s->client, EV_READ);
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->sessions_total++;
	return s;
}

