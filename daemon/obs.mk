# daemon/obs.mk: the control socket, the metrics endpoint, and crdbfeedctl.
CRDBFEEDD_OBS_SOURCES =
