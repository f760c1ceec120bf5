# tests/systemd/local.mk: unit verification, the security rating, sd_notify and socket activation tests.
# Shell tests run under crdbsim-env like every test (units.sh ignores it).
SYSTEMD_TESTS = \
	tests/systemd/units.sh \
	tests/systemd/notify.sh \
	tests/systemd/activation.sh
TESTS += $(SYSTEMD_TESTS)
dist_check_SCRIPTS += $(SYSTEMD_TESTS) tests/systemd/notify-helper.py
dist_check_DATA += tests/systemd/unit-directives.txt

# Log targets: stderr, "<N>" lines, the journal's native protocol and its
# fallback (daemon/log.c alone).
check_PROGRAMS += tests/systemd/check_log
TESTS += tests/systemd/check_log
tests_systemd_check_log_SOURCES = tests/systemd/check_log.c
tests_systemd_check_log_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_systemd_check_log_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_systemd_check_log_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The STATUS= text for the cases of status-cases.txt (notify.c with
# stand-in feeds and sinks).
check_PROGRAMS += tests/systemd/check_notify
TESTS += tests/systemd/check_notify
tests_systemd_check_notify_SOURCES = tests/systemd/check_notify.c
tests_systemd_check_notify_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_systemd_check_notify_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_systemd_check_notify_LDADD = $(TESTS_LIB_LIBADD) $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
dist_check_DATA += tests/systemd/status-cases.txt
