# tests/daemon/config.mk: config parser tests (owned by the config author)
