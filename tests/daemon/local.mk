# tests/daemon/local.mk: crdbfeedd's tests. The end-to-end tests are shell
# scripts run under crdbsim-env like every test; e2e-lib.sh holds their
# helpers and subscriber.py is a scriptable subscriber (needs psql, socat,
# jq and python3). The unit tests link daemon code from
# daemon/libcrdbfeedd.la.

DAEMON_E2E_TESTS = \
	tests/daemon/e2e-quick.sh \
	tests/daemon/e2e-sockets.sh \
	tests/daemon/e2e-policies.sh \
	tests/daemon/e2e-resume.sh \
	tests/daemon/e2e-checkpoint-pace.sh \
	tests/daemon/e2e-reconnect.sh \
	tests/daemon/e2e-resolved-stall.sh \
	tests/daemon/e2e-reload.sh \
	tests/daemon/e2e-faults.sh \
	tests/daemon/e2e-noloss.sh \
	tests/daemon/e2e-emfile.sh \
	tests/daemon/e2e-password.sh \
	tests/daemon/e2e-badrow.sh \
	tests/daemon/e2e-numbers.sh \
	tests/daemon/e2e-shutdown.sh \
	tests/daemon/e2e-options.sh \
	tests/daemon/e2e-replay.sh \
	tests/daemon/e2e-ordered-checkpoint.sh \
	tests/daemon/e2e-notify.sh \
	tests/daemon/e2e-job.sh \
	tests/daemon/e2e-job-gc.sh
TESTS += $(DAEMON_E2E_TESTS)
dist_check_SCRIPTS += $(DAEMON_E2E_TESTS) tests/daemon/subscriber.py \
	tests/daemon/fakecrdb.py tests/daemon/e2e-replay-hopper.py \
	tests/daemon/e2e-replay-check.py
dist_check_DATA += tests/daemon/e2e-lib.sh tests/daemon/job-lib.sh

# Output lines and checkpoints, from case files.
check_PROGRAMS += tests/daemon/check_encode
TESTS += tests/daemon/check_encode
tests_daemon_check_encode_SOURCES = tests/daemon/check_encode.c
tests_daemon_check_encode_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_encode_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_encode_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
dist_check_DATA += tests/daemon/encode-cases/rows.txt

# Row lines read back byte for byte (daemon/line_fields.c), from lines the
# real encoders wrote.
check_PROGRAMS += tests/daemon/check_line_fields
TESTS += tests/daemon/check_line_fields
tests_daemon_check_line_fields_SOURCES = tests/daemon/check_line_fields.c
tests_daemon_check_line_fields_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_line_fields_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_line_fields_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The config parser, from the case files in tests/daemon/config-cases/
# (check_config also runs the built daemon/crdbfeedd --check-config and
# --help for secrets); check-config-docs.sh asks it for the key table and
# checks conf/crdbfeedd.conf and crdbfeedd.conf(5) against it;
# check-defaults.sh runs daemon/crdbfeedd --dump-config, in config and quick
# mode, against the defaults crdbfeedd.conf(5) documents; check_backoff:
# the reconnect delays' growth, jitter and cap.
check_PROGRAMS += tests/daemon/check_config tests/daemon/check_backoff
TESTS += tests/daemon/check_config tests/daemon/check-config-docs.sh \
	tests/daemon/check-defaults.sh tests/daemon/check_backoff
dist_check_SCRIPTS += tests/daemon/check-config-docs.sh \
	tests/daemon/check-defaults.sh
