"""`aimeeting chat` driven for real on pseudo-terminals: two people register, meet, chat,
mute, and leave; one of them runs without the server's dependencies importable."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from harness.server import ServerProcess
from tests.utils import api
from tests.utils.terminal import PtyProgram

# Importing any of these fails in the second terminal: `chat` must not need the server extra.
NO_SERVER = (
    "import sys; sys.modules.update(dict.fromkeys(['fastapi', 'sqlalchemy', 'pydantic', "
    "'uvicorn', 'aimeeting.server'])); from aimeeting.cli import main; sys.exit(main())"
)


def register(terminal: PtyProgram, nickname: str) -> None:
    terminal.wait_for("Log in or register? [l/r]")
    terminal.type("r")
    terminal.wait_for("Email: ")
    terminal.type(f"{nickname.lower()}-{uuid.uuid4().hex[:8]}@example.com")
    terminal.wait_for("Password: ")
    terminal.type(api.PASSWORD)
    terminal.wait_for("Nickname: ")
    terminal.type(nickname)
    terminal.wait_for(f"* signed in as {nickname}")


def test_two_terminals_meet_chat_mute_and_leave(server: ServerProcess) -> None:
    alice = PtyProgram([sys.executable, "-m", "aimeeting", "chat", "--server", server.url])
    bob = PtyProgram([sys.executable, "-c", NO_SERVER, "chat", "--server", server.url])
    try:
        register(alice, "Alice")
        alice.wait_for("Create a meeting or join one? [c/j]")
        alice.type("c")
        alice.wait_for("Title (optional): ")
        alice.type("Terminal sync")
        text = alice.wait_for("* here: Alice (mic on, camera on)")
        assert api.PASSWORD not in text  # the password is not echoed
        number = re.search(r"meeting number: (\d{9}) \(Terminal sync\)", text)
        assert number, text

        register(bob, "Bob")
        bob.wait_for("Create a meeting or join one? [c/j]")
        bob.type("j")
        bob.wait_for("Meeting number: ")
        bob.type(number[1])
        bob.wait_for("* here: Alice (mic on, camera on), Bob (mic on, camera on)")
        alice.wait_for("* Bob joined (2 here)")

        alice.type("你好, Bob")
        bob.wait_for("[Alice] 你好, Bob")
        bob.type("/mute")
        alice.wait_for("* Bob: mic off, camera on")
        bob.type("/video off")
        alice.wait_for("* Bob: mic off, camera off")
        alice.type("/who")
        alice.wait_for("* here: Alice (mic on, camera on), Bob (mic off, camera off)")
        bob.type("/help")
        bob.wait_for("/video off")
        bob.type("/nonsense")
        bob.wait_for("! unknown command")

        bob.type("/leave")
        bob.wait_for("* you left")
        assert bob.wait_exit() == 0
        alice.wait_for("* Bob left")
        alice.send_eof()  # Ctrl-D leaves too
        alice.wait_for("* you left")
        assert alice.wait_exit() == 0
    finally:
        alice.close()
        bob.close()


def test_a_wrong_number_is_explained_and_asked_again(server: ServerProcess) -> None:
    terminal = PtyProgram(
        [sys.executable, "-m", "aimeeting", "chat", "--server", server.url, "--join", "100000000"]
    )
    try:
        register(terminal, "Carol")
        terminal.wait_for("! cannot join: ")
        terminal.wait_for("Create a meeting or join one? [c/j]")
        terminal.send_eof()
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()


def chat(url: str, *args: str, lang: str = "C.UTF-8") -> PtyProgram:
    env = {**os.environ, "LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "LANGUAGE": ""}
    command = [sys.executable, "-m", "aimeeting", "chat", "--server", url, *args]
    return PtyProgram(command, env)


def test_no_server_is_one_line(tmp_path: Path) -> None:
    nowhere = ServerProcess(tmp_path)  # never started: nothing listens on its port
    terminal = chat(nowhere.url)
    try:
        assert terminal.wait_exit() == 1
        text = terminal.text()
        assert text.strip() == (
            f"! cannot reach the server at {nowhere.url} (All connection attempts failed): "
            "is `aimeeting serve` running there?"
        ), text
    finally:
        terminal.close()


class Dialog:
    """Answers a terminal's prompts in order: each one is looked for in what was printed after
    the last answer (a prompt asked again is a new one)."""

    def __init__(self, terminal: PtyProgram) -> None:
        self.terminal, self.mark = terminal, 0

    def answer(self, prompt: str, text: str) -> None:
        self.terminal.wait_for(prompt, since=self.mark)
        self.mark = len(self.terminal.text())
        self.terminal.type(text)

    def expect(self, needle: str) -> str:
        return self.terminal.wait_for(needle, since=self.mark)

    def sign_in(self, choice: str, email: str, password: str) -> None:
        self.answer("Log in or register? [l/r]", choice)
        self.answer("Email: ", email)
        self.answer("Password: ", password)
        if choice == "r":
            self.answer("Nickname: ", "Dora")


def test_refusals_are_one_line_with_the_wait(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite", login_rate_limit="2/minute", login_lockout="1,15")
    taken = api.register(server.url)
    host = api.register(server.url)
    full, ended = api.create_meeting(host), api.create_meeting(host)
    for _ in range(4):
        api.join(api.register(server.url), full["meeting_number"])
    host.post(f"/meetings/{ended['id']}/end")

    terminal = chat(server.url)
    dialog = Dialog(terminal)
    try:
        dialog.sign_in("r", taken.email, api.PASSWORD)
        dialog.expect("! Email already registered")
        dialog.sign_in("l", taken.email, "Passw0rd!")  # not its password: it locks now
        dialog.expect("! Wrong email or password")
        dialog.sign_in("l", taken.email, api.PASSWORD)
        dialog.expect("! Account locked (wait 15 min)")
        dialog.sign_in("l", taken.email, api.PASSWORD)  # the third login of the minute
        text = dialog.expect("! Too many requests")
        assert re.search(r"! Too many requests, try again later \(wait \d+ s\)", text), text
        dialog.sign_in("r", f"dora-{uuid.uuid4().hex[:8]}@example.com", api.PASSWORD)
        dialog.expect("* signed in as Dora")
        for number, why in (
            (full["meeting_number"], "The meeting is full"),
            (ended["meeting_number"], "The meeting has ended"),
            ("000000004", "Meeting not found"),
        ):
            dialog.answer("Create a meeting or join one? [c/j]", "j")
            dialog.answer("Meeting number: ", number)
            dialog.expect(f"! cannot join: {why}")
        terminal.send_eof()
        assert terminal.wait_exit() == 0
        assert "Traceback" not in terminal.text()
    finally:
        terminal.close()


def test_errors_speak_the_language_of_the_locale(server: ServerProcess) -> None:
    terminal = chat(server.url, "--join", "000000005", lang="zh_CN.UTF-8")
    try:
        register(terminal, "Erin")
        terminal.wait_for("! cannot join: 会议不存在")
    finally:
        terminal.close()
