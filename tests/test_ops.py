"""Health, readiness, metrics, logs that never hold a token, English texts, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from harness.server import ServerProcess, free_port
from tests.conftest import PG_URL, pg_execute
from tests.utils.api import PASSWORD, assert_error, client, register, unique_email


def test_health_and_readiness(base_url: str) -> None:
    for path in ("/healthz", "/readyz"):
        response = httpx.get(base_url + path, timeout=10)
        assert response.status_code == 200
        assert response.json()["code"] == 0


def test_metrics_count_requests_by_route_template(base_url: str) -> None:
    user = register(base_url)
    user.get("/meetings/meeting_0123456789abcdef")
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "aimeeting_http_requests_total" in text
    assert 'route="/v1/meetings/{meeting_id}",status="404"' in text
    assert "meeting_0123456789abcdef" not in text  # templates, not raw paths
    assert "aimeeting_http_request_duration_seconds_bucket" in text


def test_english_texts_on_request_same_codes(base_url: str) -> None:
    http = client(base_url, headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    body = assert_error(http.post("/auth/login", json={"email": "x", "password": "y"}), 40001)
    assert body["message"] == "Invalid email address"
    zh = client(base_url, headers={"Accept-Language": "zh-CN,en;q=0.5"})
    body = assert_error(zh.post("/auth/login", json={"email": "x", "password": "y"}), 40001)
    assert body["message"] == "邮箱格式不正确"
    user = register(base_url)
    response = user.http.get("/users/me", headers={**user.auth, "Accept-Language": "en"})
    assert response.json()["message"] == "OK"


def test_logs_are_json_lines_and_never_hold_a_token(
    backend: str, start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(backend)
    user = register(server.url)
    user.get("/users/me")
    # Tokens in a query string and in a bad request: neither may reach the log.
    httpx.get(f"{server.url}/v1/users/me?access_token={user.access_token}", timeout=10)
    user.http.post("/auth/refresh", json={"refresh_token": user.refresh_token[:-3]})
    user.http.post("/auth/login", json={"email": user.email, "password": "Wrong1234"})
    user.post("/auth/logout")
    server.stop()
    log = server.log_path.read_text()
    for secret in (user.access_token, user.refresh_token, user.password, "Wrong1234"):
        assert secret not in log
    assert user.access_token.split(".")[2] not in log
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    paths = {entry.get("path") for entry in entries if entry["logger"] == "aimeeting.access"}
    assert {"/v1/users/me", "/v1/auth/refresh", "/v1/auth/logout"} <= paths
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)


def test_sigterm_finishes_in_flight_requests_then_exits(
    backend: str, start_server: Callable[..., ServerProcess]
) -> None:
    # A slow bcrypt makes the registration still in flight when the signal arrives.
    server = start_server(backend, bcrypt_rounds=15)  # ~2 s a hash
    results: list[tuple[httpx.Response, float]] = []
    sent = threading.Event()

    def slow_register() -> None:
        http = client(server.url)
        sent.set()
        body = {"email": unique_email(), "password": PASSWORD, "nickname": "late one"}
        response = http.post("/auth/register", json=body)
        results.append((response, time.monotonic()))

    worker = threading.Thread(target=slow_register)
    worker.start()
    sent.wait(5)
    # Long enough for the request to reach the server, well short of its 2 s hash.
    time.sleep(0.6)
    signalled_at = time.monotonic()
    exit_code = server.stop(signal.SIGTERM, timeout=20)
    worker.join(20)
    # uvicorn ends by re-raising the signal once the graceful shutdown is complete.
    assert exit_code in (0, -signal.SIGTERM), server.logs()
    assert results, "the in-flight request got no answer"
    response, answered_at = results[0]
    assert response.status_code == 201, response.text
    assert answered_at > signalled_at, "the request was not in flight when the signal came"
    log = server.log_path.read_text()
    assert '"message":"stopped"' in log
    assert "Application shutdown complete" in log


def test_readiness_fails_clearly_when_the_database_goes_away(
    postgres_url: Callable[[], str], start_server: Callable[..., ServerProcess]
) -> None:
    url = postgres_url()
    server = start_server("sqlite", database_url=url)
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    name = make_url(url).database
    assert PG_URL is not None
    asyncio.run(pg_execute(PG_URL, f'DROP DATABASE "{name}" WITH (FORCE)'))
    response = httpx.get(f"{server.url}/readyz", timeout=10)
    assert_error(response, 50301)
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    # A request that needs the database fails cleanly, in the envelope.
    assert_error(
        client(server.url).post("/auth/login", json={"email": "a@b.co", "password": "x"}), 50001
    )


def test_cors_allows_only_the_configured_origins(
    backend: str, start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(backend, cors_origins="https://app.example")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = httpx.options(
        f"{server.url}/v1/meetings",
        headers={"Origin": "https://app.example", **preflight},
        timeout=10,
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.options(
        f"{server.url}/v1/meetings",
        headers={"Origin": "https://evil.example", **preflight},
        timeout=10,
    )
    assert "access-control-allow-origin" not in other.headers
    plain = httpx.get(
        f"{server.url}/healthz", headers={"Origin": "https://app.example"}, timeout=10
    )
    assert plain.headers["access-control-allow-origin"] == "https://app.example"


def test_serve_listens_where_the_host_flag_says(tmp_path: Path) -> None:
    # 127.0.0.2 is loopback too, but a different address than the default.
    with ServerProcess(tmp_path, host="127.0.0.2") as server:
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2)


def test_serve_says_where_the_web_app_and_the_docs_are(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "aimeeting", "serve", "--port", str(port)]
    env = {**os.environ, "AIMEETING_DATA_DIR": str(tmp_path), "AIMEETING_BCRYPT_ROUNDS": "4"}
    env["AIMEETING_LOG_FILE"] = str(tmp_path / "server.log")
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(4)]
    finally:
        server.terminate()
        server.wait(15)
    origin = f"http://127.0.0.1:{port}"
    assert lines[0] == f"AI Meeting is listening on {origin}\n", lines
    assert lines[1].split() == ["web", "app:", f"{origin}/"], lines
    assert lines[2].split()[:3] == ["API", "docs:", f"{origin}/v1/docs"], lines


def test_the_docs_page_needs_nothing_but_this_server(base_url: str) -> None:
    page = httpx.get(f"{base_url}/v1/docs", timeout=10)
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert len(assets) == 3, assets  # the style sheet, Swagger UI, and our start-up script
    for asset in assets:
        response = httpx.get(f"{base_url}{asset}", timeout=10)
        assert response.status_code == 200, asset
        assert response.headers["content-type"].startswith(("text/css", "text/javascript"))
        assert "cdn." not in response.text[:10000], asset
    init = httpx.get(f"{base_url}/v1/docs/assets/init.js", timeout=10).text
    assert "SwaggerUIBundle(" in init and 'data-url="/v1/openapi.json"' in page.text


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/v1", "/v1/"])
def test_where_people_look_for_the_docs_leads_to_them(base_url: str, path: str) -> None:
    response = httpx.get(f"{base_url}{path}", timeout=10)
    assert response.status_code == 307, response.text
    assert response.headers["location"] == "/v1/docs"
    assert httpx.head(f"{base_url}{path}", timeout=10).status_code == 307


def test_an_unknown_address_points_to_the_docs(base_url: str) -> None:
    for path in ("/nope", "/v1/nope", "/v1/docs/nope"):
        body = assert_error(httpx.get(f"{base_url}{path}", timeout=10), 40400)
        assert body["details"] == {"docs": "/v1/docs"}, path
    # A real route's own 404 keeps its code and says nothing of the docs.
    user = register(base_url)
    body = assert_error(user.get("/meetings/meeting_0123456789abcdef"), 40402)
    assert "docs" not in body.get("details", {})


def listen_backlog(port: int) -> int:
    """The accept queue's size of the socket listening on ``port`` (``ss``: Send-Q)."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[2])


def test_serve_listens_with_the_configured_backlog(tmp_path: Path) -> None:
    # Every client of a restarted node comes back at once: a short queue drops handshakes the
    # clients believe sent (docs/benchmarks.md, reconnect storm). Linux caps it at somaxconn.
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    with ServerProcess(tmp_path / "default") as server:
        assert listen_backlog(server.port) == min(4096, somaxconn)
    with ServerProcess(tmp_path / "set", {"AIMEETING_LISTEN_BACKLOG": "300"}) as server:
        assert listen_backlog(server.port) == min(300, somaxconn)
