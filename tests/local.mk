# tests/local.mk: the test suites; each fragment owns its directory.
include tests/unit/core.mk
include tests/unit/data.mk
include tests/pg/local.mk
include tests/daemon/local.mk
include tests/fuzz/local.mk
