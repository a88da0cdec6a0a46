"""What each operation adds to the OpenAPI document (``openapi.py`` builds the document itself):
its JSON request body, and its error responses described the contract's way.

The contract documents errors as shared responses (``BadRequest``, ``Unauthorized``, …) with
named examples; ours are the same components, with our extension codes added as examples
marked ``x-extension: true``. An operation refers to the shared response for each status the
contract lists for it; a status the contract doesn't list there is inlined and marked.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from aimeeting.protocol import ErrorCode
from aimeeting.server.api.envelope import ErrorBody

E = ErrorCode

# status → (component name, description, {example name: code}); names are the contract's.
_CONTRACT: dict[int, tuple[str, str, dict[str, ErrorCode]]] = {
    400: (
        "BadRequest",
        "请求参数错误",
        {
            "invalid_email": E.INVALID_EMAIL,
            "invalid_password": E.INVALID_PASSWORD,
            "missing_field": E.MISSING_FIELD,
        },
    ),
    401: (
        "Unauthorized",
        "未认证或认证失败",
        {
            "wrong_credentials": E.WRONG_CREDENTIALS,
            "token_expired": E.TOKEN_EXPIRED,
            "token_invalid": E.TOKEN_INVALID,
        },
    ),
    403: ("Forbidden", "无权限", {"no_permission": E.FORBIDDEN}),
    404: (
        "NotFound",
        "资源不存在",
        {"user_not_found": E.USER_NOT_FOUND, "meeting_not_found": E.MEETING_NOT_FOUND},
    ),
    409: ("Conflict", "资源冲突", {"email_exists": E.EMAIL_TAKEN}),
    429: ("TooManyRequests", "请求过于频繁", {"too_many_requests": E.TOO_MANY_REQUESTS}),
    500: ("InternalServerError", "服务器内部错误", {"internal_error": E.INTERNAL_ERROR}),
}
_EXTENSIONS: dict[int, tuple[str, str, dict[str, ErrorCode]]] = {
    400: (
        "BadRequest",
        "",
        {
            "invalid_parameter": E.INVALID_PARAMETER,
            "meeting_ended": E.MEETING_ENDED,
            "meeting_full": E.MEETING_FULL,
        },
    ),
    413: ("PayloadTooLarge", "请求体过大（扩展）", {"payload_too_large": E.PAYLOAD_TOO_LARGE}),
    429: ("TooManyRequests", "", {"account_locked": E.ACCOUNT_LOCKED}),
}
ERROR_SCHEMA_REF = "#/components/schemas/Error"


def _example(code: ErrorCode, extension: bool) -> dict[str, Any]:
    example: dict[str, Any] = {
        "summary": f"{int(code)} {code.message()}",
        "value": {"code": int(code), "message": code.message()},
    }
    if extension:
        example["x-extension"] = True
    return example


def _error_components() -> dict[str, dict[str, Any]]:
    """``components/responses``: the contract's shared error responses plus our extensions."""
    contract_names = {name for name, _, _ in _CONTRACT.values()}
    components: dict[str, dict[str, Any]] = {}
    for table, extension in ((_CONTRACT, False), (_EXTENSIONS, True)):
        for name, description, codes in table.values():
            response = components.setdefault(
                name,
                {
                    "description": description,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": ERROR_SCHEMA_REF},
                            "examples": {},
                        }
                    },
                },
            )
            if name not in contract_names:  # a whole response of ours, e.g. 413
                response["x-extension"] = True
            examples = response["content"]["application/json"]["examples"]
            examples |= {key: _example(code, extension) for key, code in codes.items()}
    return components


ERROR_COMPONENTS = _error_components()


def _component_name(status: int) -> str:
    return (_CONTRACT.get(status) or _EXTENSIONS[status])[0]


def operation(
    *,
    contract: tuple[int, ...],
    extension: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    body_required: bool = True,
) -> dict[str, Any]:
    """``openapi_extra`` for an operation: its error responses and the JSON body it parses.

    ``contract`` are the error statuses the contract lists for the operation (500 is added),
    ``extension`` the ones we add.
    """
    responses: dict[str, Any] = {}
    for status in (*contract, 500):
        responses[str(status)] = {"$ref": f"#/components/responses/{_component_name(status)}"}
    extra: dict[str, Any] = {"responses": responses}
    for status in extension:
        # Inlined, since nothing may stand beside a $ref: marked as ours.
        inline = copy.deepcopy(ERROR_COMPONENTS[_component_name(status)])
        inline["x-extension"] = True
        responses[str(status)] = inline
    if body is not None:
        schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("title", None)
        extra["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": schema}},
        }
    return extra


def finish(schema: dict[str, Any]) -> None:
    """Add the shared components, and drop FastAPI's 422 (never answered: DECISIONS §1)."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ErrorBody.model_json_schema()
    components["schemas"]["Error"]["title"] = "Error"
    components["responses"] = copy.deepcopy(ERROR_COMPONENTS)
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    for operations in schema["paths"].values():
        for op in operations.values():
            op.get("responses", {}).pop("422", None)
