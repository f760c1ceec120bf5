# tests/crdbsim/local.mk: crdbsim, the CockroachDB wire emulator (built by
# make and make check when the tests can be built, never installed), and
# its tests: the changefeed engine, the statement parser and JSON renderer,
# the wire front end, and psycopg's crdb client as a user.

# CRDBSIM_ENGINE_SOURCES is the engine without its parser door
# (sim_feed_parse.c), so the engine tests can link it and build statements by
# hand; crdbsim gets the whole of it through CRDBSIM_FEED_SOURCES.
CRDBSIM_ENGINE_SOURCES = \
	tests/crdbsim/simfeed.h \
	tests/crdbsim/simstmt.h \
	tests/crdbsim/feedint.h \
	tests/crdbsim/aconn.c \
	tests/crdbsim/ingest_int.h \
	tests/crdbsim/ingest.c \
	tests/crdbsim/ingest_setup.c \
	tests/crdbsim/ingest_stream.c \
	tests/crdbsim/sim_feed.h \
	tests/crdbsim/sim_feed.c \
	tests/crdbsim/sim_feed_validate.c \
	tests/crdbsim/sim_feed_scan.c \
	tests/crdbsim/sim_feed_live.c \
	tests/crdbsim/sim_feed_cdc.c \
	tests/crdbsim/sim_feed_firehose.c \
	tests/crdbsim/render.c \
	tests/crdbsim/render_types.c \
	tests/crdbsim/render_json.c \
	tests/crdbsim/render_int.h \
	tests/crdbsim/sbuf.c \
	tests/crdbsim/sbuf.h

CRDBSIM_FEED_SOURCES = \
	$(CRDBSIM_ENGINE_SOURCES) \
	tests/crdbsim/sim_feed_parse.c \
	tests/crdbsim/parse.c tests/crdbsim/parse_options.c \
	tests/crdbsim/parse_time.c tests/crdbsim/parse_int.h

# Engine tests: the engine driven directly on its own event loop against
# PG_DSN (a database of their own, next to crdbsim's defaultdb).
check_PROGRAMS += tests/crdbsim/check_sim_feed
TESTS += tests/crdbsim/check_sim_feed
tests_crdbsim_check_sim_feed_SOURCES = tests/crdbsim/check_sim_feed.c \
	tests/crdbsim/check_sim_feed_more.c tests/crdbsim/check_sim_feed_wire.c \
	tests/crdbsim/check_sim_feed.h \
	$(CRDBSIM_ENGINE_SOURCES)
tests_crdbsim_check_sim_feed_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) $(LIBEVENT_CFLAGS)
tests_crdbsim_check_sim_feed_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(JANSSON_LIBS) \
	$(LIBPQ_LIBS) $(LIBEVENT_LIBS) -lpthread -lm
dist_check_DATA += tests/crdbsim/cases/sim_feed_envelopes.txt

# The changefeed statement parser (parse.c) and CockroachDB JSON renderer
# (render*.c) on their own: these binaries compile them directly so that
# they do not depend on the engine.
check_PROGRAMS += tests/crdbsim/check_sim_render tests/crdbsim/check_sim_parse
TESTS += tests/crdbsim/check_sim_render tests/crdbsim/check_sim_parse

tests_crdbsim_check_sim_render_SOURCES = tests/crdbsim/check_sim_render.c \
	tests/crdbsim/render.c tests/crdbsim/render_types.c \
	tests/crdbsim/render_json.c tests/crdbsim/render_int.h \
	tests/crdbsim/sbuf.c tests/crdbsim/sbuf.h \
	tests/crdbsim/simstmt.h tests/crdbsim/simfeed.h
tests_crdbsim_check_sim_render_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_crdbsim_check_sim_render_LDADD = $(TESTS_LIB_LIBADD) $(CHECK_LIBS) \
	$(JANSSON_LIBS) -lm

tests_crdbsim_check_sim_parse_SOURCES = tests/crdbsim/check_sim_parse.c \
	tests/crdbsim/parse.c tests/crdbsim/parse_options.c \
	tests/crdbsim/parse_time.c tests/crdbsim/parse_int.h tests/crdbsim/render.c \
	tests/crdbsim/render_types.c tests/crdbsim/render_json.c \
	tests/crdbsim/render_int.h tests/crdbsim/sbuf.c tests/crdbsim/sbuf.h \
	tests/crdbsim/simstmt.h tests/crdbsim/simfeed.h
tests_crdbsim_check_sim_parse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS)
tests_crdbsim_check_sim_parse_LDADD = $(CHECK_LIBS) $(JANSSON_LIBS) -lm

