# tests/systemd/local.mk: unit verification, the security rating, sd_notify and socket activation tests.
