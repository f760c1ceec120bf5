#!/usr/bin/python3
"""scram-check.py PASSWORD VERIFIER: exit 0 when VERIFIER (PostgreSQL's
SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, optionally
after "user:") is the verifier of PASSWORD, computed here with
PostgreSQL's algorithm (RFC 5802 / RFC 7677, as src/common/scram-common.c:
SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations),
StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key")),
ServerKey = HMAC(SaltedPassword, "Server Key")); else exit 1 saying why."""
import base64
import hashlib
import hmac
import re
import sys

password, text = sys.argv[1], sys.argv[2]
m = re.fullmatch(r"(?:[^:]+:)?SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)", text)
if not m:
    sys.exit("not a SCRAM-SHA-256 verifier: %s" % text)
iterations = int(m.group(1))
salt, stored, server = (base64.b64decode(g, validate=True) for g in m.group(2, 3, 4))
salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
want_stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
want_server = hmac.new(salted, b"Server Key", "sha256").digest()
if (stored, server) != (want_stored, want_server):
    sys.exit("the verifier's keys are not those of the password (iterations %d, salt of %d bytes)"
             % (iterations, len(salt)))
print("verifies iterations=%d salt_bytes=%d" % (iterations, len(salt)))
