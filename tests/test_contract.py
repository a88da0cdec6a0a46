"""Contract conformance: the running server against the customer's OpenAPI contract.

The contract is ``../shared/contract/openapi.yaml`` (beside the checkout, as in CI), or the file
named by ``AIMEETING_CONTRACT_SPEC``. Without it these tests skip, saying so.

What is checked, all over real HTTP against real servers (SQLite and PostgreSQL):
- every path and method of the contract is served under ``/v1`` and described in our own
  ``/v1/openapi.json`` (same operationIds, same security, every error code the contract lists);
- Swagger UI and the served document exist; extensions are marked ``x-extension: true``;
- real responses of a realistic scenario validate against the contract's schemas (OpenAPI 3.0
  converted to JSON Schema here), strictly for 2xx: every property the contract lists is present,
  timestamps are RFC 3339 in UTC with ``Z``;
- schemathesis (pinned 4.32.5) fuzzes the server with the contract's spec.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from jsonschema import Draft4Validator, FormatChecker

from tests.conftest import contract_dir
from tests.utils.api import (
    PASSWORD,
    client,
    create_meeting,
    new_ip,
    register,
    unique_email,
)
from tests.utils.server import ServerProcess


def _spec_path() -> Path:
    configured = os.environ.get("AIMEETING_CONTRACT_SPEC")
    return Path(configured) if configured else contract_dir() / "openapi.yaml"


SPEC_PATH = _spec_path()
if not SPEC_PATH.is_file():
    pytest.skip(
        f"contract spec not found at {SPEC_PATH} (set AIMEETING_CONTRACT_SPEC to its path, or "
        "check out shared/ beside the repository): contract conformance not tested",
        allow_module_level=True,
    )
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
TIMEOUT = 15.0
API = "/v1"

# --------------------------------------------------------------------------- the contract


def contract_operations() -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


OPERATIONS = contract_operations()


def op_id(operation: tuple[str, str]) -> str:
    return f"{operation[1].upper()} {operation[0]}"


def resolve(node: Any, root: dict[str, Any] | None = None) -> Any:
    """Follow local ``$ref``s (``#/components/...``) until a real node."""
    root = SPEC if root is None else root
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are supported, got {ref}"
        assert ref not in seen, f"$ref cycle at {ref}"
        seen.add(ref)
        node = root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def contract_operation(path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = SPEC["paths"][path][method]
    return operation


def error_codes(response: dict[str, Any], root: dict[str, Any] | None = None) -> set[int]:
    """The ``code``s of the examples of a response object (``examples`` map or ``example``)."""
    codes: set[int] = set()
    for media in resolve(response, root).get("content", {}).values():
        examples = [resolve(e, root).get("value") for e in media.get("examples", {}).values()]
        if "example" in media:
            examples.append(media["example"])
        codes |= {e["code"] for e in examples if isinstance(e, dict) and "code" in e}
    return codes


def contract_error_codes() -> set[int]:
    """Every error code the contract names anywhere."""
    codes: set[int] = set()
    for path, method in OPERATIONS:
        for response in contract_operation(path, method)["responses"].values():
            codes |= error_codes(response)
    for response in SPEC.get("components", {}).get("responses", {}).values():
        codes |= error_codes(response)
    return codes


# OpenAPI 3.0 keywords that are not JSON Schema validation keywords.
_OPENAPI_ONLY = {
    "nullable",
    "example",
    "examples",
    "xml",
    "externalDocs",
    "discriminator",
    "readOnly",
    "writeOnly",
    "deprecated",
}


def to_json_schema(node: Any, *, strict: bool = False) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema (draft 4): ``$ref``s inlined, ``nullable: true`` as
    ``type: [t, "null"]``, ``allOf``/``anyOf``/``oneOf``/``items`` converted recursively.

    ``strict``: every property an object lists is required (the contract's success payloads
    describe every field a client may read, so each one must be there, ``null`` where nullable).
    """
    node = resolve(node)
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _OPENAPI_ONLY:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, strict=strict) for name, sub in value.items()}
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub, strict=strict) for sub in value]
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value, strict=strict)
        else:
            out[key] = copy.deepcopy(value)
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if strict and "properties" in out:
        out["required"] = sorted(set(out.get("required", [])) | set(out["properties"]))
    return out


_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 in UTC with ``Z`` (DECISIONS §1), and a real date and time."""
    if not isinstance(value, str):
        return True
    if not _RFC3339_UTC.fullmatch(value):
        return False
    datetime.fromisoformat(value[:-1] + "+00:00")
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


# DECISIONS.md §4: join's optional body `{"audio_muted", "video_muted"}` (extension).
BODY_EXTENSIONS = {("/meetings/{meeting_number}/join", "post")}


def constrained(parameter: dict[str, Any]) -> bool:
    """A parameter some value can break (a plain string like an id cannot)."""
    schema = resolve(parameter.get("schema", {}))
    rules = {"enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "format"}
    return schema.get("type", "string") != "string" or bool(rules & set(schema))


def extension_statuses(path: str, method: str) -> set[int]:
    """Statuses the contract does not list for an operation that DECISIONS.md allows anyway:
    400 for bad parameters or bodies (§2: 40003/40004) wherever there is input, and 413 for an
    oversized body (extension 41301) wherever a body is read."""
    operation = contract_operation(path, method)
    reads_body = "requestBody" in operation or (path, method) in BODY_EXTENSIONS
    statuses = set()
    if reads_body or any(constrained(resolve(p)) for p in operation.get("parameters", [])):
        statuses.add(400)
    if reads_body:
        statuses.add(413)
    return statuses


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    """The contract's JSON Schema for this response: its own for a status it lists (strict for
    2xx), the contract's ``Error`` for a DECISIONS.md extension status, else None (not allowed)."""
    responses = contract_operation(path, method)["responses"]
    if str(status) in responses:
        media = resolve(responses[str(status)]).get("content", {}).get("application/json", {})
        schema: dict[str, Any] = to_json_schema(media.get("schema", {}), strict=200 <= status < 300)
        return schema
    if status in extension_statuses(path, method):
        error: dict[str, Any] = to_json_schema(SPEC["components"]["schemas"]["Error"])
        return error
    return None


def schema_violations(body: Any, schema: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(schema, format_checker=FORMATS)
    return [
        f"at {'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]


def body_problems(path: str, method: str, status: int, text: str, content_type: str) -> list[str]:
    """Everything wrong with one real response, measured against the contract."""
    where = f"{method.upper()} {API}{path} → {status}"
    if not content_type.startswith("application/json"):
        return [f"{where}: Content-Type {content_type!r}, the contract says application/json"]
    try:
        body = json.loads(text)
    except ValueError:
        return [f"{where}: body is not JSON: {text[:300]!r}"]
    schema = response_schema(path, method, status)
    if schema is None:
        documented = sorted(contract_operation(path, method)["responses"])
        return [
            f"{where}: the contract lists {documented} and DECISIONS.md allows no other status "
            f"here; body {text[:300]}"
        ]
    problems = [f"{where}: {v}; body {text[:600]}" for v in schema_violations(body, schema)]
    code = body.get("code") if isinstance(body, dict) else None
    if 200 <= status < 300 and code != 0:
        problems.append(f"{where}: success with code {code!r}, expected 0")
    if status >= 400 and not (isinstance(code, int) and code // 100 == status):
        problems.append(f"{where}: error code {code!r} does not start with the status")
    return problems


def check(response: httpx.Response, path: str, method: str | None = None) -> dict[str, Any]:
    """Assert that a real response conforms to the contract's operation; return its body."""
    method = (method or response.request.method).lower()
    problems = body_problems(
        path,
        method,
        response.status_code,
        response.text,
        response.headers.get("content-type", ""),
    )
    assert not problems, "\n".join(problems)
    body: dict[str, Any] = response.json()
    return body


def check_error(
    response: httpx.Response, path: str, code: int, method: str | None = None
) -> dict[str, Any]:
    body = check(response, path, method)
    assert (response.status_code, body["code"]) == (code // 100, code), response.text
    return body


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def served(base_url: str) -> dict[str, Any]:
    """Our own served OpenAPI document."""
    response = httpx.get(f"{base_url}{API}/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def served_operation(served: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = served["paths"].get(f"{API}{path}", {}).get(method)
    assert operation is not None, f"{method.upper()} {API}{path} is not in /v1/openapi.json"
    result: dict[str, Any] = operation
    return result


def placeholder_path(path: str) -> str:
    """The path with each parameter replaced by the contract's example, or a placeholder."""
    examples = {}
    for method in HTTP_METHODS:
        for parameter in SPEC["paths"][path].get(method, {}).get("parameters", []):
            parameter = resolve(parameter)
            example = parameter.get("example", parameter.get("schema", {}).get("example"))
            examples[parameter["name"]] = str(example) if example is not None else "placeholder"
    return re.sub(r"\{([^}]+)\}", lambda m: examples.get(m[1], "placeholder"), path)


# --------------------------------------------------------------------------- 1. served


@pytest.mark.parametrize("operation", OPERATIONS, ids=op_id)
def test_contract_operation_is_in_served_document(
    served: dict[str, Any], operation: tuple[str, str]
) -> None:
    path, method = operation
    served_operation(served, path, method)


@pytest.mark.parametrize("operation", OPERATIONS, ids=op_id)
def test_contract_operation_is_routed(base_url: str, operation: tuple[str, str]) -> None:
    """A bare request (no token, no body) reaches the operation: never 40400 nor 405."""
    path, method = operation
    url = f"{base_url}{API}{placeholder_path(path)}"
    response = httpx.request(
        method.upper(), url, headers={"X-Forwarded-For": new_ip()}, timeout=TIMEOUT
    )
    assert response.status_code != 405, (url, response.text)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("code"), int), response.text
    assert body["code"] != 40400, (url, response.text)
    assert body["code"] // 100 == response.status_code or body["code"] == 0, response.text


def test_served_document_and_swagger_ui(base_url: str, served: dict[str, Any]) -> None:
    assert str(served["openapi"]).startswith("3."), served.get("openapi")
    assert served["info"]["title"]
    docs = httpx.get(f"{base_url}{API}/docs", timeout=TIMEOUT)
    assert docs.status_code == 200, docs.text
    assert docs.headers["content-type"].startswith("text/html"), docs.headers
    assert "swagger-ui" in docs.text.lower()
    assert f"{API}/openapi.json" in docs.text


def test_bearer_security_scheme_and_secured_operations(served: dict[str, Any]) -> None:
    schemes = served.get("components", {}).get("securitySchemes", {})
    bearer = schemes.get("BearerAuth")
    assert bearer is not None, f"no BearerAuth security scheme: {schemes}"
    assert bearer["type"] == "http" and bearer["scheme"].lower() == "bearer", bearer
    mismatches = []
    for path, method in OPERATIONS:
        expected = contract_operation(path, method).get("security", SPEC.get("security", []))
        ours = served_operation(served, path, method).get("security", served.get("security", []))
        names = sorted(name for requirement in expected for name in requirement)
        if sorted(name for requirement in ours for name in requirement) != names:
            mismatches.append(f"{method.upper()} {path}: contract {expected}, ours {ours}")
    assert not mismatches, "\n".join(mismatches)


def test_operation_ids_match_contract(served: dict[str, Any]) -> None:
    mismatches = [
        f"{method.upper()} {path}: contract {contract_operation(path, method).get('operationId')!r}"
        f", ours {served_operation(served, path, method).get('operationId')!r}"
        for path, method in OPERATIONS
        if contract_operation(path, method).get("operationId")
        != served_operation(served, path, method).get("operationId")
    ]
    assert not mismatches, "\n".join(mismatches)


def test_contract_error_codes_are_documented(served: dict[str, Any]) -> None:
    """Every error code the contract lists for an operation's status is in our document there."""
    missing = []
    for path, method in OPERATIONS:
        ours = served_operation(served, path, method)["responses"]
        for status, response in contract_operation(path, method)["responses"].items():
            expected = error_codes(response)
            if not expected:
                continue
            if status not in ours:
                missing.append(f"{method.upper()} {path}: status {status} not documented")
                continue
            absent = expected - error_codes(ours[status], served)
            if absent:
                missing.append(f"{method.upper()} {path} {status}: codes {sorted(absent)}")
    assert not missing, "documented by the contract, missing from /v1/openapi.json:\n" + (
        "\n".join(missing)
    )


def test_extension_operations_are_marked(served: dict[str, Any]) -> None:
    """Operations and request bodies beyond the contract carry ``x-extension: true``."""
    contract = set(OPERATIONS)
    unmarked = []
    for path, item in served["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            ours = path.removeprefix(API) if path.startswith(f"{API}/") else None
            if (ours, method) not in contract:
                if operation.get("x-extension") is not True:
                    unmarked.append(f"operation {method.upper()} {path}")
                continue
            assert ours is not None
            body = operation.get("requestBody")
            extension_body = body and "requestBody" not in contract_operation(ours, method)
            if extension_body and body.get("x-extension") is not True:
                unmarked.append(f"request body of {method.upper()} {path}")
    assert not unmarked, "extensions without x-extension: true:\n" + "\n".join(unmarked)


def test_extension_responses_are_marked(served: dict[str, Any]) -> None:
    """Error codes the contract never names (40004, 41301, 42902...) and statuses it does not list
    for an operation carry ``x-extension: true`` (on the example, or on the response), as the
    served document's own description says they do."""
    known = contract_error_codes()
    unmarked = []
    for path, method in OPERATIONS:
        documented = contract_operation(path, method)["responses"]
        for status, response in served_operation(served, path, method)["responses"].items():
            if status == "422":
                continue  # not a response of this API at all: see the test below
            where = f"{method.upper()} {API}{path} {status}"
            if response.get("x-extension") is True:
                continue
            if status not in documented:
                unmarked.append(f"{where}: status not in the contract")
                continue
            for media in response.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    code = example.get("value", {}).get("code")
                    if code not in known and example.get("x-extension") is not True:
                        unmarked.append(f"{where}: example {name} (code {code})")
    assert not unmarked, "extensions without x-extension: true:\n" + "\n".join(unmarked)


def test_served_document_has_no_default_validation_error(served: dict[str, Any]) -> None:
    """DECISIONS §1: no response ever uses FastAPI's 422 ``{"detail": ...}``; the document must
    not promise one either (client generators would build types for it)."""
    found = [
        f"{method.upper()} {path} {status}"
        for path, item in served["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for status in operation.get("responses", {})
        if status == "422"
    ]
    schemas = served.get("components", {}).get("schemas", {})
    leftovers = sorted({"HTTPValidationError", "ValidationError"} & set(schemas))
    assert not found and not leftovers, f"422 documented: {found}; schemas {leftovers}"


# --------------------------------------------------------------------------- 2. real responses


def test_auth_responses_match_contract(base_url: str) -> None:
    http = client(base_url)
    email = unique_email("contract")
    registered = http.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "nickname": "契约用户"}
    )
    assert registered.status_code == 201, registered.text
    data = check(registered, "/auth/register")["data"]
    assert data["user"]["email"] == email and data["tokens"]["token_type"] == "Bearer"
    assert data["user"]["id"].startswith("user_"), data

    logged_in = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    tokens = check(logged_in, "/auth/login")["data"]["tokens"]
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    refreshed = http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert check(refreshed, "/auth/refresh")["data"]["token_type"] == "Bearer"

    me = http.get("/users/me", headers=auth)
    assert me.status_code == 200, me.text
    assert check(me, "/users/me")["data"]["email"] == email

    logout = http.post("/auth/logout", headers=auth)
    assert logout.status_code == 200, logout.text
    check(logout, "/auth/logout")

    # The errors, each against the contract's response for its status.
    check_error(http.get("/users/me", headers=auth), "/users/me", 40103)
    check_error(http.post("/auth/logout", headers=auth), "/auth/logout", 40103)
    check_error(
        http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        "/auth/refresh",
        40103,
    )
    check_error(http.get("/users/me"), "/users/me", 40103)
    check_error(
        http.get("/users/me", headers={"Authorization": "Bearer not.a.jwt"}), "/users/me", 40103
    )
    check_error(
        http.post("/auth/refresh", json={"refresh_token": "not-a-token"}), "/auth/refresh", 40103
    )
    other = client(base_url)
    check_error(
        other.post("/auth/login", json={"email": email, "password": "Wrong1234"}),
        "/auth/login",
        40101,
    )
    check_error(
        other.post("/auth/login", json={"email": unique_email(), "password": PASSWORD}),
        "/auth/login",
        40101,
    )
    register_path = "/auth/register"
    valid = {"email": unique_email(), "password": PASSWORD, "nickname": "测试用户"}
    check_error(http.post(register_path, json={**valid, "email": email}), register_path, 40901)
    check_error(
        http.post(register_path, json={**valid, "email": "not-an-email"}), register_path, 40001
    )
    check_error(
        http.post(register_path, json={**valid, "password": "short1"}), register_path, 40002
    )
    check_error(
        http.post(register_path, json={**valid, "password": "lettersonly"}), register_path, 40002
    )
    check_error(
        http.post(register_path, json={"email": valid["email"], "password": PASSWORD}),
        register_path,
        40003,
    )
    check_error(
        http.post(register_path, content=b"{", headers={"Content-Type": "application/json"}),
        register_path,
        40003,
    )
    check_error(http.post("/auth/login", json={"email": email}), "/auth/login", 40003)
    check_error(
        http.post("/auth/login", json={"email": "nope", "password": PASSWORD}),
        "/auth/login",
        40001,
    )


def test_meeting_responses_match_contract(base_url: str) -> None:
    alice, bob, carol = register(base_url), register(base_url), register(base_url)

    created = alice.post("/meetings", json={"title": "契约会议"})
    assert created.status_code == 201, created.text
    meeting = check(created, "/meetings")["data"]
    assert re.fullmatch(r"\d{9}", meeting["meeting_number"]), meeting
    assert meeting["status"] == "waiting" and meeting["creator_id"] == alice.id, meeting
    assert meeting["started_at"] is None and meeting["ended_at"] is None, meeting
    untitled = alice.post("/meetings")
    assert untitled.status_code == 201, untitled.text
    assert check(untitled, "/meetings")["data"]["title"] is None

    join_path, detail_path = "/meetings/{meeting_number}/join", "/meetings/{meeting_id}"
    end_path = "/meetings/{meeting_id}/end"
    number, meeting_id = meeting["meeting_number"], meeting["id"]

    joined = alice.post(f"/meetings/{number}/join")
    assert joined.status_code == 200, joined.text
    detail = check(joined, join_path)["data"]
    assert detail["status"] == "active" and detail["started_at"] is not None, detail
    joined = bob.post(f"/meetings/{number}/join")
    assert joined.status_code == 200, joined.text
    detail = check(joined, join_path)["data"]
    assert detail["participant_count"] == len(detail["participants"]) == 2, detail

    for user in (alice, bob):
        response = user.get(f"/meetings/{meeting_id}")
        assert response.status_code == 200, response.text
        assert check(response, detail_path)["data"]["id"] == meeting_id

    for user, kind in ((alice, "my"), (bob, "history"), (carol, "my")):
        response = user.get("/meetings", params={"type": kind, "page": 1, "limit": 1})
        assert response.status_code == 200, response.text
        listing = check(response, "/meetings")["data"]
        assert listing["pagination"]["limit"] == 1, listing
    past_end = alice.get("/meetings", params={"page": 99})
    assert past_end.status_code == 200, past_end.text
    assert check(past_end, "/meetings")["data"]["meetings"] == []

    check_error(carol.get(f"/meetings/{meeting_id}"), detail_path, 40402)
    check_error(carol.post(f"/meetings/{meeting_id}/end"), end_path, 40402)
    check_error(bob.post(f"/meetings/{meeting_id}/end"), end_path, 40301)
    check_error(alice.get("/meetings/meeting_doesnotexist"), detail_path, 40402)
    check_error(carol.post("/meetings/100000000/join"), join_path, 40402)
    check_error(carol.post("/meetings/12345/join"), join_path, 40004)
    check_error(carol.http.post("/meetings"), "/meetings", 40103)
    check_error(carol.http.get("/meetings"), "/meetings", 40103)
    check_error(carol.http.get(f"/meetings/{meeting_id}"), detail_path, 40103)
    check_error(carol.http.post(f"/meetings/{number}/join"), join_path, 40103)
    check_error(carol.http.post(f"/meetings/{meeting_id}/end"), end_path, 40103)
    # DECISIONS §2 extensions, on operations whose contract lists no 400: the Error shape still.
    check_error(alice.get("/meetings", params={"type": "all"}), "/meetings", 40004)
    check_error(alice.post("/meetings", json={"title": "长" * 101}), "/meetings", 40004)

    ended = alice.post(f"/meetings/{meeting_id}/end")
    assert ended.status_code == 200, ended.text
    check(ended, end_path)
    again = alice.post(f"/meetings/{meeting_id}/end")
    assert again.status_code == 200, again.text
    check(again, end_path)
    response = bob.get(f"/meetings/{meeting_id}")
    assert response.status_code == 200, response.text
    detail = check(response, detail_path)["data"]
    assert detail["status"] == "ended" and detail["ended_at"] is not None, detail
    check_error(carol.post(f"/meetings/{number}/join"), join_path, 40005)


@pytest.fixture(scope="module")
def tight_server(backend: str, start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """One login a minute per IP, access tokens that live one second."""
    return start_server(backend, login_rate_limit="1/minute", access_token_ttl=1)


def test_throttled_and_expired_responses_match_contract(tight_server: ServerProcess) -> None:
    base_url = tight_server.url
    user = register(base_url)
    issued = time.monotonic()
    http = client(base_url)
    first = http.post("/auth/login", json={"email": user.email, "password": user.password})
    assert first.status_code == 200, first.text
    check(first, "/auth/login")
    second = http.post("/auth/login", json={"email": user.email, "password": user.password})
    check_error(second, "/auth/login", 42901)
    assert int(second.headers["Retry-After"]) >= 1, second.headers

    # A 1 s token lives up to 2 s: ``exp`` is rounded up to whole seconds.
    time.sleep(max(0.0, issued + 2.05 - time.monotonic()))
    check_error(user.get("/users/me"), "/users/me", 40102)
    check_error(user.post("/meetings"), "/meetings", 40102)
    check_error(user.post("/auth/logout"), "/auth/logout", 40102)


# --------------------------------------------------------------------------- 3. schemathesis

# Checks run on every generated request. Left out, and why:
# - status_code_conformance: the contract does not list the statuses DECISIONS.md adds on purpose
#   (400 40003/40004 on refresh, create meeting and the meeting list, whose contract entries list
#   no 400; 413 41301 for oversized bodies). It is replaced by our own check below, on every
#   recorded response: the status is the contract's, or one of those documented extensions, and
#   the body validates (strictly for 2xx) against the contract's schema.
# - positive_data_acceptance: the contract's request schemas are looser than its own prose
#   (a password needs a letter and a digit, the e-mail format, unknown meeting numbers are 404),
#   so schema-valid requests are rightly refused.
# - object_level_authorization: needs several identities in a WFC auth file; visibility
#   (40402 to strangers, 40301 to non-creators) is driven explicitly above.
SCHEMATHESIS_CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]
# Run options: the contract's spec against our /v1; a fixed seed, so that a failure reproduces
# (`st run ... --seed`); 200 examples per operation (~15 s here); one worker: with several
# threads, CPython 3.11's ast.parse (used by Hypothesis to describe filters) now and then fails
# with "SystemError: AST constructor recursion depth mismatch", a false error of the tool.
SCHEMATHESIS_MAX_EXAMPLES = 200
SCHEMATHESIS_TIMEOUT = 80
SCHEMATHESIS_SEED = 20260214


def _toml(value: str) -> str:
    return json.dumps(value)  # a TOML basic string for ASCII text


def har_entries(path: Path) -> Iterator[tuple[str, str, int, str, str]]:
    """(path template, method, status, body, content type) of every recorded contract call."""
    templates = [
        (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p)
        for p in SPEC["paths"]
    ]
    methods = set(OPERATIONS)
    for entry in json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        url_path = urlsplit(request["url"]).path.removeprefix(API)
        method = request["method"].lower()
        for pattern, template in templates:
            if pattern.match(url_path) and (template, method) in methods:
                content = response.get("content", {})
                yield (
                    template,
                    method,
                    response["status"],
                    content.get("text", ""),
                    content.get("mimeType", ""),
                )
                break


def test_schemathesis(
    backend: str, start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server(backend, login_rate_limit="100000/minute")
    fuzzer, logout_user = register(server.url), register(server.url)
    meeting = create_meeting(fuzzer, "schemathesis")
    # The fuzzer's token on every request; logout gets a session of its own so that it does not
    # log the fuzzer out; detail and end get a real meeting (random ids only ever reach 404).
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f"headers = {{ Authorization = {_toml('Bearer ' + fuzzer.access_token)} }}\n"
        "\n[[operations]]\n"
        'include-operation-id = "logoutUser"\n'
        f"headers = {{ Authorization = {_toml('Bearer ' + logout_user.access_token)} }}\n"
        "\n[[operations]]\n"
        'include-operation-id = ["getMeetingDetail", "endMeeting"]\n'
        f"parameters = {{ meeting_id = {_toml(meeting['id'])} }}\n",
        encoding="utf-8",
    )
    har = tmp_path / "schemathesis.har.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(SPEC_PATH),
        "--url",
        f"{server.url}{API}",
        "--checks",
        ",".join(SCHEMATHESIS_CHECKS),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(SCHEMATHESIS_MAX_EXAMPLES),
        "--seed",
        str(SCHEMATHESIS_SEED),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--continue-on-failure",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "har",
        "--report-dir",
        str(tmp_path / "reports"),
        "--report-har-path",
        str(har),
    ]
    try:
        run = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=SCHEMATHESIS_TIMEOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis ran over {SCHEMATHESIS_TIMEOUT}s:\n{exc.stdout}\n{exc.stderr}")
    # Without the odd very long line (source listings in internal tracebacks), the tail.
    lines = f"{run.stdout}\n{run.stderr}".splitlines()
    output = "\n".join(line if len(line) < 1000 else line[:1000] + " …" for line in lines)

    problems: list[str] = []
    counted = 0
    if har.is_file():
        for template, method, status, text, content_type in har_entries(har):
            counted += 1
            problems += body_problems(template, method, status, text, content_type)
    else:
        problems.append(f"no HAR report at {har}")
    unique = sorted(set(problems))
    assert run.returncode == 0 and not unique and counted > 0, (
        f"schemathesis exit status {run.returncode}; {counted} recorded contract calls; "
        f"{len(unique)} contract violations among them:\n"
        + "\n".join(unique[:40])
        + f"\n\n--- schemathesis output ---\n{output[-20000:]}"
    )


def test_served_document_names_the_contract_schemas(served: dict[str, Any]) -> None:
    """The contract's component schemas and shared responses exist under the same names."""
    ours = served["components"]
    for section in ("schemas", "responses"):
        missing = set(SPEC["components"][section]) - set(ours.get(section, {}))
        assert not missing, f"components/{section} missing from /v1/openapi.json: {missing}"
    for name, schema in SPEC["components"]["schemas"].items():
        props = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            props |= set(part.get("properties", {}))
        served_schema = ours["schemas"][name]
        served_props = set(served_schema.get("properties", {}))
        for part in served_schema.get("allOf", []):
            served_props |= set(part.get("properties", {}))
        assert props <= served_props, f"{name}: {props - served_props} not described"
