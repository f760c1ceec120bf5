# tests/local.mk: the test suites; each fragment owns its directory.
include tests/lib/local.mk
include tests/unit/core.mk
include tests/unit/data.mk
include tests/pg/local.mk
include tests/daemon/local.mk
include tests/fuzz/local.mk
include tests/systemd/local.mk
include tests/ctl/local.mk
include tests/faults/local.mk
include tests/security/local.mk
include tests/install/local.mk
include tests/bench/local.mk
