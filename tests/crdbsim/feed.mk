# tests/crdbsim/feed.mk: crdbsim's changefeed engine sources (owned by the
# engine's authors); tests/crdbsim/local.mk links them into crdbsim.
#
# CRDBSIM_ENGINE_SOURCES is the engine without its parser door
# (feed_parse.c), so the engine tests can link it and build statements by
# hand; crdbsim gets the whole of it through CRDBSIM_FEED_SOURCES.
CRDBSIM_ENGINE_SOURCES = \
	tests/crdbsim/simfeed.h \
	tests/crdbsim/simstmt.h \
	tests/crdbsim/feedint.h \
	tests/crdbsim/aconn.c \
	tests/crdbsim/ingest.c \
	tests/crdbsim/feed.c \
	tests/crdbsim/render.c

CRDBSIM_FEED_SOURCES = \
	$(CRDBSIM_ENGINE_SOURCES) \
	tests/crdbsim/feed_parse.c \
	tests/crdbsim/parse.c

# Engine tests: the engine driven directly on its own event loop against
# PG_DSN (a database of their own, next to crdbsim's defaultdb).
check_PROGRAMS += tests/crdbsim/check_sim_feed
TESTS += tests/crdbsim/check_sim_feed
tests_crdbsim_check_sim_feed_SOURCES = tests/crdbsim/check_sim_feed.c \
	$(CRDBSIM_ENGINE_SOURCES)
tests_crdbsim_check_sim_feed_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) $(LIBEVENT_CFLAGS)
tests_crdbsim_check_sim_feed_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(JANSSON_LIBS) \
	$(LIBPQ_LIBS) $(LIBEVENT_LIBS) -lpthread -lm
dist_check_DATA += tests/crdbsim/cases/sim_feed_envelopes.txt
