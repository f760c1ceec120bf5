# tests/nats/local.mk: the NATS tests' tools. nats-env starts Debian's
# nats-server for a test; nats-consume (libnats) reads a JetStream stream
# back as JSON lines, since Debian 12 has no nats CLI.

dist_check_SCRIPTS += tests/nats/nats-env

check_PROGRAMS += tests/nats/nats-consume
tests_nats_nats_consume_SOURCES = tests/nats/nats-consume.c
tests_nats_nats_consume_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBNATS_CFLAGS)
tests_nats_nats_consume_LDADD = $(LIBNATS_LIBS) $(JANSSON_LIBS)

# nats-publish (libnats): publishes JSON lines, as nats-consume prints
# them, to JetStream, so a relay's test can put exactly the messages it
# needs into a stream.
check_PROGRAMS += tests/nats/nats-publish
tests_nats_nats_publish_SOURCES = tests/nats/nats-publish.c
tests_nats_nats_publish_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBNATS_CFLAGS)
tests_nats_nats_publish_LDADD = $(LIBNATS_LIBS) $(JANSSON_LIBS)
