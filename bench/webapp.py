"""Scenario ``webapp``: how soon the web app is usable, in real headless Chromium.

One ``aimeeting serve`` (SQLite) and one Chromium on this machine, over loopback. Each load
opens ``/`` and records, on the page's own clock (from the start of navigation), when the
sign-in form is on screen and can be typed into. ``cold``: a fresh browser context each time
(empty cache, as a first visit); ``warm``: the same context reloading (files revalidated, 304).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.wsload import percentile
from harness.browser import Chromium
from harness.server import ServerProcess

# Milliseconds since navigation start at which the sign-in form appeared in the page.
USABLE_AT_JS = """
new MutationObserver((_, observer) => {
  if (!document.querySelector('form input[type=email]')) return;
  window.__usableAt = performance.now();
  observer.disconnect();
}).observe(document, {childList: true, subtree: true});
"""


async def _usable_ms(page: Any) -> float:
    handle = await page.wait_for_function("window.__usableAt", timeout=15_000)
    value: float = await handle.json_value()
    return value


async def _run(data_dir: Path, loads: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"cold": [], "warm": []}
    with ServerProcess(data_dir, {}) as server:
        async with Chromium(data_dir / "browser") as browser:
            for _ in range(loads):
                context = await browser.browser.new_context()
                await context.add_init_script(USABLE_AT_JS)
                page = await context.new_page()
                await page.goto(f"{server.url}/")
                samples["cold"].append(await _usable_ms(page))
                await page.reload()
                samples["warm"].append(await _usable_ms(page))
                await context.close()
    figures: dict[str, Any] = {"loads": loads}
    for kind, values in samples.items():
        ordered = sorted(values)
        figures[kind] = {
            "p50_ms": round(percentile(ordered, 50), 1),
            "p95_ms": round(percentile(ordered, 95), 1),
            "max_ms": round(ordered[-1], 1),
        }
        print(f"webapp {kind}: {figures[kind]}", flush=True)
    return figures


def run(data_dir: Path, loads: int = 20) -> dict[str, Any]:
    return asyncio.run(_run(data_dir, loads))
