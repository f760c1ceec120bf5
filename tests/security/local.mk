# tests/security/local.mk: access control, secrets, TLS and load tests.
# The tests are shell scripts run under crdbsim-env like every test (they
# need psql, socat, jq, openssl, /usr/bin/python3; peer credentials and
# PostgreSQL's ssl=on need root, which CI has). tls-lib.sh makes the test
# certificates at run time: no key is checked in.
SECURITY_E2E_TESTS = \
	tests/security/e2e-tls.sh \
	tests/security/e2e-peercred.sh \
	tests/security/e2e-secrets.sh \
	tests/security/e2e-load.sh
TESTS += $(SECURITY_E2E_TESTS)
dist_check_SCRIPTS += $(SECURITY_E2E_TESTS) tests/security/load.py
dist_check_DATA += tests/security/tls-lib.sh \
	tests/security/cases/pg_tls.cases

# crdb_connect over TLS to a PostgreSQL with ssl=on: run by e2e-tls.sh,
# which starts that server (not in TESTS on its own).
check_PROGRAMS += tests/security/check_pg_tls
tests_security_check_pg_tls_SOURCES = tests/security/check_pg_tls.c
tests_security_check_pg_tls_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(LIBPQ_CFLAGS)
tests_security_check_pg_tls_LDADD = lib/libcrdb.la $(CHECK_LIBS) $(LIBPQ_LIBS)

# crdbsim in secure mode through raw sockets, libpq and libcrdb: run by
# e2e-tls.sh inside its TLS crdbsim-env (not in TESTS on its own).
check_PROGRAMS += tests/security/check_sim_tls
tests_security_check_sim_tls_SOURCES = tests/security/check_sim_tls.c
tests_security_check_sim_tls_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(LIBPQ_CFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_security_check_sim_tls_LDADD = lib/libcrdb.la $(TESTS_LIB_LIBADD) $(LIBPQ_LIBS)
