# daemon/core.mk: more sources of crdbfeedd's core (feeds, sinks, lines).
#   request.c: the subscriber request line parser (pure; fuzzed on its own)
#   unixsock.c: listening socket files and the SO_PEERCRED allow-list
#               (sinks and the control/metrics sockets)
#   acceptor.c: the accept loop of every listener, paused after EMFILE
#   fleet.c: the running feeds and sinks and the reload reconciler
#   clock.c, names.c, textbuf.c, errbuf.c: small helpers used throughout
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
