"""Configuration: documented formats parse; a bad value stops the server with a clear line."""

from __future__ import annotations

import ipaddress

import pytest

from aimeeting.server.config import Lockout, RateLimit, Settings
from tests.utils.cli import assert_refuses_to_serve


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [
        ("5/minute", 5, 60),
        ("5/60", 5, 60),
        ("10/second", 10, 1),
        ("3 / hour", 3, 3600),
        ("2/0.5", 2, 0.5),
        ("100/day", 100, 86400),
    ],
)
def test_rate_limits_parse(text: str, count: int, period: float) -> None:
    assert RateLimit.parse(text) == RateLimit(count, period)


@pytest.mark.parametrize("text", ["", "bogus", "5", "0/minute", "5/fortnight", "-1/minute"])
def test_bad_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimit.parse(text)


def test_lockout_and_lists_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMEETING_LOGIN_LOCKOUT", "3,0.5")
    monkeypatch.setenv("AIMEETING_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    monkeypatch.setenv("AIMEETING_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.login_lockout == Lockout(3, 0.5)
    assert ipaddress.ip_address("10.1.2.3") in settings.trusted_proxies[1]
    assert len(settings.trusted_proxies) == 3
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
    ],
)
def test_database_urls_get_the_async_driver(url: str, resolved: str) -> None:
    assert Settings(database_url=url).resolved_database_url == resolved


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIMEETING_LOGIN_RATE_LIMIT", "often"),
        ("AIMEETING_TRUSTED_PROXIES", "not-an-ip"),
        ("AIMEETING_MAX_PARTICIPANTS", "0"),
        ("AIMEETING_NODE_ID", "web1/3001"),  # "/" separates node and connection in Redis
        ("AIMEETING_NODE_ID", "web 1"),
    ],
)
def test_bad_configuration_stops_with_a_clear_message(name: str, value: str) -> None:
    assert_refuses_to_serve({name: value}, f"invalid configuration: {name}")
