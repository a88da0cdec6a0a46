"""What the browser SDK needs from the server (DECISIONS.md §9): the ICE servers of
``GET /v1/rtc/ice-servers`` with TURN credentials in coturn's REST-API scheme, and the SDK's own
files under ``/sdk/``.

The endpoint and the files are driven over real HTTP against real server processes; the pure
credential function and the settings are checked directly too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.routing import Mount

from aimeeting.server.api.static import RevalidatedFiles
from aimeeting.server.config import Settings
from aimeeting.server.rtc.service import ice_servers, turn_credentials
from harness.server import ServerProcess
from tests.utils.api import User, assert_error, client, register
from tests.utils.cli import assert_refuses_to_serve

ROOT = Path(__file__).resolve().parents[1]
SECRET = "turn-secret-for-tests"
STUN = ["stun:stun.example.com:3478", "stuns:[::1]:5349"]
TURN = ["turn:127.0.0.1:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"]
TTL = 600
SDK_FILES = {
    "aimeeting-sdk.js": "text/javascript; charset=utf-8",
    "aimeeting-sdk.js.map": "application/json",
}
SDK_DIR = files("aimeeting.server") / "static" / "sdk"


def credential_of(secret: str, username: str) -> str:
    """coturn's check, written out again: base64(HMAC-SHA1(secret, username))."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def rfc3339(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value[:-1] + "+00:00")


def ice(user: User) -> dict[str, Any]:
    response = user.get("/rtc/ice-servers")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0 and isinstance(body["message"], str), body
    assert set(body["data"]) == {"ice_servers", "expires_at"}, body
    data: dict[str, Any] = body["data"]
    return data


def settings(**values: Any) -> Settings:
    """Settings with every ICE value given (none comes from the environment)."""
    defaults: dict[str, Any] = {
        "stun_urls": [],
        "turn_urls": [],
        "turn_secret": None,
        "turn_ttl": 86400,
    }
    return Settings(**(defaults | values))


# -- the pure function ------------------------------------------------------------------------


def test_turn_credentials_follow_coturns_rest_scheme() -> None:
    username, credential = turn_credentials("north", "user_0123456789abcdef", 1_700_000_000)
    assert username == "1700000000:user_0123456789abcdef"
    assert credential == credential_of("north", username)
    assert len(base64.b64decode(credential, validate=True)) == 20  # a SHA-1 digest
    # Another secret, user or expiry: another credential.
    assert turn_credentials("south", "user_0123456789abcdef", 1_700_000_000)[1] != credential
    assert turn_credentials("north", "user_0123456789abcdee", 1_700_000_000)[1] != credential
    assert turn_credentials("north", "user_0123456789abcdef", 1_700_000_001)[1] != credential


def test_ice_servers_from_settings() -> None:
    now = datetime(2026, 2, 14, 10, 0, 0, 750_000, tzinfo=UTC)
    empty = ice_servers(settings(), "user_1", now)
    assert (empty.ice_servers, empty.expires_at) == ([], None)

    stun_only = ice_servers(settings(stun_urls=STUN), "user_1", now).model_dump(mode="json")
    assert stun_only == {"ice_servers": [{"urls": STUN}], "expires_at": None}

    both = ice_servers(
        settings(stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET, turn_ttl=TTL), "user_1", now
    )
    expiry = datetime(2026, 2, 14, 10, 10, tzinfo=UTC)  # whole seconds, then the TTL
    assert both.expires_at == expiry
    stun, turn = both.model_dump(mode="json")["ice_servers"]
    assert stun == {"urls": STUN}
    username = f"{int(expiry.timestamp())}:user_1"
    assert turn == {
        "urls": TURN,
        "username": username,
        "credential": credential_of(SECRET, username),
    }


# -- settings ---------------------------------------------------------------------------------


def test_ice_settings_parse_comma_separated_lists() -> None:
    parsed = settings(
        stun_urls=" stun:a.example.com , stun:10.0.0.1:3478,,stuns:[2001:db8::1]:5349 ",
        turn_urls="turn:t.example.com:3478?transport=udp, turns:t.example.com?transport=tcp",
        turn_secret=SECRET,
    )
    assert parsed.stun_urls == [
        "stun:a.example.com",
        "stun:10.0.0.1:3478",
        "stuns:[2001:db8::1]:5349",
    ]
    assert parsed.turn_urls == [
        "turn:t.example.com:3478?transport=udp",
        "turns:t.example.com?transport=tcp",
    ]
    assert parsed.turn_ttl == 86400


