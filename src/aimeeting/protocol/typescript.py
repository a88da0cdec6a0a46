"""Generate the browser SDK's protocol types from :mod:`aimeeting.protocol`.

``python -m aimeeting.protocol.typescript [--check] [OUT]`` writes ``sdk-js/src/protocol.ts``
(``OUT`` instead when given); ``--check`` writes nothing and exits 1, with a diff, when the file
is not what this would write. The enums, codes, texts and limits come from ``messages`` and
``errors``, one ``interface`` per ``TypedDict`` of ``wire``, one ``type`` per union alias there.
"""

from __future__ import annotations

import argparse
import difflib
import enum
import json
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, Union, is_typeddict

from aimeeting.protocol import errors, messages, wire

COMMAND = "python -m aimeeting.protocol.typescript"
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "sdk-js" / "src" / "protocol.ts"
ENUMS: tuple[type[enum.Enum], ...] = (
    messages.ClientMessage,
    messages.ServerMessage,
    messages.MediaAction,
    messages.MeetingStatus,
    messages.CloseCode,
    errors.ErrorCode,
)
CONSTANTS = ("MAX_CHAT_LENGTH", "MAX_CLIENT_MSG_ID_LENGTH")
PRIMITIVES: dict[object, str] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
    None: "null",
    Any: "unknown",
    object: "unknown",
}


def ts_type(tp: Any, aliases: Mapping[object, str] | None = None) -> str:
    """The TypeScript for one Python annotation (``aliases``: union objects known by a name)."""
    aliases = aliases or {}
    if tp in PRIMITIVES:
        return PRIMITIVES[tp]
    if is_typeddict(tp) or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return str(tp.__name__)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (NotRequired, Required, typing.Annotated):
        return ts_type(args[0], aliases)
    if origin is Literal:
        return " | ".join(
            json.dumps(arg.value if isinstance(arg, enum.Enum) else arg) for arg in args
        )
    if origin in (Union, types.UnionType):
        if tp in aliases:
            return aliases[tp]
        return " | ".join(ts_type(arg, aliases) for arg in args)
    if origin in (list, tuple) and (origin is list or args[1:] == (...,)):
        item = ts_type(args[0], aliases)
        return f"({item})[]" if " " in item else f"{item}[]"
    if origin is dict and args[0] is str:
        return f"Record<string, {ts_type(args[1], aliases)}>"
    raise TypeError(f"no TypeScript for {tp!r}")


def is_optional(td: Any, key: str, hint: Any) -> bool:
    """Whether ``key`` of TypedDict ``td`` may be absent (read from the hint too: with string
    annotations, Python 3.11 files a ``NotRequired`` key under ``__required_keys__``)."""
    origin = typing.get_origin(hint)
    return origin is NotRequired or (origin is not Required and key in td.__optional_keys__)


def _doc(obj: object) -> list[str]:
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else None
    if not doc:
        return []
    text = " ".join(doc.strip().split("\n\n")[0].split()).replace("``", "`").replace("*/", "*\\/")
    return [f"/** {text} */"]


def interface(td: type, aliases: Mapping[object, str]) -> list[str]:
    hints = typing.get_type_hints(td, include_extras=True)
    if not hints:
        return [*_doc(td), f"export type {td.__name__} = Record<string, never>;"]
    lines = [*_doc(td), f"export interface {td.__name__} {{"]
    for name, hint in hints.items():
        optional = "?" if is_optional(td, name, hint) else ""
        lines.append(f"  {name}{optional}: {ts_type(hint, aliases)};")
    return [*lines, "}"]


def enum_block(cls: type[enum.Enum]) -> list[str]:
    lines = [*_doc(cls), f"export enum {cls.__name__} {{"]
    lines += [f"  {member.name} = {json.dumps(member.value)}," for member in cls]
    return [*lines, "}"]


def generate() -> str:
    out = [
        f"// generated from aimeeting.protocol by `{COMMAND}`; do not edit.",
        "// The realtime WebSocket API's messages (docs/realtime.md), as the server sends them.",
    ]
    for cls in ENUMS:
        out += ["", *enum_block(cls)]
    out.append("")
    out += [f"export const {name} = {getattr(messages, name)};" for name in CONSTANTS]
    out += [
        "",
        "export const ERROR_MESSAGES: Readonly<Record<ErrorCode, { zh: string; en: string }>> = {",
    ]
    for code in errors.ErrorCode:
        zh, en = json.dumps(code.message("zh"), ensure_ascii=False), json.dumps(code.message("en"))
        out.append(f"  [ErrorCode.{code.name}]: {{ zh: {zh}, en: {en} }},")
    out.append("};")
    aliases = {
        value: name
        for name, value in vars(wire).items()
        if typing.get_origin(value) in (Union, types.UnionType)
    }
    for name, value in vars(wire).items():
        if is_typeddict(value) and value.__module__ == wire.__name__:
            out += ["", *interface(value, aliases)]
        elif typing.get_origin(value) in (Union, types.UnionType):
            members = " | ".join(ts_type(arg, aliases) for arg in typing.get_args(value))
            out += ["", f"export type {name} = {members};"]
    for side in ("Client", "Server"):  # discriminated unions: `switch (m.type)` narrows `m.data`
        out += [
            "",
            f"export type {side}Envelope = {{",
            f'  [T in keyof {side}MessageData]: Omit<Envelope, "type" | "data"> & {{',
            "    type: T;",
            f"    data: {side}MessageData[T];",
            "  };",
            f"}}[keyof {side}MessageData];",
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if OUT is not up to date")
    parser.add_argument(
        "out", nargs="?", type=Path, default=DEFAULT_OUT, help="default: %(default)s"
    )
    args = parser.parse_args(argv)
    text = generate()
    if not args.check:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        return 0
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if current == text:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        text.splitlines(keepends=True),
        str(args.out),
        "generated",
    )
    sys.stdout.writelines(diff)
    print(f"{args.out} is out of date: run `{COMMAND}`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
