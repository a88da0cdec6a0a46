"""One source for the protocol: ``aimeeting.protocol.wire`` describes every WebSocket message,
``sdk-js/src/protocol.ts`` is generated from it, and the server's messages conform to it (every
message ``tests.utils.ws.WsClient`` receives is checked by ``tests.utils.wire``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, NotRequired, Optional, TypedDict

import pytest

from aimeeting.protocol import ClientMessage, MediaAction, ServerMessage, wire
from aimeeting.protocol.typescript import COMMAND, DEFAULT_OUT, generate, interface, main, ts_type
from tests.utils.wire import check, check_server_message

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "sdk-js" / "src" / "protocol.ts"


def test_the_committed_typescript_is_what_the_generator_writes() -> None:
    assert DEFAULT_OUT == COMMITTED
    assert COMMITTED.exists(), f"{COMMITTED} is missing: run `{COMMAND}`"
    assert COMMITTED.read_text(encoding="utf-8") == generate(), (
        f"{COMMITTED.relative_to(ROOT)} is stale (aimeeting.protocol changed): run `{COMMAND}`"
    )


def test_generation_is_deterministic_and_says_where_it_comes_from() -> None:
    text = generate()
    assert text == generate()
    assert text.startswith(f"// generated from aimeeting.protocol by `{COMMAND}`; do not edit.")


def test_check_mode_reports_a_stale_file_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "protocol.ts"
    assert main(["--check", str(out)]) == 1  # missing
    assert main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == generate()
    assert main(["--check", str(out)]) == 0
    out.write_text(generate().replace("mute_audio", "mute_it"), encoding="utf-8")
    capsys.readouterr()
    assert main(["--check", str(out)]) == 1
    captured = capsys.readouterr()
    assert '-  MUTE_AUDIO = "mute_it",' in captured.out
    assert '+  MUTE_AUDIO = "mute_audio",' in captured.out
    assert COMMAND in captured.err


def test_the_command_line_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aimeeting.protocol.typescript", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class _Inner(TypedDict):
    x: int


_Alias = _Inner | None


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, "string"),
        (int, "number"),
        (float, "number"),
        (bool, "boolean"),
        (None, "null"),
        (type(None), "null"),
        (Any, "unknown"),
        (object, "unknown"),
        (Literal["offer", "answer"], '"offer" | "answer"'),
        (Literal[1, True], "1 | true"),
        (str | None, "string | null"),
        (Optional[int], "number | null"),  # noqa: UP045 (the old spelling maps the same)
        (list[str], "string[]"),
        (list[str | None], "(string | null)[]"),
        (list[list[bool]], "boolean[][]"),
        (dict[str, Any], "Record<string, unknown>"),
        (dict[str, list[int]], "Record<string, number[]>"),
        (_Inner, "_Inner"),
        (list[_Inner], "_Inner[]"),
        (_Inner | None, "_Inner | null"),
        (MediaAction, "MediaAction"),
        (NotRequired[str], "string"),
    ],
)
def test_typescript_of_each_python_type_form(annotation: Any, expected: str) -> None:
    assert ts_type(annotation) == expected


def test_a_named_union_is_referred_to_by_its_name() -> None:
    assert ts_type(_Alias, {_Alias: "Alias"}) == "Alias"
    assert ts_type(
        wire.WebRTCSignalSendData.__annotations__["signal"], {wire.Signal: "Signal"}
    ) == ("Signal")


@pytest.mark.parametrize("annotation", [set[int], dict[int, str], tuple[int, str], bytes])
def test_types_without_a_typescript_form_are_refused(annotation: Any) -> None:
    with pytest.raises(TypeError, match="no TypeScript"):
        ts_type(annotation)


def test_interfaces_mark_optional_keys_and_empty_ones_are_empty_records() -> None:
    class Sample(TypedDict):
        """A sample: ``a`` and maybe ``b``."""

        a: str | None
        b: NotRequired[list[_Inner]]

    class Nothing(TypedDict):
        pass

    assert interface(Sample, {}) == [
        "/** A sample: `a` and maybe `b`. */",
        "export interface Sample {",
        "  a: string | null;",
        "  b?: _Inner[];",
        "}",
    ]
    assert interface(Nothing, {}) == ["export type Nothing = Record<string, never>;"]
    check({"a": None}, Sample)  # the schema of the WS tests reads optional keys the same way
    check({"a": "x", "b": [{"x": 1}]}, Sample)
    with pytest.raises(AssertionError, match="'a' is a required property"):
        check({"b": []}, Sample)


def test_the_output_names_every_enum_type_and_map() -> None:
    text = generate()
    for name in ("ClientMessage", "ServerMessage", "MediaAction", "CloseCode", "ErrorCode"):
        assert f"export enum {name} {{" in text
    for name in ("ERROR_MESSAGES", "MAX_CHAT_LENGTH", "MAX_CLIENT_MSG_ID_LENGTH"):
        assert f"export const {name}" in text
    for name, value in vars(wire).items():
        if isinstance(value, type) and value.__module__ == wire.__name__:
            assert f"export interface {name} {{" in text or f"export type {name} =" in text
    assert "export type Signal = SessionDescriptionSignal | CandidateSignal;" in text
    assert '  [ErrorCode.MEETING_NOT_FOUND]: { zh: "会议不存在", en: "Meeting not found" },' in text


def test_the_maps_name_every_message_type() -> None:
    assert set(wire.ClientMessageData.__annotations__) == {m.value for m in ClientMessage}
    assert set(wire.ServerMessageData.__annotations__) == {m.value for m in ServerMessage}
    assert wire.ClientMessageData.__required_keys__ == set(wire.ClientMessageData.__annotations__)


def test_the_wire_module_needs_nothing_but_the_standard_library() -> None:
    code = (
        "import sys, aimeeting.protocol.wire, aimeeting.protocol.typescript;"
        "print(sorted(m for m in ('pydantic', 'fastapi', 'jsonschema') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_the_wire_agrees_with_the_servers_models() -> None:
    """The REST models the server dumps into messages (a quick check; the WS tests check the
    messages themselves)."""
    from aimeeting.server.chat.schemas import ChatMessage
    from aimeeting.server.meetings.schemas import Participant
    from aimeeting.server.users.schemas import PublicUser

    assert set(Participant.model_fields) == set(wire.ParticipantData.__annotations__)
    assert set(PublicUser.model_fields) == set(wire.UserBrief.__annotations__)
    assert set(ChatMessage.model_fields) == set(wire.ChatMessageData.__annotations__)


@pytest.mark.skipif(
    shutil.which("tsc") is None and not (ROOT / "sdk-js/node_modules/.bin/tsc").exists(),
    reason="no TypeScript compiler (tsc) here: the generated file is not compiled",
)
def test_the_typescript_compiles_strictly(tmp_path: Path) -> None:
    local = ROOT / "sdk-js/node_modules/.bin/tsc"
    tsc = str(local) if local.exists() else "tsc"
    (tmp_path / "protocol.ts").write_text(generate(), encoding="utf-8")
    result = subprocess.run(
        [tsc, "--strict", "--noEmit", "--target", "es2022", str(tmp_path / "protocol.ts")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the conformance check itself --------------------------------------------------------


def _message(type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": type, "seq": 2, "timestamp": 1_767_225_600_000, "data": data}


USER = {"id": "user_1", "nickname": "Alice", "avatar": None}
JOINED = {
    "user": USER,
    "room_id": "meeting_1",
    "participant_count": 1,
    "audio_muted": False,
    "video_muted": True,
    "screen_sharing": False,
    "joined_at": "2026-01-01T00:00:00.000Z",
}


def test_conforming_messages_pass() -> None:
    check_server_message(_message("user_joined", JOINED))
    check_server_message(_message("pong", {"request_seq": None}))
    check_server_message(
        _message("error", {"code": 42901, "message": "x", "request_seq": 3, "details": {"a": 1}})
    )
    check_server_message(
        _message("webrtc_signal", {"room_id": "r", "from_user_id": "u", "signal": {"any": [1]}})
    )
    check_server_message(
        _message("connected", {"user_id": "u", "heartbeat_timeout": 60, "reconnect_grace": 0.5})
    )


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        (_message("user_joined", {**JOINED, "extra": 1}), "'extra' was unexpected"),
        (_message("user_joined", {**JOINED, "user": {**USER, "email": "e"}}), "'email'"),
        (
            _message("user_joined", {k: v for k, v in JOINED.items() if k != "screen_sharing"}),
            "'screen_sharing' is a required property",
        ),
        (_message("user_joined", {**JOINED, "audio_muted": 0}), "audio_muted"),
        (_message("user_joined", {**JOINED, "participant_count": 1.0}), "participant_count"),
        (_message("user_joined", {**JOINED, "participant_count": True}), "participant_count"),
        (_message("error", {"code": 1, "message": "x", "request_seq": None}), "is not one of"),
        (_message("pong", {}), "'request_seq' is a required property"),
        ({"type": "pong", "seq": 1, "data": {"request_seq": None}}, "'timestamp'"),
        (_message("hello", {}), "unknown type 'hello'"),
    ],
)
def test_messages_that_do_not_conform_are_refused(message: Any, complaint: str) -> None:
    with pytest.raises(AssertionError, match=r"conform|unknown type") as caught:
        check_server_message(message)
    assert complaint in str(caught.value)


def test_signals_of_the_sdks() -> None:
    offer = {"kind": "description", "description": {"type": "offer", "sdp": "v=0"}}
    candidate = {
        "kind": "candidate",
        "candidate": {"candidate": "c", "sdpMid": "0", "sdpMLineIndex": 0},
    }
    for signal in (offer, candidate, {"kind": "candidate", "candidate": None}):
        check(signal, wire.SessionDescriptionSignal | wire.CandidateSignal, "signal")
    with pytest.raises(AssertionError):
        check({"kind": "description", "description": {"type": "pranswer", "sdp": ""}}, wire.Signal)