@pytest.mark.parametrize(
    "values",
    [
        {"stun_urls": "stun://stun.example.com"},
        {"stun_urls": "turn:stun.example.com"},
        {"stun_urls": "stun:"},
        {"stun_urls": "stun:host:70000"},
        {"turn_urls": "turn://turn.example.com", "turn_secret": SECRET},
        {"turn_urls": "stun:turn.example.com", "turn_secret": SECRET},
        {"turn_urls": "turn:turn.example.com?transport=sctp", "turn_secret": SECRET},
        {"turn_urls": "turn:turn.example.com"},
        {"turn_secret": SECRET},
        {"turn_urls": "turn:turn.example.com", "turn_secret": SECRET, "turn_ttl": 0},
    ],
)
def test_bad_ice_settings_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        settings(**values)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"AIMEETING_TURN_URLS": "turn:127.0.0.1:3478"},
            "invalid configuration: Value error, AIMEETING_TURN_URLS needs AIMEETING_TURN_SECRET",
        ),
        (
            {"AIMEETING_TURN_SECRET": SECRET},
            "invalid configuration: Value error, AIMEETING_TURN_SECRET is set but "
            "AIMEETING_TURN_URLS is empty",
        ),
        (
            {"AIMEETING_STUN_URLS": "stun://x.example.com"},
            "invalid configuration: AIMEETING_STUN_URLS",
        ),
        (
            {"AIMEETING_TURN_URLS": "http://x.example.com", "AIMEETING_TURN_SECRET": SECRET},
            "invalid configuration: AIMEETING_TURN_URLS",
        ),
        ({"AIMEETING_TURN_TTL": "-1"}, "invalid configuration: AIMEETING_TURN_TTL"),
    ],
)
def test_bad_ice_configuration_stops_the_server_with_a_clear_line(
    env: dict[str, str], line: str
) -> None:
    assert_refuses_to_serve(env, line)


# -- GET /v1/rtc/ice-servers over HTTP ----------------------------------------------------------


@pytest.fixture(scope="module")
def stun_url(start_server: Callable[..., ServerProcess]) -> str:
    return start_server("sqlite", stun_urls=",".join(STUN)).url


@pytest.fixture(scope="module")
def turn_url(start_server: Callable[..., ServerProcess]) -> str:
    return start_server(
        "sqlite",
        stun_urls=",".join(STUN),
        turn_urls=",".join(TURN),
        turn_secret=SECRET,
        turn_ttl=TTL,
    ).url


def test_without_settings_there_are_no_ice_servers(base_url: str) -> None:
    assert ice(register(base_url)) == {"ice_servers": [], "expires_at": None}


def test_stun_only(stun_url: str) -> None:
    assert ice(register(stun_url)) == {"ice_servers": [{"urls": STUN}], "expires_at": None}


def test_turn_credentials_for_the_caller(turn_url: str) -> None:
    alice, bob = register(turn_url), register(turn_url)
    before = datetime.now(UTC).replace(microsecond=0)
    data = ice(alice)
    after = datetime.now(UTC)
    stun, turn = data["ice_servers"]
    assert stun == {"urls": STUN}
    assert set(turn) == {"urls", "username", "credential"}
    assert turn["urls"] == TURN
    expiry, user_id = turn["username"].split(":")
    assert user_id == alice.id
    assert turn["credential"] == credential_of(SECRET, turn["username"])
    expires_at = rfc3339(data["expires_at"])
    assert expires_at == datetime.fromtimestamp(int(expiry), UTC)
    assert before + timedelta(seconds=TTL) <= expires_at <= after + timedelta(seconds=TTL)
    # Each user gets their own: the username names them.
    assert ice(bob)["ice_servers"][1]["username"].endswith(f":{bob.id}")


def test_ice_servers_need_an_access_token(turn_url: str) -> None:
    user = register(turn_url)
    anonymous = client(turn_url)
    assert_error(anonymous.get("/rtc/ice-servers"), 40103)
    for header in (f"Bearer {user.refresh_token}", "Bearer not.a.jwt", "Basic dTpw", "Bearer"):
        response = anonymous.get("/rtc/ice-servers", headers={"Authorization": header})
        assert_error(response, 40103)
    assert_error(user.post("/rtc/ice-servers"), 40500)


