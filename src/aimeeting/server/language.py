"""The language of a request's texts (the contract's Chinese, or English on request): one rule
for REST and the WebSocket, which both read it from the handshake's ``Accept-Language``."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from aimeeting.protocol import Language


def language(connection: HTTPConnection) -> Language:
    """``en`` when Accept-Language prefers English over Chinese, else the contract's Chinese."""
    best: tuple[float, Language] = (0.0, "zh")
    for part in connection.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("en", "zh"):
            continue
        try:
            quality = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            quality = 0.0
        if quality > best[0]:
            best = (quality, "en" if primary == "en" else "zh")
    return best[1]
