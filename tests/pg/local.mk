# tests/pg/local.mk: (filled in by its owner)
