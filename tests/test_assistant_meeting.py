"""The meeting assistant end to end: sentences spoken by espeak-ng into meetings by Python
participants and by a browser's fake microphone, the assistant process that ``aimeeting serve``
starts (faster-whisper with the packaged model), its live captions, the stored transcript, the
summary written when the meeting ends, and its crash (the meeting goes on; it comes back).

Everything runs in a loopback-only network namespace: the machine's network is unplugged for
the server, the assistant and the browser, so nothing can be downloaded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiortc.contrib.media import MediaPlayer

from aimeeting import CaptionEvent, JoinMeetingOptions, Meeting, MeetingEvent, MeetingSDK, Summary
from aimeeting.assistant.accuracy import word_error_rate, word_errors
from harness.browser import Chromium
from harness.server import ServerProcess
from harness.speech import fake_capture_wav
from tests.utils.assistant import ASSISTANT_PASSWORD
from tests.utils.sdk import Recorder, signed_in
from tests.utils.webapp import AppUser

CAPTION_TIMEOUT = 60.0  # seconds for a sentence to come back as a final caption
MAX_WER = 0.15
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"

BOB_SAYS = (
    "Let's ship the release on Friday.",
    "I will write the test plan.",
    "The customer asked for a new login page.",
)
CAROL_SAYS = (
    "Can everyone see my screen?",
    "The server costs went down last month.",
)


def assistant_server(start: Callable[..., ServerProcess]) -> ServerProcess:
    return start(assistant=1, assistant_password=ASSISTANT_PASSWORD)


def spoken_wav(path: Path, texts: tuple[str, ...]) -> Path:
    """``texts`` with pauses, after 3 s of silence (the links to the assistant connect
    meanwhile), as a 48 kHz WAV for a participant's microphone."""
    return fake_capture_wav(path, texts, lead=3.0)


async def speaker(url: str, name: str, number: str, wav: Path) -> tuple[MeetingSDK, Meeting]:
    sdk = await signed_in(url, name, media=True)
    player = MediaPlayer(str(wav))  # plays once, in real time
    meeting = await sdk.join_meeting(number, JoinMeetingOptions(audio_track=player.audio))
    return sdk, meeting


async def finals(recorder: Recorder, user_id: str, count: int) -> list[CaptionEvent]:
    deadline = time.monotonic() + CAPTION_TIMEOUT
    while len(spoken(recorder, user_id)) < count:
        captions = [(c.text, c.final) for c in recorder.of(MeetingEvent.CAPTION)]
        assert time.monotonic() < deadline, f"{count} final captions expected, got {captions}"
        await asyncio.sleep(0.1)
    return spoken(recorder, user_id)


def spoken(recorder: Recorder, user_id: str) -> list[CaptionEvent]:
    return [c for c in recorder.of(MeetingEvent.CAPTION) if c.final and c.user_id == user_id]


async def summary_of(sdk: MeetingSDK, meeting_id: str) -> Summary:
    for _ in range(100):
        summary = await sdk.get_summary(meeting_id)
        if summary.status != "pending":
            return summary
        await asyncio.sleep(0.2)
    raise AssertionError("the summary stayed pending")


