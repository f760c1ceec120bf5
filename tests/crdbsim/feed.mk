# tests/crdbsim/feed.mk: crdbsim's changefeed engine sources;
# tests/crdbsim/local.mk links them into crdbsim.
#
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
	tests/crdbsim/render_int.h

CRDBSIM_FEED_SOURCES = \
	$(CRDBSIM_ENGINE_SOURCES) \
	tests/crdbsim/sim_feed_parse.c \
	tests/crdbsim/parse.c

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
