"""`aimeeting chat` driven for real on pseudo-terminals: two people register, meet, chat,
mute, and leave; one of them runs without the server's dependencies importable."""

from __future__ import annotations

import re
import sys
import uuid

from tests.utils.server import ServerProcess
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
    terminal.type("Passw0rd!")
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
        assert "Passw0rd!" not in text  # the password is not echoed
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
