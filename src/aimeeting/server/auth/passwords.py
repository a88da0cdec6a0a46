"""Password hashing with bcrypt, safe for any length and any Unicode.

bcrypt reads at most 72 bytes. The password is first reduced to a fixed 44-byte digest
(SHA-256, base64), so long passwords neither fail nor get silently truncated.
"""

from __future__ import annotations

import base64
import hashlib

import bcrypt
from anyio import to_thread


def _prehash(password: str) -> bytes:
    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()
    return base64.b64encode(digest)


def _hash_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def _verify_sync(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


class PasswordHasher:
    """Hashes off the event loop: bcrypt takes tens to hundreds of milliseconds by design."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        # Verified against when the email is unknown, so both cases cost the same time.
        self._dummy_hash = _hash_sync("not a password of anyone", rounds)

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(_hash_sync, password, self.rounds)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            await to_thread.run_sync(_verify_sync, password, self._dummy_hash)
            return False
        return await to_thread.run_sync(_verify_sync, password, password_hash)
