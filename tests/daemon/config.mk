# tests/daemon/config.mk: configuration tests. check_config builds the
# daemon's conf_*.c files on their own against libcrdb and runs
# the case files in tests/daemon/config-cases/ (and runs the built
# daemon/crdbfeedd --check-config / --help for secrets); check-config-docs.sh asks
# it for the key table and checks conf/crdbfeedd.conf and crdbfeedd.conf(5).
check_PROGRAMS += tests/daemon/check_config tests/daemon/check_backoff
TESTS += tests/daemon/check_config tests/daemon/check-config-docs.sh \
	tests/daemon/check-defaults.sh tests/daemon/check_backoff
dist_check_SCRIPTS += tests/daemon/check-config-docs.sh \
	tests/daemon/check-defaults.sh
tests_daemon_check_config_SOURCES = tests/daemon/check_config.c \
	$(CRDBFEEDD_CONF_SOURCES)
tests_daemon_check_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_daemon_check_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
tests_daemon_check_config_LDADD = lib/libcrdb.la $(CHECK_LIBS) \
	$(LIBPQ_LIBS) $(JANSSON_LIBS)

# check-defaults.sh runs the built daemon/crdbfeedd --dump-config, in
# config and quick mode, against the defaults crdbfeedd.conf(5) documents.
# check_backoff: the reconnect delays' growth, jitter and cap.
tests_daemon_check_backoff_SOURCES = tests/daemon/check_backoff.c \
	daemon/backoff.c daemon/backoff.h
tests_daemon_check_backoff_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_daemon_check_backoff_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_daemon_check_backoff_LDADD = $(CHECK_LIBS)

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
	tests/daemon/config-cases/bad-keys.conf \
	tests/daemon/config-cases/bad-metrics-listen.conf \
	tests/daemon/config-cases/bad-options.conf \
	tests/daemon/config-cases/bad-password.conf \
	tests/daemon/config-cases/bad-references.conf \
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
	tests/daemon/config-cases/good-metrics-ipv6.conf \
	tests/daemon/config-cases/good-query.conf \
	tests/daemon/config-cases/good-syntax.conf \
	tests/daemon/config-cases/good-tls.conf \
	tests/daemon/config-cases/listen-cases.txt

# After adding or changing a key: regenerate the example config from the
# key table (check-config-docs.sh fails until the two agree).
update-example-config: tests/daemon/check_config$(EXEEXT)
	$(builddir)/tests/daemon/check_config --print-example \
		>$(srcdir)/conf/crdbfeedd.conf
.PHONY: update-example-config
