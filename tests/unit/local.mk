# tests/unit/local.mk: unit tests of libcrdb, driven by case files: versions,
# HLC timestamps, statement building and error classification (cases/), type
# registries, value conversion and changefeed row decoding (cases-data/,
# found through $top_srcdir), and allocation failure across the API
# (check_oom). check_event_pg replays the event cases through the
# PostgreSQL of crdbsim-env (PG_DSN); it is built from check_event.c so
# that the other check_*.c programs need no server (.ci/run runs those
# under valgrind without crdbsim-env).
# The case-file reader of every unit test is tests/lib's.
UNIT_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) \
	$(TESTS_LIB_CPPFLAGS)
UNIT_CHECK_LDADD = lib/libcrdb.la $(TESTS_LIB_LIBADD) $(JANSSON_LIBS) $(LIBPQ_LIBS)

check_PROGRAMS += tests/unit/check_version tests/unit/check_hlc \
	tests/unit/check_spec tests/unit/check_errclass
TESTS += tests/unit/check_version tests/unit/check_hlc \
	tests/unit/check_spec tests/unit/check_errclass

tests_unit_check_version_SOURCES = tests/unit/check_version.c
tests_unit_check_version_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_version_LDADD = $(UNIT_CHECK_LDADD)

tests_unit_check_hlc_SOURCES = tests/unit/check_hlc.c
tests_unit_check_hlc_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_hlc_LDADD = $(UNIT_CHECK_LDADD)

tests_unit_check_spec_SOURCES = tests/unit/check_spec.c
tests_unit_check_spec_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_spec_LDADD = $(UNIT_CHECK_LDADD)

tests_unit_check_errclass_SOURCES = tests/unit/check_errclass.c
tests_unit_check_errclass_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_errclass_LDADD = $(UNIT_CHECK_LDADD)

dist_check_DATA += \
	tests/unit/cases/version.cases \
	tests/unit/cases/hlc_parse.cases \
	tests/unit/cases/hlc_format.cases \
	tests/unit/cases/hlc_compare.cases \
	tests/unit/cases/hlc_rfc3339.cases \
	tests/unit/cases/spec.cases \
	tests/unit/cases/errclass.cases

check_PROGRAMS += tests/unit/check_types
TESTS += tests/unit/check_types
tests_unit_check_types_SOURCES = tests/unit/check_types.c
tests_unit_check_types_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_types_LDADD = $(UNIT_CHECK_LDADD)

dist_check_DATA += \
	tests/unit/cases-data/types.cases \
	tests/unit/cases-data/values.cases

check_PROGRAMS += tests/unit/check_event
TESTS += tests/unit/check_event
tests_unit_check_event_SOURCES = tests/unit/check_event.c
tests_unit_check_event_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_event_LDADD = $(UNIT_CHECK_LDADD)

check_PROGRAMS += tests/unit/check_event_pg
TESTS += tests/unit/check_event_pg
tests_unit_check_event_pg_SOURCES = tests/unit/check_event.c
tests_unit_check_event_pg_CPPFLAGS = $(AM_CPPFLAGS) -DCHECK_EVENT_POSTGRES
tests_unit_check_event_pg_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_event_pg_LDADD = $(UNIT_CHECK_LDADD)

# Installs counting allocators for libcrdb and jansson, so it must own the
# process: one scenario per API area, each run with allocation N failing.
check_PROGRAMS += tests/unit/check_oom
TESTS += tests/unit/check_oom
tests_unit_check_oom_SOURCES = tests/unit/check_oom.c
tests_unit_check_oom_CFLAGS = $(UNIT_CHECK_CFLAGS)
tests_unit_check_oom_LDADD = $(UNIT_CHECK_LDADD)

dist_check_DATA += tests/unit/cases-data/events.cases