tests_daemon_check_config_SOURCES = tests/daemon/check_config.c
tests_daemon_check_config_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS) $(TESTS_LIB_CPPFLAGS)
tests_daemon_check_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_config_LDADD = $(TESTS_LIB_LIBADD) $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
tests_daemon_check_backoff_SOURCES = tests/daemon/check_backoff.c
tests_daemon_check_backoff_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_backoff_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_backoff_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The shipped configs and the man page, which the tests read, are
# distributed by daemon/local.mk (installed as docs and man5).
dist_check_DATA += \
	tests/daemon/config-cases/README \
	tests/daemon/config-cases/aux-eq-changed.conf \
	tests/daemon/config-cases/aux-eq-control-mode.conf \
	tests/daemon/config-cases/aux-eq-control-port.conf \
	tests/daemon/config-cases/aux-eq-control-same.conf \
	tests/daemon/config-cases/aux-eq-control-users.conf \
	tests/daemon/config-cases/aux-eq-dsn.conf \
	tests/daemon/config-cases/aux-eq-same.conf \
	tests/daemon/config-cases/aux-eq-security-changed.conf \
	tests/daemon/config-cases/aux-eq-security-same.conf \
	tests/daemon/config-cases/bad-allow.conf \
	tests/daemon/config-cases/bad-control.conf \
	tests/daemon/config-cases/bad-env.conf \
	tests/daemon/config-cases/bad-feed.conf \
	tests/daemon/config-cases/bad-job.conf \
	tests/daemon/config-cases/bad-keys.conf \
	tests/daemon/config-cases/bad-nats.conf \
	tests/daemon/config-cases/bad-notify.conf \
	tests/daemon/config-cases/bad-ordered.conf \
	tests/daemon/config-cases/bad-metrics-listen.conf \
	tests/daemon/config-cases/bad-options.conf \
	tests/daemon/config-cases/bad-password.conf \
	tests/daemon/config-cases/bad-pg.conf \
	tests/daemon/config-cases/bad-references.conf \
	tests/daemon/config-cases/bad-relay.conf \
	tests/daemon/config-cases/bad-sockets.conf \
	tests/daemon/config-cases/bad-syntax.conf \
	tests/daemon/config-cases/bad-tls-nocreds.conf \
	tests/daemon/config-cases/bad-tls.conf \
	tests/daemon/config-cases/bad-values.conf \
	tests/daemon/config-cases/dsn-mask.txt \
	tests/daemon/config-cases/dsn-secrets.txt \
	tests/daemon/config-cases/eq-control.conf \
	tests/daemon/config-cases/eq-reload.conf \
	tests/daemon/config-cases/eq-security.conf \
	tests/daemon/config-cases/good-allow.conf \
	tests/daemon/config-cases/good-basic.conf \
	tests/daemon/config-cases/good-control-defaults.conf \
	tests/daemon/config-cases/good-control.conf \
	tests/daemon/config-cases/good-credential.conf \
	tests/daemon/config-cases/good-cursor.conf \
	tests/daemon/config-cases/good-defaults.conf \
	tests/daemon/config-cases/good-empty-values.conf \
	tests/daemon/config-cases/good-empty.conf \
	tests/daemon/config-cases/good-env.conf \
	tests/daemon/config-cases/good-families.conf \
	tests/daemon/config-cases/good-inherit.conf \
	tests/daemon/config-cases/good-job.conf \
	tests/daemon/config-cases/good-metrics-ipv6.conf \
	tests/daemon/config-cases/good-nats.conf \
	tests/daemon/config-cases/good-notify.conf \
	tests/daemon/config-cases/good-ordered.conf \
	tests/daemon/config-cases/good-pg.conf \
	tests/daemon/config-cases/good-query.conf \
	tests/daemon/config-cases/good-relay.conf \
	tests/daemon/config-cases/good-syntax.conf \
	tests/daemon/config-cases/good-tls.conf \
	tests/daemon/config-cases/listen-cases.txt

# No include circle among daemon/ modules.
TESTS += tests/daemon/check-includes.sh
dist_check_SCRIPTS += tests/daemon/check-includes.sh

# Sink policies (block, drop, disconnect) and bounds on a real socket.
check_PROGRAMS += tests/daemon/check_sink
TESTS += tests/daemon/check_sink
tests_daemon_check_sink_SOURCES = tests/daemon/check_sink.c \
	tests/daemon/sink_place.c tests/daemon/sink_place.h
tests_daemon_check_sink_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_sink_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_sink_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# Journaled sinks: grace period, after/since replay, gap, the journal
# policy, bounded memory; and the request line's parser.
check_PROGRAMS += tests/daemon/check_replay tests/daemon/check_request
TESTS += tests/daemon/check_replay tests/daemon/check_request
tests_daemon_check_replay_SOURCES = tests/daemon/check_replay.c \
	tests/daemon/sink_place.c tests/daemon/sink_place.h
tests_daemon_check_replay_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_replay_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_replay_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
tests_daemon_check_request_SOURCES = tests/daemon/check_request.c
tests_daemon_check_request_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_request_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_request_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# A feed's states without a server, and the reload reconciler.
check_PROGRAMS += tests/daemon/check_fleet
TESTS += tests/daemon/check_fleet
tests_daemon_check_fleet_SOURCES = tests/daemon/check_fleet.c \
	tests/daemon/config_text.c tests/daemon/config_text.h
