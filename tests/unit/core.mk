# tests/unit/core.mk: unit tests of libcrdb's core (versions, HLC, statement
# building, error classification), driven by case files in
# tests/unit/cases/, and the exported-symbol check.
# The case-file reader of every unit test (data.mk's too) is tests/lib's.
CORE_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) \
	$(TESTS_LIB_CPPFLAGS)
CORE_CHECK_LDADD = lib/libcrdb.la $(TESTS_LIB_LIBADD) $(JANSSON_LIBS) $(LIBPQ_LIBS)

check_PROGRAMS += tests/unit/check_version tests/unit/check_hlc \
	tests/unit/check_spec tests/unit/check_errclass
TESTS += tests/unit/check_version tests/unit/check_hlc \
	tests/unit/check_spec tests/unit/check_errclass

tests_unit_check_version_SOURCES = tests/unit/check_version.c
tests_unit_check_version_CFLAGS = $(CORE_CHECK_CFLAGS)
tests_unit_check_version_LDADD = $(CORE_CHECK_LDADD)

tests_unit_check_hlc_SOURCES = tests/unit/check_hlc.c
tests_unit_check_hlc_CFLAGS = $(CORE_CHECK_CFLAGS)
tests_unit_check_hlc_LDADD = $(CORE_CHECK_LDADD)

tests_unit_check_spec_SOURCES = tests/unit/check_spec.c
tests_unit_check_spec_CFLAGS = $(CORE_CHECK_CFLAGS)
tests_unit_check_spec_LDADD = $(CORE_CHECK_LDADD)

tests_unit_check_errclass_SOURCES = tests/unit/check_errclass.c
tests_unit_check_errclass_CFLAGS = $(CORE_CHECK_CFLAGS)
tests_unit_check_errclass_LDADD = $(CORE_CHECK_LDADD)

dist_check_DATA += \
	tests/unit/cases/version.cases \
	tests/unit/cases/hlc_parse.cases \
	tests/unit/cases/hlc_format.cases \
	tests/unit/cases/hlc_compare.cases \
	tests/unit/cases/hlc_rfc3339.cases \
	tests/unit/cases/spec.cases \
	tests/unit/cases/errclass.cases

# Only crdb_* symbols may leave libcrdb.so (lib/local.mk's regex).
TESTS += tests/check-exports.sh
dist_check_SCRIPTS += tests/check-exports.sh
