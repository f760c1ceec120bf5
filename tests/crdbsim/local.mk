# tests/crdbsim/local.mk: crdbsim, the CockroachDB wire emulator (built by
# make check, never installed), and its tests.
include tests/crdbsim/feed.mk