def test_ice_servers_are_documented_as_an_extension(base_url: str) -> None:
    document = httpx.get(f"{base_url}/v1/openapi.json", timeout=15).json()
    operation = document["paths"]["/v1/rtc/ice-servers"]["get"]
    assert operation["x-extension"] is True
    assert operation["security"] == [{"BearerAuth": []}]
    assert "401" in operation["responses"]
    server = document["components"]["schemas"]["IceServer"]
    assert server["required"] == ["urls"]
    assert server["properties"]["username"]["type"] == "string"
    participant = document["components"]["schemas"]["Participant"]
    assert participant["properties"]["screen_sharing"]["x-extension"] is True


# -- /sdk/: the browser SDK, served from the package ----------------------------------------


@pytest.mark.parametrize(("name", "content_type"), SDK_FILES.items())
def test_sdk_files_are_served_from_the_package(base_url: str, name: str, content_type: str) -> None:
    on_disk = (SDK_DIR / name).read_bytes()
    response = httpx.get(f"{base_url}/sdk/{name}", timeout=15)
    assert response.status_code == 200, response.text
    assert response.content == on_disk
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-length"] == str(len(on_disk))
    assert response.headers["last-modified"]
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"'), etag

    head = httpx.head(f"{base_url}/sdk/{name}", timeout=15)
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)


@pytest.mark.parametrize("name", SDK_FILES)
def test_sdk_files_revalidate_with_their_etag(base_url: str, name: str) -> None:
    url = f"{base_url}/sdk/{name}"
    etag = httpx.get(url, timeout=15).headers["etag"]
    for validator in (etag, f"W/{etag}", f'"other", {etag}'):
        response = httpx.get(url, headers={"If-None-Match": validator}, timeout=15)
        assert (response.status_code, response.content) == (304, b""), validator
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "no-cache"
    changed = httpx.get(url, headers={"If-None-Match": '"an-older-build"'}, timeout=15)
    assert changed.status_code == 200
    assert changed.content == (SDK_DIR / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/sdk/nope.js",
        "/sdk/",
        "/sdk/aimeeting-sdk.js/x",
        "/sdk/..%2F..%2Fconfig.py",  # outside the SDK's folder: not served
        "/sdk/%2e%2e/%2e%2e/config.py",
    ],
)
def test_unknown_sdk_files_are_the_apis_404(base_url: str, path: str) -> None:
    response = httpx.get(f"{base_url}{path}", timeout=15)
    assert response.status_code == 404, (path, response.text)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 40400


def test_sdk_files_refuse_other_methods(base_url: str) -> None:
    response = httpx.post(f"{base_url}/sdk/aimeeting-sdk.js", timeout=15)
    assert response.status_code == 405
    assert response.json()["code"] == 40500
    assert response.headers["allow"] == "GET, HEAD"


async def test_sdk_etag_follows_the_content(tmp_path: Path) -> None:
    """A rebuilt SDK of the same size and mtime (reproducible wheels fix every mtime) still
    gets a new ETag. In process: the package's files must not change under the test servers."""
    app = Starlette(routes=[Mount("/sdk", RevalidatedFiles(tmp_path))])
    path = tmp_path / "aimeeting-sdk.js"
    path.write_text('export const VERSION = "0.1.0";\n')
    stat = path.stat()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sdk.test") as http:
        first = await http.get("/sdk/aimeeting-sdk.js")
        assert first.headers["content-type"] == "text/javascript; charset=utf-8"
        path.write_text('export const VERSION = "0.1.1";\n')
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_size == stat.st_size
        etag = first.headers["etag"]
        second = await http.get("/sdk/aimeeting-sdk.js", headers={"If-None-Match": etag})
    assert second.status_code == 200
    assert second.text == 'export const VERSION = "0.1.1";\n'
    assert second.headers["etag"] != first.headers["etag"]


def test_sdk_files_go_into_the_wheel() -> None:
    """hatch packages every file under src/aimeeting that .gitignore does not exclude."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: .gitignore cannot be checked")
    for name in SDK_FILES:
        path = f"src/aimeeting/server/static/sdk/{name}"
        assert (ROOT / path).is_file(), path
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False
        )
        assert ignored.returncode == 1, f"{path} is git-ignored, so hatch leaves it out"
