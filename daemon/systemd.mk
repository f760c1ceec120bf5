# daemon/systemd.mk: crdbfeedd's systemd glue (sd_notify, watchdog, socket
# activation), built with or without libsystemd (no-op stand-ins then).
CRDBFEEDD_SYSTEMD_SOURCES = \
	daemon/notify.c daemon/notify.h \
	daemon/activation.c daemon/activation.h
