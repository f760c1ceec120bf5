# tests/fuzz/local.mk: libFuzzer targets, built only with --enable-fuzzing
# (CC=clang). One target per seed corpus tests/fuzz/corpus/NAME (.ci/run
# runs each fuzz_NAME on its corpus). Run one for a while with, e.g.:
#   tests/fuzz/fuzz_config -max_total_time=600 -dict=tests/fuzz/config.dict \
#       tests/fuzz/corpus/config
# fuzz_config, fuzz_request, fuzz_encode, fuzz_pgserver, fuzz_webhook_body and
# fuzz_line_fields link daemon code from daemon/libcrdbfeedd.la.
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_event tests/fuzz/fuzz_hlc \
	tests/fuzz/fuzz_config tests/fuzz/fuzz_request tests/fuzz/fuzz_encode \
	tests/fuzz/fuzz_pgserver tests/fuzz/fuzz_webhook_body \
	tests/fuzz/fuzz_line_fields
tests_fuzz_fuzz_event_SOURCES = tests/fuzz/fuzz_event.c
tests_fuzz_fuzz_event_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS)
tests_fuzz_fuzz_event_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer -static
tests_fuzz_fuzz_event_LDADD = lib/libcrdb.la $(JANSSON_LIBS) $(LIBPQ_LIBS)
tests_fuzz_fuzz_hlc_SOURCES = tests/fuzz/fuzz_hlc.c
tests_fuzz_fuzz_hlc_CFLAGS = $(tests_fuzz_fuzz_event_CFLAGS)
tests_fuzz_fuzz_hlc_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_hlc_LDADD = $(tests_fuzz_fuzz_event_LDADD)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = $(CRDBFEEDD_LIBS)
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c
tests_fuzz_fuzz_request_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_fuzz_fuzz_request_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_fuzz_fuzz_request_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_request_LDADD = $(CRDBFEEDD_LIBS)
tests_fuzz_fuzz_encode_SOURCES = tests/fuzz/fuzz_encode.c
tests_fuzz_fuzz_encode_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS) -I$(top_srcdir)/daemon
tests_fuzz_fuzz_encode_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_fuzz_fuzz_encode_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_encode_LDADD = $(CRDBFEEDD_LIBS)
tests_fuzz_fuzz_pgserver_SOURCES = tests/fuzz/fuzz_pgserver.c
tests_fuzz_fuzz_pgserver_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_fuzz_fuzz_pgserver_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_fuzz_fuzz_pgserver_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_pgserver_LDADD = $(CRDBFEEDD_LIBS)
tests_fuzz_fuzz_webhook_body_SOURCES = tests/fuzz/fuzz_webhook_body.c
tests_fuzz_fuzz_webhook_body_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_fuzz_fuzz_webhook_body_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_fuzz_fuzz_webhook_body_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_webhook_body_LDADD = $(CRDBFEEDD_LIBS)
tests_fuzz_fuzz_line_fields_SOURCES = tests/fuzz/fuzz_line_fields.c
tests_fuzz_fuzz_line_fields_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_fuzz_fuzz_line_fields_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_fuzz_fuzz_line_fields_LDFLAGS = $(tests_fuzz_fuzz_event_LDFLAGS)
tests_fuzz_fuzz_line_fields_LDADD = $(CRDBFEEDD_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz_encode.c tests/fuzz/encode.dict \
	tests/fuzz/fuzz_event.c tests/fuzz/fuzz_hlc.c \
	tests/fuzz/fuzz_config.c tests/fuzz/fuzz_request.c \
	tests/fuzz/fuzz_pgserver.c \
	tests/fuzz/fuzz_webhook_body.c tests/fuzz/webhook_body.dict \
	tests/fuzz/fuzz_line_fields.c tests/fuzz/line_fields.dict \
	tests/fuzz/config.dict tests/fuzz/corpus
