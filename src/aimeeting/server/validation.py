"""Request data → typed models, with the contract's error codes (DECISIONS.md §2).

When several rules are broken, the first row of the table in §2 wins:
missing/null (40003) → email (40001) → password (40002) → anything else (40004).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from aimeeting.protocol import ErrorCode
from aimeeting.server.errors import InvalidInput

PRECEDENCE = (
    ErrorCode.MISSING_FIELD,
    ErrorCode.INVALID_EMAIL,
    ErrorCode.INVALID_PASSWORD,
    ErrorCode.INVALID_PARAMETER,
)

# The HTML standard's "valid email address", with at least one dot in the domain.
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)


class RequestModel(BaseModel):
    """A request body: strict types (no "1" for 1), unknown keys ignored for forward compatibility.

    ``field_codes`` names the fields whose every error has a code of its own (email → 40001).
    """

    model_config = ConfigDict(strict=True, extra="ignore")
    field_codes: ClassVar[Mapping[str, ErrorCode]] = {}


Model = TypeVar("Model", bound=RequestModel)


def invalid(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise invalid("email", "not a valid email address")
    return email


def check_password(value: str) -> str:
    if not 8 <= len(value) <= 32:
        raise invalid("password", "must be 8-32 characters")
    if not any(ch.isalpha() for ch in value) or not any(ch.isdecimal() for ch in value):
        raise invalid("password", "must contain a letter and a digit")
    return value


def clean_text(
    value: str,
    *,
    field: str,
    min_length: int,
    max_length: int,
    trimmed_max: bool = False,
    allowed_controls: str = "",
) -> str:
    """Trimmed text without control characters (NUL, escapes...) but ``allowed_controls``, at
    least ``min_length`` long once trimmed (DECISIONS §2) and at most ``max_length`` as sent (the
    contract's maxLength), or once trimmed with ``trimmed_max``.
    """
    text = value.strip()
    if len(text if trimmed_max else value) > max_length:
        raise invalid(field, f"must be at most {max_length} characters")
    if len(text) < min_length:
        raise invalid(field, f"must be at least {min_length} characters, spaces trimmed")
    if _forbidden_controls(allowed_controls).search(text):
        raise invalid(field, "must not contain control characters")
    return text


@functools.cache
def _forbidden_controls(allowed: str) -> re.Pattern[str]:
    """Unicode's control characters (category Cc) and lone surrogates (Cs), but ``allowed``:
    one regular expression, run in C, instead of a category lookup per character."""
    ranges = "\x00-\x1f\x7f-\x9f\ud800-\udfff"
    return re.compile(f"(?![{re.escape(allowed)}])[{ranges}]" if allowed else f"[{ranges}]")


def _code_of(
    error: Mapping[str, Any], field_codes: Mapping[str, ErrorCode], required: Collection[str]
) -> ErrorCode:
    field = str(error["loc"][0]) if error["loc"] else ""
    # null stands for "absent" only where a value is required; elsewhere it's a wrong type.
    if error["type"] == "missing" or (field in required and error.get("input", 0) is None):
        return ErrorCode.MISSING_FIELD
    return field_codes.get(field, ErrorCode.INVALID_PARAMETER)


def to_invalid_input(
    errors: Iterable[Mapping[str, Any]],
    field_codes: Mapping[str, ErrorCode] | None = None,
    required: Collection[str] = (),
) -> InvalidInput:
    """One 400 error for a list of Pydantic errors: the code that comes first in §2's table,
    with ``details`` mapping each field that broke that rule to the reason."""
    codes = field_codes or {}
    found: dict[ErrorCode, dict[str, str]] = {}
    for error in errors:
        field = ".".join(str(part) for part in error["loc"]) or "body"
        found.setdefault(_code_of(error, codes, required), {})[field] = error["msg"]
    code = next(code for code in PRECEDENCE if code in found)
    return InvalidInput(code, found[code])


def parse_json_body(raw: bytes, model: type[Model], *, optional: bool = False) -> Model:
    """Parse and validate a JSON object body; an empty optional body means all defaults."""
    if not raw.strip():
        if optional:
            return model()
        raise InvalidInput(ErrorCode.MISSING_FIELD, {"body": "a JSON object is required"})
    return validate(json_object(raw, "body"), model)


def json_object(raw: str | bytes, where: str) -> dict[str, Any]:
    """Decoded JSON that must be an object; else 40003 naming ``where`` (a body, a frame).

    40003, not 40004: DECISIONS §2's first row puts "not JSON, not an object" with a missing
    body (nothing usable was sent), and that row wins over the others. ``details`` says which
    it was and where the JSON broke, since the code's message speaks only of a missing field.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        problem = f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InvalidInput(ErrorCode.MISSING_FIELD, {where: problem}) from None
    if not isinstance(data, dict):
        names = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}
        problem = f"must be a JSON object, not {names.get(type(data), 'a number')}"
        raise InvalidInput(ErrorCode.MISSING_FIELD, {where: problem})
    return data


def validate(data: dict[str, Any], model: type[Model]) -> Model:
    """A decoded JSON object as ``model``, or the 400 error §2's table names."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        required = [name for name, field in model.model_fields.items() if field.is_required()]
        raise to_invalid_input(exc.errors(include_url=False), model.field_codes, required) from None
