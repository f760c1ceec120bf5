# tests/security/local.mk: access control, secrets, TLS and load tests.
