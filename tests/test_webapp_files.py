"""The web app's files as the server serves them: its addresses, types, caching, and size."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

APP_FILES = {
    "/app/main.js": "text/javascript; charset=utf-8",
    "/app/app.css": "text/css; charset=utf-8",
    "/sdk/aimeeting-sdk.js": "text/javascript; charset=utf-8",
}
BUDGET = 200 * 1024  # the whole app, gzipped (issue 12)


@pytest.mark.parametrize("path", ["/", "/m/123456789", "/m/not-a-number"])
def test_every_address_of_the_app_is_its_page(base_url: str, path: str) -> None:
    response = httpx.get(f"{base_url}{path}", timeout=15)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/app/main.js">' in response.text
    again = httpx.get(
        f"{base_url}{path}", headers={"If-None-Match": response.headers["etag"]}, timeout=15
    )
    assert again.status_code == 304


def test_the_page_runs_only_its_own_files_and_cannot_be_framed(base_url: str) -> None:
    headers = httpx.get(f"{base_url}/", timeout=15).headers
    directives = headers["content-security-policy"].split(";")
    policy = dict(directive.strip().split(" ", 1) for directive in directives)
    assert policy["default-src"] == "'self'"  # scripts and styles: no inline, no other host
    assert "script-src" not in policy and "style-src" not in policy
    assert policy["frame-ancestors"] == "'none'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    page = httpx.get(f"{base_url}/", timeout=15).text
    assert "<script>" not in page and " style=" not in page and "onload=" not in page


def test_head_of_the_page(base_url: str) -> None:
    response = httpx.head(f"{base_url}/", timeout=15)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("path", ["/m/", "/m/123456789/x", "/app/", "/app/nope.js", "/nope"])
def test_other_addresses_are_the_apis_404(base_url: str, path: str) -> None:
    response = httpx.get(f"{base_url}{path}", timeout=15)
    assert response.status_code == 404, path
    assert response.json()["code"] == 40400


def test_the_whole_app_is_small_and_needs_nothing_but_the_server(base_url: str) -> None:
    page = httpx.get(f"{base_url}/", timeout=15).text
    total = len(gzip.compress(page.encode()))
    for path, media_type in APP_FILES.items():
        response = httpx.get(f"{base_url}{path}", timeout=15)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == media_type
        total += len(gzip.compress(response.content))
        assert other_hosts(response.text) == set(), path
    assert other_hosts(page) == set()
    assert total < BUDGET, f"{total} bytes gzipped"


def other_hosts(text: str) -> set[str]:
    """Addresses of other hosts (a CDN, a font service): the app must load nothing from them.
    The SVG namespace is a name, not something loaded."""
    return set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", text)) - {
        "http://www.w3.org/2000/svg"
    }
