# tests/daemon/local.mk: crdbfeedd's tests.
include tests/daemon/config.mk
