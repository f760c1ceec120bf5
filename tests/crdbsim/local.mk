# tests/crdbsim/local.mk: crdbsim, the CockroachDB wire emulator (built by
# make and make check, never installed), and its wire tests. The engine's
# sources come from feed.mk, the parser/renderer tests from render.mk.
include tests/crdbsim/feed.mk
include tests/crdbsim/render.mk

noinst_PROGRAMS += tests/crdbsim/crdbsim
tests_crdbsim_crdbsim_SOURCES = \
	tests/crdbsim/main.c \
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
	tests/crdbsim/proto.c \
	tests/crdbsim/proto.h \
	tests/crdbsim/control.c \
	tests/crdbsim/malform.h \
	$(CRDBSIM_FEED_SOURCES)
# libevent_openssl and OpenSSL: crdbsim's TLS (startup.c, server.c).
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

# Statement classification and rewriting (no server needed).
check_PROGRAMS += tests/crdbsim/check_sim_intercept
TESTS += tests/crdbsim/check_sim_intercept
tests_crdbsim_check_sim_intercept_SOURCES = \
	tests/crdbsim/check_sim_intercept.c \
	tests/crdbsim/intercept.c \
	tests/crdbsim/intercept.h
tests_crdbsim_check_sim_intercept_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_crdbsim_check_sim_intercept_LDADD = $(CHECK_LIBS)
dist_check_DATA += tests/crdbsim/cases/wire_intercept.cases

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
