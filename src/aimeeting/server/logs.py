"""Structured (JSON lines) logging, with tokens redacted from every record."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# A JWT (three base64url parts, the first starting like every JSON header) or a token parameter.
_SECRETS = re.compile(
    r"eyJ[\w-]*\.[\w-]+\.[\w-]+|((?:access_token|refresh_token|token)=)[^&\s\"']+"
)
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    # Every match holds one of these two: most texts (every access line) skip the regex.
    if "eyJ" not in text and "token=" not in text:
        return text
    return _SECRETS.sub(lambda m: f"{m[1]}[redacted]" if m[1] else "[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "info", log_file: Path | None = None) -> None:
    """Route our logs and uvicorn's through one JSON handler (stderr, or a file)."""
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