dist_check_DATA += \
	tests/crdbsim/cases/parse.txt \
	tests/crdbsim/cases/render_envelopes.txt \
	tests/crdbsim/cases/render_strings.txt \
	tests/crdbsim/cases/render_types.txt \
	tests/crdbsim/cases/render_rows.txt \
	tests/crdbsim/cases/resolved.txt \
	tests/crdbsim/cases/wal2json_capture.jsonl \
	tests/crdbsim/cases/wal2json_capture.sql

# The changefeed job's webhook sink: an HTTPS client (libevent_openssl).
CRDBSIM_WEBHOOK_SOURCES = \
	tests/crdbsim/sim_webhook.h \
	tests/crdbsim/sim_webhook_int.h \
	tests/crdbsim/sim_webhook.c \
	tests/crdbsim/sim_webhook_http.c

# The emulator itself.
noinst_PROGRAMS += tests/crdbsim/crdbsim
tests_crdbsim_crdbsim_SOURCES = \
	tests/crdbsim/sim_main.c \
	tests/crdbsim/sim.h \
	tests/crdbsim/server.c \
	tests/crdbsim/session.c \
	tests/crdbsim/session.h \
	tests/crdbsim/startup.c \
	tests/crdbsim/statements.c \
	tests/crdbsim/answer.c \
	tests/crdbsim/feedwire.c \
	tests/crdbsim/intercept.c \
	tests/crdbsim/intercept.h \
	tests/crdbsim/intercept_ddl.c \
	tests/crdbsim/intercept_ddl.h \
	tests/crdbsim/sqllex.c \
	tests/crdbsim/sqllex.h \
	tests/crdbsim/proto.c \
	tests/crdbsim/proto.h \
	tests/crdbsim/rowdesc.c \
	tests/crdbsim/rowdesc.h \
	tests/crdbsim/sim_control.c \
	tests/crdbsim/malform.h \
	$(CRDBSIM_WEBHOOK_SOURCES) \
	tests/crdbsim/sim_job.c \
	tests/crdbsim/sim_job.h \
	tests/crdbsim/sim_job_sink.c \
	tests/crdbsim/sim_job_sink.h \
	tests/crdbsim/sim_job_sql.c \
	$(CRDBSIM_FEED_SOURCES)
# libevent_openssl and OpenSSL: crdbsim's TLS (startup.c, server.c) and
# its webhook sink's HTTPS client.
tests_crdbsim_crdbsim_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
tests_crdbsim_crdbsim_LDADD = $(LIBEVENT_OPENSSL_LIBS) $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS) -lpthread -lm

dist_check_SCRIPTS += tests/crdbsim/crdbsim-env tests/crdbsim/crdbsim-restart
EXTRA_DIST += tests/crdbsim/README.md

# Wire tests: through libpq and libcrdb against crdbsim (under crdbsim-env).
check_PROGRAMS += tests/crdbsim/check_sim_wire
TESTS += tests/crdbsim/check_sim_wire
tests_crdbsim_check_sim_wire_SOURCES = tests/crdbsim/check_sim_wire.c \
	tests/crdbsim/wire_helpers.h
tests_crdbsim_check_sim_wire_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_crdbsim_check_sim_wire_LDADD = lib/libcrdb.la $(TESTS_LIB_LIBADD) \
	$(JANSSON_LIBS) $(LIBPQ_LIBS)
# libcrdb's connect and cancel against every emulated version.
check_PROGRAMS += tests/crdbsim/check_sim_conn
TESTS += tests/crdbsim/check_sim_conn
tests_crdbsim_check_sim_conn_SOURCES = tests/crdbsim/check_sim_conn.c \
	tests/crdbsim/wire_helpers.h
tests_crdbsim_check_sim_conn_CFLAGS = $(tests_crdbsim_check_sim_wire_CFLAGS)
tests_crdbsim_check_sim_conn_LDADD = $(tests_crdbsim_check_sim_wire_LDADD)
dist_check_DATA += \
	tests/crdbsim/cases/wire_startup.cases \
	tests/crdbsim/cases/wire_versions.cases

# Changefeeds through the wire front end, and psycopg's own crdb client as
# a user (run_psycopg_test runs test_psycopg.py with /usr/bin/python3).
check_PROGRAMS += tests/crdbsim/check_sim_wirefeed
TESTS += tests/crdbsim/check_sim_wirefeed tests/crdbsim/run_psycopg_test
tests_crdbsim_check_sim_wirefeed_SOURCES = tests/crdbsim/check_sim_wirefeed.c \
	tests/crdbsim/wire_helpers.h
tests_crdbsim_check_sim_wirefeed_CFLAGS = $(tests_crdbsim_check_sim_wire_CFLAGS)
tests_crdbsim_check_sim_wirefeed_LDADD = $(tests_crdbsim_check_sim_wire_LDADD)
dist_check_SCRIPTS += tests/crdbsim/run_psycopg_test
dist_check_DATA += tests/crdbsim/test_psycopg.py

