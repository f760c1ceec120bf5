# daemon/obs.mk: the control socket, the metrics endpoint, and crdbfeedctl.
CRDBFEEDD_OBS_SOURCES = \
	daemon/control.c daemon/control.h \
	daemon/metrics.c daemon/metrics.h
