"""Authentication over real HTTP: register, login, refresh, logout, /users/me.

What is checked is DECISIONS.md §1-§3 and §7 and the contract's §1 and §4: the envelope, the
validation table and its precedence, duplicate emails (also under concurrency), Unicode passwords
past bcrypt's 72 bytes, uniform login failures, token types, expiry, forgery and revocation, both
login throttles, trusted proxies, the generated JWT secret and Accept-Language.

Every request names its own client IP (a fresh ``X-Forwarded-For``, trusted from 127.0.0.1) unless
a test says otherwise, so the per-IP login limit never gets in the way of the other tests; the
throttles themselves are tested with one IP, on the shared server and on a dedicated server with
short windows (``conftest.py``).
"""
