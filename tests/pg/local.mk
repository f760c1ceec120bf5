# tests/pg/local.mk: libcrdb against the real PostgreSQL 15 that
# crdbsim-env starts for every test (PG_DSN): connections, cancel, streaming
# (check_pg_conn) and type conversion in text and binary (check_pg_types).
check_PROGRAMS += tests/pg/check_pg_conn
TESTS += tests/pg/check_pg_conn

tests_pg_check_pg_conn_SOURCES = tests/pg/check_pg_conn.c
tests_pg_check_pg_conn_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) -pthread
tests_pg_check_pg_conn_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_pg_check_pg_conn_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(LIBPQ_LIBS) \
	$(JANSSON_LIBS)

check_PROGRAMS += tests/pg/check_pg_types
TESTS += tests/pg/check_pg_types
dist_check_DATA += tests/pg/types.sql tests/pg/types.expected

tests_pg_check_pg_types_SOURCES = tests/pg/check_pg_types.c
tests_pg_check_pg_types_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBPQ_CFLAGS)
tests_pg_check_pg_types_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(LIBPQ_LIBS) \
	$(JANSSON_LIBS)

check_PROGRAMS += tests/pg/check_pg_features
TESTS += tests/pg/check_pg_features

tests_pg_check_pg_features_SOURCES = tests/pg/check_pg_features.c
tests_pg_check_pg_features_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBPQ_CFLAGS)
tests_pg_check_pg_features_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(LIBPQ_LIBS)
