# tests/nats/local.mk: the NATS tests' tools (nats-env, which starts
# Debian's nats-server for a test, is distributed by tests/daemon/local.mk):
# nats-consume (libnats) reads a JetStream stream back as JSON lines, since
# Debian 12 has no nats CLI.

check_PROGRAMS += tests/nats/nats-consume
tests_nats_nats_consume_SOURCES = tests/nats/nats-consume.c
tests_nats_nats_consume_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBNATS_CFLAGS)
tests_nats_nats_consume_LDADD = $(LIBNATS_LIBS) $(JANSSON_LIBS)

# The relay source's pull-consumer thread against a nats-server the test
# starts through nats-env (nats_testenv.c, usable by any C test).
check_PROGRAMS += tests/daemon/check_nats_fetch
TESTS += tests/daemon/check_nats_fetch
tests_daemon_check_nats_fetch_SOURCES = tests/daemon/check_nats_fetch.c \
	tests/nats/nats_testenv.c tests/nats/nats_testenv.h
tests_daemon_check_nats_fetch_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_nats_fetch_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_nats_fetch_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# nats-publish (libnats): publishes JSON lines, as nats-consume prints
# them, to JetStream, so a relay's test can put exactly the messages it
# needs into a stream.
check_PROGRAMS += tests/nats/nats-publish
tests_nats_nats_publish_SOURCES = tests/nats/nats-publish.c
tests_nats_nats_publish_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBNATS_CFLAGS)
tests_nats_nats_publish_LDADD = $(LIBNATS_LIBS) $(JANSSON_LIBS)
