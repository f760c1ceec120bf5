# daemon/core.mk: extra sources of crdbfeedd's core (feeds, sinks, lines):
# files split out of feed.c / sink.c / encode.c.
CRDBFEEDD_CORE_SOURCES =
