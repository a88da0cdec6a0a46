"""Reading a server's Prometheus metrics."""

from __future__ import annotations

import re

import httpx


def metric(base_url: str, sample: str) -> float:
    """The value of one sample, named as exposed (``name{label="value"}``); 0 when absent."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0
