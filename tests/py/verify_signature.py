"""Verifies a generic-webhook signature with Python's own hmac module:
argv = secret, body file, signature header value. Prints "ok" or "mismatch"."""
import hashlib
import hmac
import sys

secret, body_file, header = sys.argv[1], sys.argv[2], sys.argv[3]
with open(body_file, "rb") as f:
    body = f.read()
expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
print("ok" if hmac.compare_digest(expected, header) else "mismatch")
