"""The accounts tests and benchmarks register: one password for all, a fresh email each."""

from __future__ import annotations

import uuid

PASSWORD = "Password123"  # the one password of every test user (the README's curl tour's too)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
