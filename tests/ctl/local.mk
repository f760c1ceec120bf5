# tests/ctl/local.mk: the control socket, metrics and crdbfeedctl tests.

# The Prometheus renderer against stand-in feeds and sinks, from case files.
check_PROGRAMS += tests/ctl/check_metrics
TESTS += tests/ctl/check_metrics
tests_ctl_check_metrics_SOURCES = tests/ctl/check_metrics.c \
	daemon/metrics.c daemon/metrics.h daemon/textbuf.c daemon/textbuf.h \
	daemon/names.c daemon/names.h
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

# End to end: crdbfeedd against crdbsim, driven with crdbfeedctl, socat and
# subscriber.py (tests/daemon/e2e-lib.sh; ctl-lib.sh adds the ctl helpers).
CTL_E2E_TESTS = \
	tests/ctl/e2e-ctl-status.sh \
	tests/ctl/e2e-ctl-pause.sh \
	tests/ctl/e2e-ctl-errors.sh \
	tests/ctl/e2e-ctl-activation.sh \
	tests/ctl/e2e-ctl-sinks.sh
TESTS += $(CTL_E2E_TESTS)
dist_check_SCRIPTS += $(CTL_E2E_TESTS)
dist_check_DATA += tests/ctl/ctl-lib.sh