async def test_the_assistant_captions_two_meetings_at_once_and_summarizes(
    netns_start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = assistant_server(netns_start_server)
    alice_sdk = await signed_in(server.url, "Alice")
    dave_sdk = await signed_in(server.url, "Dave")
    sdks = [alice_sdk, dave_sdk]
    try:
        # Two meetings, each with a listener who invites the assistant and a speaker.
        first = await alice_sdk.create_meeting()
        second = await dave_sdk.create_meeting()
        first_events, second_events = Recorder(first), Recorder(second)
        state = await first.invite_assistant()
        assert state.active and state.language == "en"
        await second.invite_assistant()
        bob_sdk, bob = await speaker(
            server.url, "Bob", first.meeting_number, spoken_wav(tmp_path / "bob.wav", BOB_SAYS)
        )
        carol_sdk, carol = await speaker(
            server.url, "Carol", second.meeting_number, spoken_wav(tmp_path / "c.wav", CAROL_SAYS)
        )
        sdks += [bob_sdk, carol_sdk]

        # Each sentence comes back as a final caption, attributed to who said it.
        heard_bob = await finals(first_events, bob.local_user_id, len(BOB_SAYS))
        heard_carol = await finals(second_events, carol.local_user_id, len(CAROL_SAYS))
        # The word error rate of the whole test set (errors over words, as WER is reported):
        # per speaker, Carol's 12 words would fail on two small slips ("costs" heard "cost").
        edits = words = 0
        for heard, said in ((heard_bob, BOB_SAYS), (heard_carol, CAROL_SAYS)):
            found, total = word_errors(" ".join(said), " ".join(c.text for c in heard))
            edits, words = edits + found, words + total
        assert edits / words <= MAX_WER, (edits, words, [c.text for c in heard_bob + heard_carol])
        assert not [
            c for c in second_events.of(MeetingEvent.CAPTION) if c.user_id == bob.local_user_id
        ]

        # The transcript keeps the final captions, in order, with the speaker's name.
        page = await alice_sdk.get_transcript(first.id)
        assert [s.text for s in page.items] == [c.text for c in heard_bob]
        assert {s.nickname for s in page.items} == {"Bob"}
        assert not page.has_more

        # Ended: a summary with Bob's action item, also posted to the chat by the assistant.
        await first.end()
        summary = await summary_of(alice_sdk, first.id)
        assert summary.status == "ready", summary
        owned = [a for a in summary.action_items if "test plan" in a.text.lower()]
        assert owned and owned[0].owner_user_id == bob.local_user_id, summary
        history = await second.chat_history()  # the other meeting's chat: none of it
        assert not [m for m in history if m.sender.id == state.user_id]
        posted = await bob_sdk.get_transcript(first.id)  # a member after the end: still visible
        assert posted.items
        # The second meeting goes on, captioned, while the first one is summarized.
        assert second.state.value == "active"
        assert (await dave_sdk.get_summary(second.id)).status == "none"
    finally:
        for sdk in sdks:
            await sdk.destroy()


async def test_a_crashed_assistant_leaves_the_meeting_alone_and_comes_back(
    netns_start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = assistant_server(netns_start_server)
    alice_sdk = await signed_in(server.url, "Alice")
    bob_sdk = await signed_in(server.url, "Bob", media=True)
    try:
        alice = await alice_sdk.create_meeting()
        events = Recorder(alice)
        await alice.invite_assistant()
        # Bob says one sentence again and again (the file loops).
        wav = spoken_wav(tmp_path / "bob.wav", ("Who owns the database migration?",))
        player = MediaPlayer(str(wav), loop=True)
        bob = await bob_sdk.join_meeting(
            alice.meeting_number, JoinMeetingOptions(audio_track=player.audio)
        )
        await finals(events, bob.local_user_id, 1)

        pid = await assistant_pid(server)
        os.kill(pid, signal.SIGKILL)
        killed_ms = int(time.time() * 1000)
        # The meeting goes on: chat flows, nobody else is dropped.
        sent = await bob.send_chat_message("still here?")
        await events.wait(MeetingEvent.CHAT_MESSAGE, lambda m: m.message_id == sent.message_id)
        assert bob.local_user_id in {p.user_id for p in alice.participants}
        # `aimeeting serve` starts it again; it takes its seat again and captions Bob again.
        assert await assistant_pid(server, other_than=pid) != pid
        await events.wait(
            MeetingEvent.CAPTION,
            lambda c: c.final and c.start_ms > killed_ms,
            timeout=CAPTION_TIMEOUT,
        )
        assert MeetingEvent.ERROR not in {e.type for e in events.events}
    finally:
        await alice_sdk.destroy()
        await bob_sdk.destroy()


async def test_in_the_web_app_someone_invites_the_assistant_talks_and_reads_the_summary(
    netns_start_server: Callable[..., ServerProcess],
    launch_chromium: Callable[..., Awaitable[Chromium]],
    tmp_path: Path,
) -> None:
    server = assistant_server(netns_start_server)
    said = ("I will write the test plan.", "Let's ship the release on Friday.")
    browser = await launch_chromium(fake_audio_file=spoken_wav(tmp_path / "mic.wav", said))
    alice = AppUser(await browser.new_participant("Alice"), server.url, "Alice")
    await alice.sign_up()
    await alice.start(title="Planning")
    page = alice.page

    await page.get_by_role("button", name="Invite assistant").click()
    await page.get_by_role("button", name="Dismiss assistant").wait_for()
    await alice.page.locator('.tile[aria-label^="Assistant"]').wait_for()
    # Live captions over the tiles (the fake microphone loops the sentences).
    caption = page.locator(".caption-line:not(.partial)")
    await caption.first.wait_for(timeout=CAPTION_TIMEOUT * 1000)
    await alice.screenshot(SCREENSHOTS, "6-captions")
    shown = await page.locator(".captions").inner_text()
    assert "Alice" in shown
    await page.get_by_role("button", name="Transcript").click()
    await page.locator(".transcript li").nth(2).wait_for(timeout=CAPTION_TIMEOUT * 1000)

    # The creator ends the meeting: the summary and the transcript are on the page that follows.
    await page.get_by_role("button", name="End meeting").first.click()
    await page.get_by_role("dialog").get_by_role("button", name="End meeting").click()
    summary = page.locator("#meeting-summary")
    await summary.wait_for(timeout=30_000)
    text = (await summary.inner_text()).lower()
    assert "test plan" in text, text
    assert "alice" in text, text  # the owner of the action item
    # The stored transcript below it: Alice's sentences, each attributed to her.
    segments = await page.locator("details.transcript li").evaluate_all(
        "items => items.map(li => [li.querySelector('.sender').textContent,"
        " li.querySelector('p').textContent])"
    )
    assert {name for name, _ in segments} == {"Alice"}, segments
    # The first may begin mid-sentence: the assistant came in while the file was playing.
    assert accuracy(said, [text for _, text in segments[1:]]) <= MAX_WER, segments
    await alice.screenshot(
        Path(__file__).resolve().parents[1] / "build" / "screenshots", "7-summary"
    )


# --- helpers ---------------------------------------------------------------------------------


def accuracy(sentences: tuple[str, ...], heard: list[str]) -> float:
    """The word error rate of captions of a looped recording: each against the sentence it is
    closest to."""
    assert heard, "no captions"
    edits = words = 0
    for text in heard:
        best = min(sentences, key=lambda sentence: word_error_rate(sentence, text))
        found, total = word_errors(best, text)
        edits, words = edits + found, words + total
    return edits / words


async def assistant_pid(server: ServerProcess, other_than: int | None = None) -> int:
    """The pid of the assistant process ``server`` started (a child of it)."""
    assert server.process is not None
    for _ in range(300):
        # Each thread lists its own children: the supervisor's thread starts the assistant.
        tasks = Path(f"/proc/{server.process.pid}/task").glob("*/children")
        pids = [int(p) for task in tasks for p in task.read_text().split()]
        found = [p for p in pids if p != other_than and _is_assistant(p)]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no assistant process under the server")


def _is_assistant(pid: int) -> bool:
    try:
        return b"assistant" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