tests_daemon_check_fleet_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_fleet_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_fleet_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The journal of ordered feeds (LMDB) in a temporary directory.
check_PROGRAMS += tests/daemon/check_journal
TESTS += tests/daemon/check_journal
tests_daemon_check_journal_SOURCES = tests/daemon/check_journal.c
tests_daemon_check_journal_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_journal_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_journal_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
# The driver of tests/faults/e2e-journal-crash.sh (and the journal's speed
# figures: journal-torture bench DIR).
check_PROGRAMS += tests/daemon/journal-torture
tests_daemon_journal_torture_SOURCES = tests/daemon/journal-torture.c
tests_daemon_journal_torture_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_journal_torture_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_journal_torture_LDADD = $(CRDBFEEDD_LIBS)
# No libtool wrapper script: the crash test starts it 30 times and kills it
# at random moments, which must be the program's own.
tests_daemon_journal_torture_LDFLAGS = $(AM_LDFLAGS) -no-install

# After adding or changing a key: regenerate the example config from the
# key table (check-config-docs.sh fails until the two agree).
update-example-config: tests/daemon/check_config$(EXEEXT)
	$(builddir)/tests/daemon/check_config --print-example \
		>$(srcdir)/conf/crdbfeedd.conf

# Ordered delivery's held rows (order.c: sorting, groups, duplicates, late
# rows, chunks, spill to disk, durable reload, a seeded differential test)
# and stream delivery's set of recently delivered rows (recent.c).
check_PROGRAMS += tests/daemon/check_order tests/daemon/check_recent
TESTS += tests/daemon/check_order tests/daemon/check_recent
tests_daemon_check_order_SOURCES = tests/daemon/check_order.c
tests_daemon_check_order_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_order_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_order_LDADD = $(CRDBFEEDD_LIBS) $(LMDB_LIBS) $(CHECK_LIBS)
tests_daemon_check_recent_SOURCES = tests/daemon/check_recent.c
tests_daemon_check_recent_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_recent_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_recent_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/daemon/check_channel
TESTS += tests/daemon/check_channel
tests_daemon_check_channel_SOURCES = tests/daemon/check_channel.c
tests_daemon_check_channel_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_channel_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_channel_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The nats sink's publishing logic against a fake publisher (the test
# defines the nats_pub.h calls itself) and a played journal.
check_PROGRAMS += tests/daemon/check_sink_nats
TESTS += tests/daemon/check_sink_nats
tests_daemon_check_sink_nats_SOURCES = tests/daemon/check_sink_nats.c
tests_daemon_check_sink_nats_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_sink_nats_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_sink_nats_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/daemon/check_ordered
TESTS += tests/daemon/check_ordered
tests_daemon_check_ordered_SOURCES = tests/daemon/check_ordered.c
tests_daemon_check_ordered_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_ordered_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_ordered_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
# The LISTEN endpoint's protocol state machine and SCRAM (check_pgserver).
check_PROGRAMS += tests/daemon/check_pgserver
TESTS += tests/daemon/check_pgserver
tests_daemon_check_pgserver_SOURCES = tests/daemon/check_pgserver.c
tests_daemon_check_pgserver_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_pgserver_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_pgserver_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The webhook sink's request bodies (check_webhook_body).
check_PROGRAMS += tests/daemon/check_webhook_body
TESTS += tests/daemon/check_webhook_body
tests_daemon_check_webhook_body_SOURCES = tests/daemon/check_webhook_body.c
tests_daemon_check_webhook_body_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_webhook_body_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_webhook_body_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The job feed's HTTPS endpoint, with certificates made by the openssl
# command (check_ingest).
check_PROGRAMS += tests/daemon/check_ingest
TESTS += tests/daemon/check_ingest
tests_daemon_check_ingest_SOURCES = tests/daemon/check_ingest.c
tests_daemon_check_ingest_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_ingest_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_ingest_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS) -lpthread

# The LISTEN endpoint end to end: listen-pg-driver runs it alone on an
# event loop and pushes what its stdin says; e2e-listen-pg.sh talks to it
# with psycopg, psql and listen-pg-libpq (a libpq listener).
check_PROGRAMS += tests/daemon/listen-pg-driver tests/daemon/listen-pg-libpq
TESTS += tests/daemon/e2e-listen-pg.sh
dist_check_SCRIPTS += tests/daemon/e2e-listen-pg.sh tests/daemon/listen-pg-psycopg.py
# crdbfeedd's pg sink end to end (listen-pg-driver makes its verifier,
# listen-pg-libpq is its libpq client).
TESTS += tests/daemon/e2e-pg-sink.sh
dist_check_SCRIPTS += tests/daemon/e2e-pg-sink.sh tests/daemon/e2e-pg-sink.py
# The nats sink end to end, under tests/nats/nats-env (which it starts
# itself) next to crdbsim; tests/nats/nats-consume reads the stream back.
TESTS += tests/daemon/e2e-nats.sh
dist_check_SCRIPTS += tests/daemon/e2e-nats.sh
# A relay (source = nats) end to end: a nats sink's stream relayed by a
# second crdbfeedd to a Unix socket, the relay killed and restarted.
TESTS += tests/daemon/e2e-nats-relay.sh
dist_check_SCRIPTS += tests/daemon/e2e-nats-relay.sh
tests_daemon_listen_pg_driver_SOURCES = tests/daemon/listen-pg-driver.c
tests_daemon_listen_pg_driver_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_listen_pg_driver_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_listen_pg_driver_LDADD = $(CRDBFEEDD_LIBS)
tests_daemon_listen_pg_libpq_SOURCES = tests/daemon/listen-pg-libpq.c
tests_daemon_listen_pg_libpq_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_daemon_listen_pg_libpq_LDADD = $(LIBPQ_LIBS)

