# tests/local.mk: what lives in tests/ itself. Each test directory has its
# own tests/DIR/local.mk, included by Makefile.am.

# Only crdb_* symbols may leave libcrdb.so (lib/local.mk's regex).
TESTS += tests/check-exports.sh
dist_check_SCRIPTS += tests/check-exports.sh
