# tests/ctl/local.mk: the control socket, metrics and crdbfeedctl tests.
