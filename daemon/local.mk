# daemon/local.mk: crdbfeedd, the changefeed fan-out daemon, and
# crdbfeedctl, the operator's command line; their manuals, the example
# configurations and `make demo`.
#
# Everything of crdbfeedd but main() is one convenience library,
# daemon/libcrdbfeedd.la, compiled once and linked by crdbfeedd and by the
# tests, fuzzers and benchmarks that exercise daemon code (a program takes
# from it only the objects it needs). A new daemon source file goes into
# its SOURCES list, and nowhere else.
noinst_LTLIBRARIES += daemon/libcrdbfeedd.la
daemon_libcrdbfeedd_la_SOURCES = \
	daemon/acceptor.c daemon/acceptor.h \
	daemon/activation.c daemon/activation.h \
	daemon/backoff.c daemon/backoff.h \
	daemon/checkpoint.c daemon/checkpoint.h \
	daemon/channel.c daemon/channel.h \
	daemon/clock.c daemon/clock.h \
	daemon/conf.h \
	daemon/conf_doc.c \
	daemon/conf_dsn.c \
	daemon/conf_feed.c \
	daemon/conf_get.c \
	daemon/conf_ini.c \
	daemon/conf_internal.h \
	daemon/conf_keys.c \
	daemon/conf_load.c \
	daemon/conf_quick.c \
	daemon/conf_value.c \
	daemon/control.c daemon/control.h \
	daemon/control_cmd.c \
	daemon/control_http.c \
	daemon/control_int.h \
	daemon/control_replay.c \
	daemon/ctl_notify.c daemon/ctl_notify.h \
	daemon/ctl_replay.c daemon/ctl_replay.h \
	daemon/defer.c daemon/defer.h \
	daemon/encode.h \
	daemon/encode_direct.c \
	daemon/encode_fast.c \
	daemon/encode_out.h \
	daemon/errbuf.c daemon/errbuf.h \
	daemon/feed.c daemon/feed.h \
	daemon/feed_int.h \
	daemon/feed_rows.c \
	daemon/feed_job.c \
	daemon/feed_nats.c \
	daemon/fleet.c daemon/fleet.h \
	daemon/job.c daemon/job.h \
	daemon/job_idfile.c \
	daemon/job_int.h \
	daemon/job_stmt.c \
	daemon/journal.c daemon/journal.h \
	daemon/idhash.h \
	daemon/ingest.c daemon/ingest.h \
	daemon/line.c \
	daemon/line_arena.c daemon/line_arena.h \
	daemon/line_fields.c daemon/line_fields.h \
	daemon/listen_pg.c daemon/listen_pg.h \
	daemon/log.c daemon/log.h \
	daemon/loglevel.h \
	daemon/metrics.c daemon/metrics.h \
	daemon/names.c daemon/names.h \
	daemon/nats_conn.c daemon/nats_conn.h \
	daemon/nats_fetch.c daemon/nats_fetch.h \
	daemon/nats_nkey.c daemon/nats_nkey.h \
	daemon/nats_pub.c daemon/nats_pub.h \
	daemon/nats_subject.c daemon/nats_subject.h \
	daemon/notify.c daemon/notify.h \
	daemon/notify_feed.c daemon/notify_feed.h \
	daemon/order.c daemon/order.h \
	daemon/ordered.c daemon/ordered.h \
	daemon/recent.c daemon/recent.h \
	daemon/pgserver.c daemon/pgserver.h \
	daemon/pgstatement.c daemon/pgstatement.h \
	daemon/request.c daemon/request.h \
	daemon/scram.c daemon/scram.h \
	daemon/sink.c daemon/sink.h \
	daemon/sink_pg.c \
	daemon/sink_nats.c \
	daemon/sink_int.h \
	daemon/sink_replay.c \
	daemon/statefile.c daemon/statefile.h \
	daemon/stats.h \
	daemon/subscriber.c \
	daemon/textbuf.c daemon/textbuf.h \
	daemon/tls.c daemon/tls.h \
	daemon/unixsock.c daemon/unixsock.h \
	daemon/view.h \
	daemon/webhook_body.c daemon/webhook_body.h
