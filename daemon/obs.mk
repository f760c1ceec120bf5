# daemon/obs.mk: the control socket, the metrics endpoint, and crdbfeedctl.
CRDBFEEDD_OBS_SOURCES = \
	daemon/control.c daemon/control.h daemon/control_int.h \
	daemon/control_cmd.c daemon/control_http.c \
	daemon/metrics.c daemon/metrics.h

# crdbfeedctl: the operator's command line (libc and jansson only).
bin_PROGRAMS += daemon/crdbfeedctl
daemon_crdbfeedctl_SOURCES = daemon/crdbfeedctl.c
daemon_crdbfeedctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
daemon_crdbfeedctl_LDADD = $(JANSSON_LIBS)
dist_man1_MANS = daemon/crdbfeedctl.1
