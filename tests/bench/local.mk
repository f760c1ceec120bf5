# tests/bench/local.mk: make bench, the benchmark harness (never part of make check).
