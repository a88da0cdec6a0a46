"""Redis database numbers 1-15 for the test suite's clusters and the benchmarks' nodes, each
claimed by one run at a time (a key in database 0 with an expiry), so that runs side by side
never share one."""

from __future__ import annotations

import random
import uuid

import redis


class RedisDatabases:
    """One run's claims: ``claim`` takes a free number (emptied of our keys), ``release_all``
    empties and frees every number it took."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.owner = uuid.uuid4().hex
        self._claimed: list[int] = []

    def claim(self) -> str:
        control = redis.Redis.from_url(f"{self.base_url}/0")
        try:
            for number in random.sample(range(1, 16), 15):
                if control.set(f"aimeeting-test:db:{number}", self.owner, nx=True, ex=3600):
                    self._claimed.append(number)
                    url = f"{self.base_url}/{number}"
                    clear(url)  # whatever a crashed run left
                    return url
        finally:
            control.close()
        raise RuntimeError("all Redis test databases (1-15) are in use")

    def release_all(self) -> None:
        control = redis.Redis.from_url(f"{self.base_url}/0")
        try:
            for number in self._claimed:
                clear(f"{self.base_url}/{number}")
                if control.get(f"aimeeting-test:db:{number}") == self.owner.encode():
                    control.delete(f"aimeeting-test:db:{number}")
        finally:
            control.close()


def clear(url: str) -> None:
    """Forget every key of ours in the Redis database of ``url`` (nothing else is touched)."""
    connection = redis.Redis.from_url(url)
    try:
        keys = list(connection.scan_iter("aimeeting:*", count=1000))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()
