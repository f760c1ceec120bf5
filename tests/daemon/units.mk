# tests/daemon/units.mk: crdbfeedd's structure check and the unit tests of
# its sinks, feeds and reload reconciler (Check; no daemon process).

# No include circle among daemon/ modules.
TESTS += tests/daemon/check-includes.sh
dist_check_SCRIPTS += tests/daemon/check-includes.sh

# The daemon's own sources the unit tests below build on (no main.c).
DAEMON_UNIT_SOURCES = \
	daemon/sink.c daemon/sink.h daemon/sink_int.h daemon/subscriber.c \
	daemon/acceptor.c daemon/acceptor.h daemon/defer.c daemon/defer.h \
	daemon/log.c daemon/log.h daemon/names.c daemon/names.h \
	daemon/unixsock.c daemon/unixsock.h daemon/request.c daemon/request.h \
	daemon/encode.c daemon/encode.h daemon/clock.c daemon/clock.h
DAEMON_UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
DAEMON_UNIT_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(LIBEVENT_LIBS) \
	$(LIBPQ_LIBS) $(JANSSON_LIBS) $(SYSTEMD_LIBS)

# Sink policies (block, drop, disconnect) and bounds on a real socket.
check_PROGRAMS += tests/daemon/check_sink
TESTS += tests/daemon/check_sink
tests_daemon_check_sink_SOURCES = tests/daemon/check_sink.c $(DAEMON_UNIT_SOURCES)
tests_daemon_check_sink_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_daemon_check_sink_CFLAGS = $(DAEMON_UNIT_CFLAGS)
tests_daemon_check_sink_LDADD = $(DAEMON_UNIT_LDADD)

# A feed's states without a server, and the reload reconciler.
check_PROGRAMS += tests/daemon/check_fleet
TESTS += tests/daemon/check_fleet
tests_daemon_check_fleet_SOURCES = tests/daemon/check_fleet.c $(DAEMON_UNIT_SOURCES) \
	daemon/fleet.c daemon/fleet.h daemon/errbuf.c daemon/errbuf.h \
	daemon/feed.c daemon/feed.h daemon/feed_int.h daemon/feed_rows.c \
	daemon/checkpoint.c daemon/checkpoint.h daemon/config.c daemon/config.h
tests_daemon_check_fleet_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_daemon_check_fleet_CFLAGS = $(DAEMON_UNIT_CFLAGS)
tests_daemon_check_fleet_LDADD = $(DAEMON_UNIT_LDADD)
