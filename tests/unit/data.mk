# tests/unit/data.mk: (filled in by its owner)
