# tests/faults/local.mk: the fault matrix and checkpoint durability tests (run by .ci/run, not by make check).
