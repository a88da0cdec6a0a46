"""The server's configuration: one typed settings object read from ``AIMEETING_*`` variables."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from aimeeting.server.validation import normalize_email

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# ICE server URLs as RFC 7064/7065 write them (what browsers accept): a scheme, a host (name,
# IPv4, or IPv6 in brackets), an optional port; TURN may name its transport.
_HOST_PORT = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
_STUN_URL = re.compile(rf"stuns?:{_HOST_PORT}")
_TURN_URL = re.compile(rf"turns?:{_HOST_PORT}(?:\?transport=(?:udp|tcp))?")


@dataclass(frozen=True)
class RateLimit:
    """``count`` events per ``period`` seconds, parsed from e.g. ``5/minute``."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*\.?\d*)\s*(second|minute|hour|day)?s?\s*", text)
        if not match or (not match[2] and not match[3]):
            raise ValueError(f"expected a rate like '5/minute' or '5/60', got {text!r}")
        count = int(match[1])
        period = float(match[2] or 1) * _PERIODS.get(match[3] or "second", 1)
        if count < 1 or period <= 0:
            raise ValueError(f"rate must be positive, got {text!r}")
        return cls(count, period)


@dataclass(frozen=True)
class Lockout:
    """Lock an account for ``minutes`` after ``failures`` wrong passwords in a row."""

    failures: int
    minutes: float

    @classmethod
    def parse(cls, text: str) -> Lockout:
        parts = re.split(r"[\s,/:]+", text.strip())
        if len(parts) != 2:
            raise ValueError(f"expected 'failures,minutes' like '5,15', got {text!r}")
        failures, minutes = int(parts[0]), float(parts[1])
        if failures < 1 or minutes <= 0:
            raise ValueError(f"lockout must be positive, got {text!r}")
        return cls(failures, minutes)


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _check_urls(urls: list[str], pattern: re.Pattern[str], example: str) -> list[str]:
    for url in urls:
        match = pattern.fullmatch(url)
        if match is None or not 0 < int(match["port"] or 1) < 65536:
            raise ValueError(f"expected URLs like {example!r}, got {url!r}")
    return urls


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIMEETING_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    jwt_secret: str | None = None

    access_token_ttl: float = Field(3600, gt=0, description="seconds")
    refresh_token_ttl: float = Field(7 * 86400, gt=0, description="seconds")
    heartbeat_timeout: float = Field(60, gt=0, description="seconds")
    reconnect_grace: float = Field(30, ge=0, description="seconds")
    # With Redis: a node silent for this long is dead, and its members' seats get the grace.
    node_timeout: float = Field(10, gt=0, description="seconds")
    # With Redis: what the logs call this node ("cluster node lost"), for an operator to map
    # to a machine. Unset: ``<host name>:<port>``. Each start adds a random suffix (``#3fa9c1``)
    # so that a restarted node is never taken for its dead predecessor (cluster/node.py).
    node_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._:@-]{1,64}$")
    meeting_expiry: float = Field(86400, gt=0, description="seconds a waiting meeting lives")
    # PostgreSQL: longest wait to connect, for one statement, or for a pooled connection;
    # past it the request is refused as 503 50301 (retry), never left hanging.
    database_timeout: float = Field(5, gt=0, description="seconds")
    # PostgreSQL: connections each node keeps open; under load up to 20 more are opened and
    # closed again after use. Nodes × this must stay well under the server's max_connections.
    database_pool_size: int = Field(10, ge=1)
    max_participants: int = Field(4, ge=1)

    login_rate_limit: Annotated[RateLimit, NoDecode] = RateLimit(5, 60)
    login_lockout: Annotated[Lockout, NoDecode] = Lockout(5, 15)
    chat_rate_limit: Annotated[RateLimit, NoDecode] = RateLimit(10, 1)  # per user
    ws_rate_limit: Annotated[RateLimit, NoDecode] = RateLimit(100, 1)  # per connection
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = []
    cors_origins: Annotated[list[str], NoDecode] = []

    # ICE servers handed to clients (GET /v1/rtc/ice-servers, DECISIONS §9). TURN credentials
    # are coturn's REST-API scheme: HMAC of a shared secret, valid for ``turn_ttl`` seconds.
    stun_urls: Annotated[list[str], NoDecode] = []
    turn_urls: Annotated[list[str], NoDecode] = []
    turn_secret: str | None = None
    turn_ttl: int = Field(86400, gt=0, description="seconds a TURN credential stays valid")

    # The meeting assistant (docs/assistant.md): its account, and the summary written at the end.
    assistant: bool = False  # ``aimeeting serve`` starts the assistant process beside it
    assistant_email: str = "assistant@aimeeting.local"
    # Unset: derived from the JWT secret (aimeeting.server.assistant.account.assistant_password).
    assistant_password: SecretStr | None = None
    assistant_nickname: str = Field("Assistant", min_length=1, max_length=50)
    assistant_language: Literal["en", "zh", "auto"] = "en"
    summary_url: str | None = None  # an OpenAI-compatible …/v1/chat/completions endpoint
    summary_model: str | None = None
    summary_api_key: SecretStr | None = None
    summary_timeout: float = Field(60, gt=0, description="seconds")

    bcrypt_rounds: int = Field(12, ge=4, le=31)
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="a request body or WS message")
    # Connections the kernel holds for us until the event loop accepts them. When every client
    # of a restarted node comes back at once, an overflowing queue drops handshakes that the
    # clients believe sent: they wait out their timeout (docs/benchmarks.md, reconnect storm).
    # Linux caps it at net.core.somaxconn (4096 by default since 5.4).
    listen_backlog: int = Field(4096, ge=64)
    log_level: str = "info"
    log_file: Path | None = None

    @field_validator("login_rate_limit", "chat_rate_limit", "ws_rate_limit", mode="before")
    @classmethod
    def _parse_rate(cls, value: object) -> object:
        return RateLimit.parse(value) if isinstance(value, str) else value

    @field_validator("login_lockout", mode="before")
    @classmethod
    def _parse_lockout(cls, value: object) -> object:
        return Lockout.parse(value) if isinstance(value, str) else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        items = _split_list(value)
        if isinstance(items, list):
            return [ipaddress.ip_network(str(item), strict=False) for item in items]
        return items

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("stun_urls", "turn_urls", mode="before")
    @classmethod
    def _parse_ice_urls(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("stun_urls")
    @classmethod
    def _check_stun_urls(cls, value: list[str]) -> list[str]:
        return _check_urls(value, _STUN_URL, "stun:stun.example.com:3478")

    @field_validator("turn_urls")
    @classmethod
    def _check_turn_urls(cls, value: list[str]) -> list[str]:
        return _check_urls(value, _TURN_URL, "turn:turn.example.com:3478?transport=udp")

    @field_validator("assistant_email")
    @classmethod
    def _check_assistant_email(cls, value: str) -> str:
        # The address people could otherwise register: the same rule, so it is the same string.
        try:
            return normalize_email(value)
        except ValueError as exc:  # pydantic's custom error is a ValueError
            raise ValueError(f"AIMEETING_ASSISTANT_EMAIL is not a valid email: {value!r}") from exc

    @field_validator("summary_url")
    @classmethod
    def _check_summary_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"AIMEETING_SUMMARY_URL must be an http(s) URL, got {value!r}")
        return value or None

    @model_validator(mode="after")
    def _check_turn(self) -> Settings:
        """TURN URLs are useless without credentials, and a secret without URLs is a typo."""
        if self.turn_urls and not self.turn_secret:
            raise ValueError(
                "AIMEETING_TURN_URLS needs AIMEETING_TURN_SECRET (coturn's static-auth-secret)"
            )
        if self.turn_secret and not self.turn_urls:
            raise ValueError("AIMEETING_TURN_SECRET is set but AIMEETING_TURN_URLS is empty")
        return self

    @model_validator(mode="after")
    def _check_cluster(self) -> Settings:
        """Several nodes must share one database and one token secret."""
        if self.redis_url is None:
            return self
        if not self.jwt_secret:
            raise ValueError(
                "AIMEETING_REDIS_URL needs AIMEETING_JWT_SECRET, the same on every node"
            )
        if not self.database_url or self.resolved_database_url.startswith("sqlite"):
            raise ValueError(
                "AIMEETING_REDIS_URL needs AIMEETING_DATABASE_URL: one PostgreSQL for every node"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL with our async driver filled in (``postgresql://`` works as given)."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'aimeeting.db').resolve()}"
        scheme, sep, rest = self.database_url.partition("://")
        driver = _ASYNC_DRIVERS.get(scheme, scheme)
        return f"{driver}{sep}{rest}"

    def resolved_jwt_secret(self) -> str:
        """The configured secret, else one generated once and kept (owner-only) in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            # Written aside, then linked into place: the link fails if another process won the
            # race, and nobody ever reads a half-written file.
            tmp = path.with_name(f".jwt_secret.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text(encoding="ascii").strip()
