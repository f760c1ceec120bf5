# tests/crdbsim/render.mk: unit tests of crdbsim's changefeed statement
# parser (parse.c) and CockroachDB JSON renderer (render*.c);
# tests/crdbsim/local.mk includes this fragment. The engine links the
# parser and renderer into crdbsim through feed.mk; these binaries compile
# them directly so they do not depend on the engine.
check_PROGRAMS += tests/crdbsim/check_sim_render tests/crdbsim/check_sim_parse
TESTS += tests/crdbsim/check_sim_render tests/crdbsim/check_sim_parse

tests_crdbsim_check_sim_render_SOURCES = tests/crdbsim/check_sim_render.c \
	tests/crdbsim/render.c tests/crdbsim/render_types.c \
	tests/crdbsim/render_json.c tests/crdbsim/render_int.h \
	tests/crdbsim/simstmt.h tests/crdbsim/simfeed.h
tests_crdbsim_check_sim_render_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS)
tests_crdbsim_check_sim_render_LDADD = $(CHECK_LIBS) $(JANSSON_LIBS) -lm

tests_crdbsim_check_sim_parse_SOURCES = tests/crdbsim/check_sim_parse.c \
	tests/crdbsim/parse.c tests/crdbsim/render.c \
	tests/crdbsim/render_types.c tests/crdbsim/render_json.c \
	tests/crdbsim/render_int.h \
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
