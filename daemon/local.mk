# daemon/local.mk: crdbfeedd, the changefeed fan-out daemon, its man page
# and `make demo`. Sources of the systemd glue, the control/metrics side and
# extra core files come from their own fragments (one owner each).
include daemon/core.mk
include daemon/systemd.mk
include daemon/obs.mk

sbin_PROGRAMS += daemon/crdbfeedd
daemon_crdbfeedd_SOURCES = \
	daemon/main.c \
	daemon/config.c daemon/config.h \
	daemon/feed.c daemon/feed.h daemon/feed_int.h daemon/feed_rows.c \
	daemon/encode.c daemon/encode.h \
	daemon/sink.c daemon/sink.h daemon/sink_int.h daemon/subscriber.c \
	daemon/checkpoint.c daemon/checkpoint.h \
	daemon/log.c daemon/log.h \
	daemon/defer.c daemon/defer.h \
	daemon/stats.h \
	$(CRDBFEEDD_CORE_SOURCES) \
	$(CRDBFEEDD_SYSTEMD_SOURCES) \
	$(CRDBFEEDD_OBS_SOURCES)
daemon_crdbfeedd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBPQ_CFLAGS) \
	$(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_crdbfeedd_LDADD = lib/libcrdb.la $(LIBEVENT_LIBS) $(LIBPQ_LIBS) \
	$(JANSSON_LIBS) $(SYSTEMD_LIBS)

dist_man8_MANS = daemon/crdbfeedd.8
EXTRA_DIST += daemon/demo.sh

# `make demo`: crdbsim-env with a demo table, crdbfeedd with conf/demo.conf
# streaming to the terminal, a few inserts, updates and deletes, a clean stop.
demo: daemon/crdbfeedd tests/crdbsim/crdbsim
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	CRDBSIM='$(abs_top_builddir)/tests/crdbsim/crdbsim' \
	$(top_srcdir)/tests/crdbsim/crdbsim-env $(SHELL) $(top_srcdir)/daemon/demo.sh
.PHONY: demo

dist_man5_MANS = daemon/crdbfeedd.conf.5

# The example configurations are installed as documentation.
confexamplesdir = $(docdir)/examples
dist_confexamples_DATA = conf/crdbfeedd.conf conf/crdbfeedd-minimal.conf conf/demo.conf
