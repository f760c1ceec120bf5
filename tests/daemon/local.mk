# tests/daemon/local.mk: crdbfeedd's tests. The end-to-end tests are shell
# scripts run under crdbsim-env like every test; e2e-lib.sh holds their
# helpers and subscriber.py is a scriptable subscriber (needs psql, socat,
# jq and python3).
include tests/daemon/config.mk

DAEMON_E2E_TESTS = \
	tests/daemon/e2e-quick.sh \
	tests/daemon/e2e-sockets.sh \
	tests/daemon/e2e-policies.sh \
	tests/daemon/e2e-resume.sh \
	tests/daemon/e2e-reconnect.sh \
	tests/daemon/e2e-reload.sh \
	tests/daemon/e2e-faults.sh \
	tests/daemon/e2e-noloss.sh
TESTS += $(DAEMON_E2E_TESTS)
dist_check_SCRIPTS += $(DAEMON_E2E_TESTS) tests/daemon/subscriber.py
dist_check_DATA += tests/daemon/e2e-lib.sh
