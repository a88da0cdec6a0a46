"""Our own ``/v1/openapi.json`` and routes against the contract: every path and method of the
contract is served under ``/v1`` and described (same operationIds, same security, every error code
the contract lists); Swagger UI; extensions marked ``x-extension: true``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.utils.api import new_ip
from tests.utils.contract import API, HTTP_METHODS, OPERATIONS, SPEC, contract_operation, resolve

TIMEOUT = 15.0


def op_id(operation: tuple[str, str]) -> str:
    return f"{operation[1].upper()} {operation[0]}"


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
