# tests/daemon/units.mk: crdbfeedd's structure check and the unit tests of
# its sinks, feeds and reload reconciler (Check; no daemon process).

# No include circle among daemon/ modules.
TESTS += tests/daemon/check-includes.sh
dist_check_SCRIPTS += tests/daemon/check-includes.sh