# Resolved timestamps behind the closed-timestamp target, with psycopg as
# the client, on a crdbsim of its own at CockroachDB's default target.
TESTS += tests/crdbsim/run_psycopg_resolved
dist_check_SCRIPTS += tests/crdbsim/run_psycopg_resolved
dist_check_DATA += tests/crdbsim/test_psycopg_resolved.py

# conf/notify.sql through crdbsim, and a changefeed on its table, with
# psycopg as the client (§15).
TESTS += tests/crdbsim/run_psycopg_notify
dist_check_SCRIPTS += tests/crdbsim/run_psycopg_notify
dist_check_DATA += tests/crdbsim/test_psycopg_notify.py

# A row inserted as a feed starts arrives (make faults: many runs).
dist_check_DATA += tests/crdbsim/test_scan_boundary.py

# Statement classification and rewriting (no server needed).
check_PROGRAMS += tests/crdbsim/check_sim_intercept
TESTS += tests/crdbsim/check_sim_intercept
tests_crdbsim_check_sim_intercept_SOURCES = \
	tests/crdbsim/check_sim_intercept.c \
	tests/crdbsim/intercept.c \
	tests/crdbsim/intercept.h \
	tests/crdbsim/intercept_ddl.c \
	tests/crdbsim/intercept_ddl.h \
	tests/crdbsim/sqllex.c \
	tests/crdbsim/sqllex.h \
	tests/crdbsim/sbuf.c \
	tests/crdbsim/sbuf.h
tests_crdbsim_check_sim_intercept_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_crdbsim_check_sim_intercept_LDADD = $(CHECK_LIBS)
dist_check_DATA += tests/crdbsim/cases/wire_intercept.cases

# RowDescription as CockroachDB fills it (rowdesc.c).
check_PROGRAMS += tests/crdbsim/check_sim_rowdesc
TESTS += tests/crdbsim/check_sim_rowdesc
tests_crdbsim_check_sim_rowdesc_SOURCES = tests/crdbsim/check_sim_rowdesc.c \
	tests/crdbsim/rowdesc.c tests/crdbsim/rowdesc.h
tests_crdbsim_check_sim_rowdesc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_crdbsim_check_sim_rowdesc_LDADD = $(CHECK_LIBS)

# Malformed rows on demand (control `malform`), read by a raw v3 client.
check_PROGRAMS += tests/crdbsim/check_sim_malform
TESTS += tests/crdbsim/check_sim_malform
tests_crdbsim_check_sim_malform_SOURCES = tests/crdbsim/check_sim_malform.c \
	tests/crdbsim/malform.h tests/crdbsim/wire_helpers.h
tests_crdbsim_check_sim_malform_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_crdbsim_check_sim_malform_LDADD = $(TESTS_LIB_LIBADD) $(JANSSON_LIBS) \
	$(LIBPQ_LIBS)
dist_check_DATA += tests/crdbsim/cases/malform.cases

# Changefeed jobs with a webhook sink (sim_job*.c), against crdbsim with
# an HTTPS receiver of the test's own (OpenSSL, a thread per connection).
check_PROGRAMS += tests/crdbsim/check_sim_job
TESTS += tests/crdbsim/check_sim_job
tests_crdbsim_check_sim_job_SOURCES = tests/crdbsim/check_sim_job.c \
	tests/crdbsim/wire_helpers.h
tests_crdbsim_check_sim_job_CFLAGS = $(tests_crdbsim_check_sim_wire_CFLAGS) \
	$(OPENSSL_CFLAGS)
tests_crdbsim_check_sim_job_LDADD = $(TESTS_LIB_LIBADD) $(CHECK_LIBS) \
	$(JANSSON_LIBS) $(LIBPQ_LIBS) $(OPENSSL_LIBS) -lpthread

# The webhook sink against an HTTPS server of the test's own (a throwaway
# self-signed certificate made in the test).
check_PROGRAMS += tests/crdbsim/check_sim_webhook
TESTS += tests/crdbsim/check_sim_webhook
tests_crdbsim_check_sim_webhook_SOURCES = tests/crdbsim/check_sim_webhook.c \
	tests/crdbsim/check_sim_webhook_server.c tests/crdbsim/check_sim_webhook.h \
	$(CRDBSIM_WEBHOOK_SOURCES) tests/crdbsim/sbuf.c tests/crdbsim/sbuf.h
tests_crdbsim_check_sim_webhook_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(LIBEVENT_CFLAGS) $(LIBEVENT_OPENSSL_CFLAGS) $(OPENSSL_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_crdbsim_check_sim_webhook_LDADD = $(CHECK_LIBS) $(LIBEVENT_OPENSSL_LIBS) \
	$(OPENSSL_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS)