# README.md's LISTEN/NOTIFY programs as written: before/after differ only
# where the README says, the "before" pair runs on PostgreSQL
# (check-readme-notify.sh); the "after" pair through crdbsim and crdbfeedd
# (e2e-readme-notify.sh). crdbfeedd killed -9 twice under a channel
# subscriber resuming with "after" and a psycopg LISTEN listener
# (e2e-notify-kill.sh).
TESTS += tests/daemon/check-readme-notify.sh tests/daemon/e2e-readme-notify.sh \
	tests/daemon/e2e-notify-kill.sh
dist_check_SCRIPTS += tests/daemon/check-readme-notify.sh \
	tests/daemon/e2e-readme-notify.sh tests/daemon/readme-notify-extract.py \
	tests/daemon/e2e-notify-kill.sh tests/daemon/notify-kill-client.py
dist_check_DATA += tests/daemon/readme-notify-lib.sh

# check_job: the job manager's statements (exact CREATE CHANGEFEED text,
# quoting of the sink URI and the authorization), its ALTER commands,
# SHOW CHANGEFEED JOB(S) rows, the job id file; no server needed.
check_PROGRAMS += tests/daemon/check_job
TESTS += tests/daemon/check_job
tests_daemon_check_job_SOURCES = tests/daemon/check_job.c
tests_daemon_check_job_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_job_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_job_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# check_feed_job: a job feed's answers to the bodies its endpoint passes
# on, on a real feed and hold without the endpoint or a job: a resolved
# timestamp refused (503) releases the held rows when the job retries it.
check_PROGRAMS += tests/daemon/check_feed_job
TESTS += tests/daemon/check_feed_job
tests_daemon_check_feed_job_SOURCES = tests/daemon/check_feed_job.c \
	tests/daemon/config_text.c tests/daemon/config_text.h
tests_daemon_check_feed_job_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_feed_job_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_feed_job_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# check_job_sim: the job manager against crdbsim's changefeed jobs (needs
# crdbsim-env's CRDB_DSN): create, restart without a second job (also
# with the id file lost), job_id adoption, pause/resume/cancel, ALTER,
# failures with their reasons.
check_PROGRAMS += tests/daemon/check_job_sim
TESTS += tests/daemon/check_job_sim
tests_daemon_check_job_sim_SOURCES = tests/daemon/check_job_sim.c
tests_daemon_check_job_sim_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_job_sim_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_job_sim_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# NATS subjects and message ids: names escape into valid subject tokens and
# back, subjects stay bounded, Nats-Msg-Ids match vectors computed outside
# the code and change with every field.
check_PROGRAMS += tests/daemon/check_nats_subject
TESTS += tests/daemon/check_nats_subject
tests_daemon_check_nats_subject_SOURCES = tests/daemon/check_nats_subject.c
tests_daemon_check_nats_subject_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_nats_subject_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_nats_subject_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

# The NATS connection and publisher against a real nats-server: stream
# names, NKey keys, connect and login errors, stream provisioning and
# validation, 1000 messages published and read back with their headers,
# duplicates, too-large messages, the high-water mark, ack timeouts and a
# server killed mid-publish. Run by tests/nats/check-nats-pub.sh under
# tests/nats/nats-env (which needs nats-server).
check_PROGRAMS += tests/daemon/check_nats_pub
TESTS += tests/nats/check-nats-pub.sh
dist_check_SCRIPTS += tests/nats/check-nats-pub.sh tests/nats/nats-env
tests_daemon_check_nats_pub_SOURCES = tests/daemon/check_nats_pub.c
tests_daemon_check_nats_pub_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_nats_pub_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_nats_pub_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/daemon/check_line_arena
TESTS += tests/daemon/check_line_arena
tests_daemon_check_line_arena_SOURCES = tests/daemon/check_line_arena.c
tests_daemon_check_line_arena_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_daemon_check_line_arena_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_daemon_check_line_arena_LDADD = $(CRDBFEEDD_LIBS) $(CHECK_LIBS)
