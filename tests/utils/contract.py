"""The customer's OpenAPI contract, and what a real response must be to conform to it.

The contract is ``../shared/contract/openapi.yaml`` (beside the checkout, as in CI), or the file
named by ``AIMEETING_CONTRACT_SPEC``. Without it, the tests that import this module skip, saying
so. Its OpenAPI 3.0 schemas are converted to JSON Schema here.
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft4Validator, FormatChecker


def _spec_path() -> Path:
    configured = os.environ.get("AIMEETING_CONTRACT_SPEC")
    repository = Path(__file__).resolve().parents[2]
    return Path(configured) if configured else repository.parent / "shared/contract/openapi.yaml"


SPEC_PATH = _spec_path()
if not SPEC_PATH.is_file():
    pytest.skip(
        f"contract spec not found at {SPEC_PATH} (set AIMEETING_CONTRACT_SPEC to its path, or "
        "check out shared/ beside the repository): contract conformance not tested",
        allow_module_level=True,
    )
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
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
