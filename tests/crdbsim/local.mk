# tests/crdbsim/local.mk: (filled in by its owner)
