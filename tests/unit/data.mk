# tests/unit/data.mk: libcrdb's data side: type registries and value
# conversion (check_types), changefeed row decoding (check_event), and
# allocation failure across the API (check_oom). The cases are data files
# in tests/unit/cases-data/, found through $top_srcdir and read by the
# case-file reader of tests/lib. check_event_pg
# replays the event cases through the PostgreSQL of crdbsim-env (PG_DSN);
# it is built from check_event.c so that the check_*.c programs need no
# server (.ci/run runs those under valgrind without crdbsim-env).
DATA_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) \
	$(TESTS_LIB_CPPFLAGS)
DATA_CHECK_LDADD = lib/libcrdb.la $(TESTS_LIB_LIBADD) $(JANSSON_LIBS) $(LIBPQ_LIBS)

check_PROGRAMS += tests/unit/check_types
TESTS += tests/unit/check_types
tests_unit_check_types_SOURCES = tests/unit/check_types.c
tests_unit_check_types_CFLAGS = $(DATA_CHECK_CFLAGS)
tests_unit_check_types_LDADD = $(DATA_CHECK_LDADD)

dist_check_DATA += \
	tests/unit/cases-data/types.cases \
	tests/unit/cases-data/values.cases

check_PROGRAMS += tests/unit/check_event
TESTS += tests/unit/check_event
tests_unit_check_event_SOURCES = tests/unit/check_event.c
tests_unit_check_event_CFLAGS = $(DATA_CHECK_CFLAGS)
tests_unit_check_event_LDADD = $(DATA_CHECK_LDADD)

check_PROGRAMS += tests/unit/check_event_pg
TESTS += tests/unit/check_event_pg
tests_unit_check_event_pg_SOURCES = tests/unit/check_event.c
tests_unit_check_event_pg_CPPFLAGS = $(AM_CPPFLAGS) -DCHECK_EVENT_POSTGRES
tests_unit_check_event_pg_CFLAGS = $(DATA_CHECK_CFLAGS)
tests_unit_check_event_pg_LDADD = $(DATA_CHECK_LDADD)

# Installs counting allocators for libcrdb and jansson, so it must own the
# process: one scenario per API area, each run with allocation N failing.
check_PROGRAMS += tests/unit/check_oom
TESTS += tests/unit/check_oom
tests_unit_check_oom_SOURCES = tests/unit/check_oom.c
tests_unit_check_oom_CFLAGS = $(DATA_CHECK_CFLAGS)
tests_unit_check_oom_LDADD = $(DATA_CHECK_LDADD)

dist_check_DATA += tests/unit/cases-data/events.cases
