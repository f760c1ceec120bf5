# tests/faults/local.mk: fault tests of crdbfeedd against crdbsim.
#  - e2e-malformed.sh, e2e-checkpoint.sh, e2e-journal-crash.sh: in the
#    quick suite (make check).
#  - fault-matrix.sh: long, not in TESTS; `make faults` runs it under
#    crdbsim-env (.ci/run calls it). FAULT_ROUNDS raises its round count.
FAULTS_E2E_TESTS = \
	tests/faults/e2e-malformed.sh \
	tests/faults/e2e-checkpoint.sh \
	tests/faults/e2e-journal-crash.sh
TESTS += $(FAULTS_E2E_TESTS)
dist_check_SCRIPTS += $(FAULTS_E2E_TESTS) tests/faults/fault-matrix.sh \
	tests/faults/recorder.py tests/faults/writer.py tests/faults/fm-check.py
dist_check_DATA += tests/faults/faults-lib.sh tests/faults/malformed.cases
EXTRA_DIST += tests/faults/README.md

faults: all
	$(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/fault-matrix.sh
