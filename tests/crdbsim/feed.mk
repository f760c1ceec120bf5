# tests/crdbsim/feed.mk: crdbsim's changefeed engine sources (owned by the
# engine's authors); tests/crdbsim/local.mk links them into crdbsim.
CRDBSIM_FEED_SOURCES = \
	tests/crdbsim/simfeed.h \
	tests/crdbsim/simstmt.h \
	tests/crdbsim/feed_stub.c
