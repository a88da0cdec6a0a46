"""Every server message a test receives must be what ``aimeeting.protocol.wire`` says.

The TypedDicts become JSON Schemas, strict ones: no key missing, no key unknown, integers that
are integers, enum and literal values only. (Pydantic's ``TypeAdapter`` would build them, but
refuses ``typing.TypedDict`` before Python 3.12; the mapping is small enough to own.) One
validator per message type, compiled on first use.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from typing import Any, Literal, NotRequired, Required, Union, is_typeddict

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from aimeeting.protocol import wire
from aimeeting.protocol.typescript import is_optional

PRIMITIVES: dict[object, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    None: {"type": "null"},
    Any: {},
}

# 1.0 is no integer on this wire (JSON Schema's own checker would take it).
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: type(value) is int
    ),
)


def json_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of one annotation; TypedDicts go to ``defs`` and are referenced by name."""
    if tp in PRIMITIVES:
        return PRIMITIVES[tp]
    if is_typeddict(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # before the fields: a TypedDict may refer to itself
            hints = typing.get_type_hints(tp, include_extras=True)
            defs[tp.__name__] = {
                "type": "object",
                "properties": {name: json_schema(hint, defs) for name, hint in hints.items()},
                "required": sorted(k for k, h in hints.items() if not is_optional(tp, k, h)),
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [member.value for member in tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (NotRequired, Required, typing.Annotated):
        return json_schema(args[0], defs)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        return {"anyOf": [json_schema(arg, defs) for arg in args]}
    if origin is list:
        return {"type": "array", "items": json_schema(args[0], defs)}
    if origin is dict and args[0] is str:
        return {"type": "object", "additionalProperties": json_schema(args[1], defs)}
    raise TypeError(f"no JSON Schema for {tp!r}")


def schema_of(tp: Any) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = json_schema(tp, defs)
    return {**root, "$defs": defs}


@functools.cache
def _validator(tp: Any) -> Any:
    schema = schema_of(tp)
    StrictValidator.check_schema(schema)
    return StrictValidator(schema)


SERVER_DATA: dict[str, Any] = typing.get_type_hints(wire.ServerMessageData)


def check(value: Any, tp: Any, what: str = "value", path: str = "") -> None:
    """``value`` must be a ``tp``, else an AssertionError naming the first thing wrong.
    (``what`` names the value in that message, ``path`` is where it is inside ``what``)."""
    error = best_match(_validator(tp).iter_errors(value))
    if error is not None:
        where = path + "".join(f"[{part!r}]" for part in error.absolute_path)
        raise AssertionError(
            f"{what} does not conform to {getattr(tp, '__name__', tp)} (aimeeting.protocol.wire): "
            f"{error.message} (at {where or 'the top'})"
        )


def check_server_message(message: Any) -> None:
    """A server message: its envelope, its type, and its data as the type says."""
    check(message, wire.Envelope, f"server message {message!r}")
    kind = message["type"]
    assert kind in SERVER_DATA, f"server message of unknown type {kind!r}: {message!r}"
    check(message["data"], SERVER_DATA[kind], f"server message {message!r}", "data")