daemon_libcrdbfeedd_la_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
# Only programs link it: one (non-PIC) compile per file is enough.
daemon_libcrdbfeedd_la_LIBTOOLFLAGS = --tag=disable-shared
daemon_libcrdbfeedd_la_LIBADD = lib/libcrdb.la $(LIBEVENT_LIBS) $(LIBPQ_LIBS) \
	$(JANSSON_LIBS) $(SYSTEMD_LIBS) $(LMDB_LIBS) $(LIBCRYPTO_LIBS) \
	$(LIBEVENT_OPENSSL_LIBS) $(OPENSSL_LIBS) $(LIBNATS_LIBS)

# What a program that uses daemon code compiles and links with; daemon
# headers are included as "daemon/NAME.h" from outside daemon/.
CRDBFEEDD_DEP_CFLAGS = $(LIBEVENT_CFLAGS) $(LIBPQ_CFLAGS) $(JANSSON_CFLAGS) \
	$(SYSTEMD_CFLAGS) $(LMDB_CFLAGS) $(LIBCRYPTO_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS) $(OPENSSL_CFLAGS) $(LIBNATS_CFLAGS)
CRDBFEEDD_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
CRDBFEEDD_LIBS = daemon/libcrdbfeedd.la

sbin_PROGRAMS += daemon/crdbfeedd
daemon_crdbfeedd_SOURCES = daemon/main.c
daemon_crdbfeedd_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
daemon_crdbfeedd_LDADD = $(CRDBFEEDD_LIBS)

# crdbfeedctl: the control socket's client; `replay` of a stopped daemon
# reads its configuration and the feed's journal with the daemon's own
# code (conf_*.c, journal.c, ctl_replay.c), so it links the library too.
bin_PROGRAMS += daemon/crdbfeedctl
daemon_crdbfeedctl_SOURCES = daemon/crdbfeedctl.c
# `notify-sql` prints the installed conf/notify.sql (conf/local.mk).
daemon_crdbfeedctl_CPPFLAGS = $(AM_CPPFLAGS) \
	-DCRDBFEED_NOTIFY_SQL='"$(pkgdatadir)/notify.sql"'
daemon_crdbfeedctl_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
daemon_crdbfeedctl_LDADD = $(CRDBFEEDD_LIBS)
# libcrdb linked in (libtool's -static: uninstalled libtool libraries
# only): the program in the build tree is the program, not a libtool
# wrapper, so the tests can run a copy of it as another user.
daemon_crdbfeedctl_LDFLAGS = $(AM_LDFLAGS) -static

dist_man1_MANS = daemon/crdbfeedctl.1
dist_man5_MANS = daemon/crdbfeedd.conf.5
dist_man8_MANS = daemon/crdbfeedd.8

# The example configurations are installed as documentation.
confexamplesdir = $(docdir)/examples
dist_confexamples_DATA = conf/crdbfeedd.conf conf/crdbfeedd-minimal.conf conf/demo.conf

# `make demo`: crdbsim-env with a demo table, crdbfeedd with conf/demo.conf
# streaming to the terminal, a few inserts, updates and deletes, a clean stop.
# crdbsim is built only when the tests can be: otherwise Makefile.am's demo
# rule says what is missing.
EXTRA_DIST += daemon/demo.sh
if BUILD_TESTS
demo: daemon/crdbfeedd tests/crdbsim/crdbsim
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	CRDBSIM='$(abs_top_builddir)/tests/crdbsim/crdbsim' \
	$(top_srcdir)/tests/crdbsim/crdbsim-env $(SHELL) $(top_srcdir)/daemon/demo.sh
endif
