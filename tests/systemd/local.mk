# tests/systemd/local.mk: unit verification, the security rating, sd_notify and socket activation tests.
# Shell tests run under crdbsim-env like every test (units.sh ignores it).
SYSTEMD_TESTS = \
	tests/systemd/units.sh \
	tests/systemd/notify.sh \
	tests/systemd/activation.sh
TESTS += $(SYSTEMD_TESTS)
dist_check_SCRIPTS += $(SYSTEMD_TESTS) tests/systemd/notify-helper.py
