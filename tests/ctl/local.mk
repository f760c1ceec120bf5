# tests/ctl/local.mk: the control socket, metrics and crdbfeedctl tests.

# The Prometheus renderer against stand-in feeds and sinks, from case files.
check_PROGRAMS += tests/ctl/check_metrics
TESTS += tests/ctl/check_metrics
tests_ctl_check_metrics_SOURCES = tests/ctl/check_metrics.c \
	daemon/metrics.c daemon/metrics.h
tests_ctl_check_metrics_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_ctl_check_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBPQ_CFLAGS) $(LIBEVENT_CFLAGS)
tests_ctl_check_metrics_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(JANSSON_LIBS) \
	$(LIBPQ_LIBS)
dist_check_DATA += tests/ctl/metrics-cases/view.json \
	tests/ctl/metrics-cases/render.prom \
	tests/ctl/metrics-cases/escape.txt \
	tests/ctl/metrics-cases/help.txt \
	tests/ctl/metrics-cases/doubles.txt
