# daemon/systemd.mk: crdbfeedd's systemd glue (sd_notify, watchdog, socket
# activation), built with or without libsystemd.
CRDBFEEDD_SYSTEMD_SOURCES =
