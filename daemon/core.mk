# daemon/core.mk: extra sources of crdbfeedd's core (feeds, sinks, lines):
# files split out of feed.c / sink.c / encode.c.
#   request.c: the subscriber request line parser (pure; fuzzed on its own)
#   unixsock.c: listening socket files and the SO_PEERCRED allow-list
#               (sinks and the control/metrics sockets)
CRDBFEEDD_CORE_SOURCES = daemon/request.c daemon/request.h \
	daemon/unixsock.c daemon/unixsock.h \
	daemon/clock.c daemon/clock.h \
	daemon/names.c daemon/names.h \
	daemon/textbuf.c daemon/textbuf.h \
	daemon/loglevel.h \
	daemon/errbuf.c daemon/errbuf.h \
	daemon/fleet.c daemon/fleet.h \
	daemon/view.h \
	daemon/acceptor.c daemon/acceptor.h
