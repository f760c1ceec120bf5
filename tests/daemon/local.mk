# tests/daemon/local.mk: crdbfeedd's tests. The end-to-end tests are shell
# scripts run under crdbsim-env like every test; e2e-lib.sh holds their
# helpers and subscriber.py is a scriptable subscriber (needs psql, socat,
# jq and python3).
include tests/daemon/config.mk
include tests/daemon/units.mk

DAEMON_E2E_TESTS = \
	tests/daemon/e2e-quick.sh \
	tests/daemon/e2e-sockets.sh \
	tests/daemon/e2e-policies.sh \
	tests/daemon/e2e-resume.sh \
	tests/daemon/e2e-reconnect.sh \
	tests/daemon/e2e-reload.sh \
	tests/daemon/e2e-faults.sh \
	tests/daemon/e2e-noloss.sh \
	tests/daemon/e2e-emfile.sh \
	tests/daemon/e2e-password.sh \
	tests/daemon/e2e-badrow.sh \
	tests/daemon/e2e-shutdown.sh \
	tests/daemon/e2e-options.sh
TESTS += $(DAEMON_E2E_TESTS)
dist_check_SCRIPTS += $(DAEMON_E2E_TESTS) tests/daemon/subscriber.py \
	tests/daemon/fakecrdb.py
dist_check_DATA += tests/daemon/e2e-lib.sh

# Output lines and checkpoints, from case files.
check_PROGRAMS += tests/daemon/check_encode
TESTS += tests/daemon/check_encode
tests_daemon_check_encode_SOURCES = tests/daemon/check_encode.c \
	daemon/encode.c daemon/encode.h daemon/checkpoint.c daemon/checkpoint.h
tests_daemon_check_encode_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_daemon_check_encode_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
tests_daemon_check_encode_LDADD = lib/libcrdb.la $(CHECK_LIBS) \
	$(LIBPQ_LIBS) $(JANSSON_LIBS)
dist_check_DATA += tests/daemon/encode-cases/rows.txt
