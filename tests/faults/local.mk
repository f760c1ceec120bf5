# tests/faults/local.mk: fault tests of crdbfeedd against crdbsim.
#  - e2e-malformed.sh, e2e-checkpoint.sh, e2e-journal-crash.sh: in the
#    quick suite (make check).
#  - fault-matrix.sh: long, not in TESTS; `make faults` runs it under
#    crdbsim-env (.ci/run calls it), once per delivery: stream, ordered,
#    a job feed, then the NATS scenarios (FAULT_DELIVERY=nats, one run of
#    fault-nats.sh per FAULT_NATS_SCENARIO, each under its own crdbsim-env
#    and nats-env; FAULT_NATS_SCENARIOS picks some). FAULT_ROUNDS sets
#    the round count of all, FAULT_STREAM_ROUNDS, FAULT_ORDERED_ROUNDS,
#    FAULT_JOB_ROUNDS and FAULT_NATS_ROUNDS of one. Before them,
#    fm-check-selftest.sh tries the ordered verdict on crdbsim's history,
#    e2e-journal-crash.sh kills its writer and e2e-checkpoint.sh the
#    daemon 30 times each (5 in make check), and tests/security/e2e-load.sh
#    keeps its 1,000 subscribers for 30 s (10 in make check), and
#    tests/crdbsim/test_scan_boundary.py starts 600 feeds as a row is
#    inserted (SCAN_BOUNDARY_RUNS). The ordered and stream matrices make
#    one lane (faults-ordered), everything else the other (faults-others).
FAULTS_E2E_TESTS = \
	tests/faults/e2e-malformed.sh \
	tests/faults/e2e-checkpoint.sh \
	tests/faults/e2e-journal-crash.sh
TESTS += $(FAULTS_E2E_TESTS)
dist_check_SCRIPTS += $(FAULTS_E2E_TESTS) tests/faults/fault-matrix.sh \
	tests/faults/recorder.py tests/faults/writer.py tests/faults/fm-check.py \
	tests/faults/commit-killer.py tests/faults/fm-doctor-ordered.py \
	tests/faults/fm-check-selftest.sh tests/faults/fm-synth.py \
	tests/faults/fault-nats.sh tests/faults/fm-nats.py tests/faults/nats-stream.py
dist_check_DATA += tests/faults/faults-lib.sh tests/faults/malformed.cases \
	tests/faults/fm_ordered.py
EXTRA_DIST += tests/faults/README.md

# Two lanes that share nothing (each test starts its own crdbsim,
# PostgreSQL and NATS on free ports): `make -j2 faults` runs them side by
# side. A lane's tests mostly wait on faults and recoveries; CI's machine
# was 70% idle through a sequential run.
faults: faults-ordered faults-others
	@echo "faults: both lanes passed"

faults-ordered: all
	export FAULT_DELIVERY=ordered FAULT_ROUNDS=$${FAULT_ORDERED_ROUNDS:-$${FAULT_ROUNDS:-}}; \
		$(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/fault-matrix.sh
	export FAULT_DELIVERY=stream FAULT_ROUNDS=$${FAULT_STREAM_ROUNDS:-$${FAULT_ROUNDS:-}}; \
		$(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/fault-matrix.sh

faults-others: all tests/nats/nats-consume
	$(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/fm-check-selftest.sh
	export JOURNAL_KILLS=$${JOURNAL_KILLS:-30}; $(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/e2e-journal-crash.sh
	export CHECKPOINT_KILLS=$${CHECKPOINT_KILLS:-30}; $(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/e2e-checkpoint.sh
	export LOAD_SECONDS=$${LOAD_SECONDS:-30}; $(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/security/e2e-load.sh
	export PSYCOPG_TEST=test_scan_boundary.py; $(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/crdbsim/run_psycopg_test
	export FAULT_DELIVERY=job FAULT_ROUNDS=$${FAULT_JOB_ROUNDS:-$${FAULT_ROUNDS:-}}; \
		$(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
		$(abs_top_srcdir)/tests/faults/fault-matrix.sh
	for s in $${FAULT_NATS_SCENARIOS:-cluster crash active relay outage}; do \
		export FAULT_DELIVERY=nats FAULT_NATS_SCENARIO=$$s \
			FAULT_ROUNDS=$${FAULT_NATS_ROUNDS:-$${FAULT_ROUNDS:-}}; \
		$(AM_TESTS_ENVIRONMENT) $(LOG_COMPILER) \
			$(abs_top_srcdir)/tests/faults/fault-matrix.sh || exit 1; \
	done
