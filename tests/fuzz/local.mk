# tests/fuzz/local.mk: libFuzzer targets, built only with --enable-fuzzing
# (CC=clang). Run one for a while with, e.g.:
#   tests/fuzz/fuzz_event -max_total_time=600 tests/fuzz/corpus/event
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_event tests/fuzz/fuzz_hlc
tests_fuzz_fuzz_event_SOURCES = tests/fuzz/fuzz_event.c
tests_fuzz_fuzz_event_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS)
tests_fuzz_fuzz_event_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer -static
tests_fuzz_fuzz_event_LDADD = lib/libcrdb.la $(JANSSON_LIBS) $(LIBPQ_LIBS)
tests_fuzz_fuzz_hlc_SOURCES = tests/fuzz/fuzz_hlc.c
tests_fuzz_fuzz_hlc_CFLAGS = $(tests_fuzz_fuzz_event_CFLAGS)
tests_fuzz_fuzz_hlc_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_hlc_LDADD = $(tests_fuzz_fuzz_event_LDADD)
endif
EXTRA_DIST += tests/fuzz/fuzz_event.c tests/fuzz/fuzz_hlc.c tests/fuzz/corpus
