"""A person using the web app (``/``) in a real page, the way they would: by the labels and
button names on the screen (so the tests also prove those are there for screen readers).

``AppUser`` signs up, starts or joins meetings and reports what the page shows; ``axe()``
runs axe-core (web/node_modules) on the page.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.browser import AUDIO_TONE_JS, Participant, wait_video_playing
from tests.utils.api import PASSWORD, unique_email

AXE_JS = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class AppUser:
    participant: Participant
    server: str
    nickname: str
    email: str = ""

    @property
    def page(self) -> Any:
        return self.participant.page

    async def open(self, path: str = "/") -> AppUser:
        await self.page.goto(f"{self.server}{path}")
        return self

    async def sign_up(self, path: str = "/") -> AppUser:
        """Open ``path``, create an account there; the page then shows what ``path`` asks."""
        await self.open(path)
        page = self.page
        await page.get_by_role("button", name="New here? Create an account").click()
        self.email = unique_email(self.nickname.lower())
        await page.get_by_label("Email").fill(self.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Your name").fill(self.nickname)
        await page.get_by_role("button", name="Create account").click()
        await (
            page.get_by_role("button", name="Sign out")
            .or_(page.get_by_role("heading", name="Check your camera and microphone"))
            .wait_for()
        )
        return self

    async def start(self, title: str = "") -> str:
        """From home: start a meeting (through the pre-join check); its number."""
        await self.page.get_by_label("Title (optional)").fill(title)
        await self.page.get_by_role("button", name="Start", exact=True).click()
        await self.page.get_by_role("button", name="Start now").click()
        return await self.in_meeting()

    async def join_by_number(self, number: str) -> None:
        """From home: type the number, pass the pre-join check."""
        await self.page.get_by_label("Meeting number").fill(number)
        await self.page.get_by_role("button", name="Join", exact=True).click()

    async def join_now(self) -> str:
        await self.page.get_by_role("button", name="Join now").click()
        return await self.in_meeting()

    async def in_meeting(self) -> str:
        await self.page.get_by_role("button", name="Leave").wait_for()
        number: str = await self.page.evaluate("location.pathname.split('/')[2]")
        return number

    async def sees(self, other: AppUser) -> dict[str, Any]:
        return await wait_video_playing(self.page, f'.tile[aria-label^="{other.nickname}"] video')

    async def hears(self, other: AppUser) -> dict[str, Any]:
        """The tone of ``other``'s microphone, from the tile's playing ``<audio>``."""
        selector = f'.tile[aria-label^="{other.nickname}"] audio'
        await self.page.wait_for_function(
            "s => { const a = document.querySelector(s);"
            " return a && !a.paused && a.srcObject && a.srcObject.getAudioTracks().some("
            "t => t.readyState === 'live' && !t.muted); }",
            arg=selector,
        )
        heard: dict[str, Any] = await self.page.evaluate(
            f"s => ({AUDIO_TONE_JS})(document.querySelector(s).srcObject)", selector
        )
        return heard

    async def tiles(self) -> list[str]:
        labels: list[str] = await self.page.locator(".tile").evaluate_all(
            "tiles => tiles.map(t => t.getAttribute('aria-label'))"
        )
        return labels

    async def notice(self) -> str:
        """The heading of the page that says why there is no meeting."""
        heading = self.page.locator(".notice h1")
        await heading.wait_for()
        text: str = await heading.inner_text()
        return text

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now.

        axe-core comes from ``cd web && npm ci`` (CI does it); without it the check fails in
        CI and is left out elsewhere, with a warning.
        """
        if not AXE_JS.is_file():
            if os.environ.get("CI"):
                raise AssertionError(f"{AXE_JS} missing: run `cd web && npm ci`")
            warnings.warn("axe-core not installed (cd web && npm ci): not checked", stacklevel=2)
            return []
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated, not added as a <script>: the app's CSP allows no inline script.
            await self.page.evaluate(AXE_JS.read_text())
        result = await self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
        )
        return list(result)

    async def screenshot(self, directory: Path, name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path

    def __repr__(self) -> str:
        return f"AppUser({self.nickname})"


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)
