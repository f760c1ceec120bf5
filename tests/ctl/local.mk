# tests/ctl/local.mk: the control socket, metrics and crdbfeedctl tests.

# The Prometheus renderer against stand-in feeds and sinks, from case files.
check_PROGRAMS += tests/ctl/check_metrics
TESTS += tests/ctl/check_metrics
tests_ctl_check_metrics_SOURCES = tests/ctl/check_metrics.c
tests_ctl_check_metrics_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_ctl_check_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_ctl_check_metrics_LDADD = $(TESTS_LIB_LIBADD) $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
# The control socket's replay command on a real socket and journal, with
# stand-in feeds.
check_PROGRAMS += tests/ctl/check_control_replay
TESTS += tests/ctl/check_control_replay
tests_ctl_check_control_replay_SOURCES = tests/ctl/check_control_replay.c
tests_ctl_check_control_replay_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_ctl_check_control_replay_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_ctl_check_control_replay_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
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
	tests/ctl/e2e-ctl-sinks.sh \
	tests/ctl/e2e-ctl-replay.sh \
	tests/ctl/e2e-ctl-replay-live.sh \
	tests/ctl/e2e-ctl-scram.sh
TESTS += $(CTL_E2E_TESTS)
dist_check_SCRIPTS += $(CTL_E2E_TESTS)
dist_check_DATA += tests/ctl/ctl-lib.sh
# scram-verifier's verifiers recomputed with PostgreSQL's algorithm.
dist_check_SCRIPTS += tests/ctl/scram-check.py

# An ordered feed's journal written without a daemon, for the replay tests.
check_PROGRAMS += tests/ctl/journal_fill
tests_ctl_journal_fill_SOURCES = tests/ctl/journal_fill.c
tests_ctl_journal_fill_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_ctl_journal_fill_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_ctl_journal_fill_LDADD = $(CRDBFEEDD_LIBS)
