"""Fixtures for end-to-end media tests: a private network, a server, Chromium and coturn in it.

Registered from ``tests/conftest.py`` (``pytest_plugins``). All function-scoped, so each test
gets fresh processes, started and ended inside the test's own namespace:

- ``private_network``: the test's main thread sits in a fresh loopback-only namespace
  (``lo`` with 127.0.0.1 and 127.0.0.2, no IPv6) from setup to teardown; what the test and
  the fixtures below start or connect to in between lives there and only there.
- ``netns_start_server(**env)``: a real ``aimeeting serve`` (SQLite) in the namespace,
  ``env`` as ``start_server``'s (``reconnect_grace=2`` → ``AIMEETING_RECONNECT_GRACE=2``);
  ``netns_server`` is one with the defaults of ``NETNS_SERVER_ENV``.
- ``launch_chromium(**options)``: a started ``harness.browser.Chromium`` (options as its
  constructor's: ``fake_ui``, ``fake_audio_file``, ``fake_cameras``, ``extra_args``, ``name``);
  ``chromium`` is one with the defaults.
- ``turn_server``: coturn in the namespace (``tests.utils.turn.TurnServer``);
  ``stun_netns_server`` a server that hands out that coturn as its STUN server.

A test must not use fixtures that reach the host's network (``server``, ``base_url``,
``postgres_url``, …) together with these unless they were set up before ``private_network``
(higher-scoped fixtures are) — a session server started inside the namespace would be
unreachable afterwards. ``private_network.host()`` steps out for a while when needed. The
main thread (which also runs pytest-asyncio's loop) is inside, and so are the threads of the
loop's executor (``asyncio.to_thread``) during the test: it gets a fresh executor on the way in
and out. Any other thread keeps the namespace it started in.

After every test the main thread must be back in the host's namespace (a namespace never
outlives its test): a test that leaves it elsewhere gets a teardown error and is moved back.

When a test fails, the teardown prints every page's console and the server's and coturn's log
tails, and saves screenshots of every page under the test's ``tmp_path``.

Not root, no ``chromium``/``playwright``, no coturn: the test is skipped with the reason, but
when the environment variable ``CI`` is set it fails instead (a skip must never hide a failure
in CI).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.browser import Chromium, browser_missing
from harness.netns import NamespaceGuard, PrivateNetwork, unavailable_reason
from harness.netns import private_network as enter_private_network
from harness.server import ServerProcess
from tests.utils.turn import TurnServer, turn_tools_missing

# Short WebSocket timings, so that drop/rejoin tests never wait long.
NETNS_SERVER_ENV = {"reconnect_grace": 3, "heartbeat_timeout": 10}
LOG_TAIL = 60

_phase_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_phase_reports, {})[report.when] = report
    return report


_host_namespace = NamespaceGuard()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """After every test's teardown, the main thread must be back in the host's namespace."""
    yield
    left_in = _host_namespace.restore()
    if left_in is not None:
        raise RuntimeError(f"{item.nodeid} left the main thread in {left_in}: moved back")


def phase_failed(request: pytest.FixtureRequest) -> bool:
    """In a fixture's teardown: whether the test's setup or call failed."""
    reports = request.node.stash.get(_phase_reports, {})
    return any(r.failed for r in reports.values())


def require(missing: str | None) -> None:
    """Skip with ``missing`` as the reason; fail instead when CI is set."""
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing} (CI is set: browser tests must run here)", pytrace=False)
    pytest.skip(missing)


def _tail(text: str, lines: int = LOG_TAIL) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
async def private_network() -> AsyncIterator[PrivateNetwork]:
    """The test's main thread in a fresh loopback-only network namespace.

    A thread stays in the namespace it was started in, and the loop's executor (behind
    ``asyncio.to_thread``) keeps its threads for later tests: so the test gets an executor of
    its own, whose threads start inside, and it is shut down on the way out. Before this, a
    thread started here later ran another test's server start in this dead namespace.
    """
    require(unavailable_reason())
    loop = asyncio.get_running_loop()
    inside = ThreadPoolExecutor(thread_name_prefix="netns")
    with enter_private_network() as network:
        loop.set_default_executor(inside)
        try:
            yield network
        finally:
            loop.set_default_executor(ThreadPoolExecutor())
            inside.shutdown(wait=False)


@pytest.fixture
def netns_start_server(
    private_network: PrivateNetwork, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ServerProcess]]:
    """``netns_start_server(**env)``: a real server (SQLite) inside the namespace."""
    servers: list[ServerProcess] = []

    def start(**env: Any) -> ServerProcess:
        settings = {**NETNS_SERVER_ENV, **env}
        environment = {f"AIMEETING_{key.upper()}": str(value) for key, value in settings.items()}
        server = ServerProcess(tmp_path / f"server-{len(servers) + 1}", environment)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        if phase_failed(request):
            for server in servers:
                print(f"--- server {server.url} log (last {LOG_TAIL} lines) ---")
                print(_tail(server.logs()))


@pytest.fixture
def netns_server(netns_start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A real ``aimeeting serve`` inside the namespace, short grace and heartbeat."""
    return netns_start_server()


@pytest.fixture
async def launch_chromium(
    private_network: PrivateNetwork, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Chromium]]]:
    """``await launch_chromium(**options)``: a started Chromium inside the namespace."""
    require(browser_missing())
    browsers: list[Chromium] = []

    async def launch(**options: Any) -> Chromium:
        options.setdefault("name", f"chromium{len(browsers) + 1}" if browsers else "chromium")
        browser = Chromium(tmp_path / "browser", **options)
        browsers.append(browser)
        return await browser.start()

    try:
        yield launch
    finally:
        failed = phase_failed(request)
        for browser in browsers:
            if failed:
                saved = await browser.screenshots(tmp_path / "failure")
                print(browser.report())
                for path in saved:
                    print(f"screenshot: {path}")
            await browser.close()


@pytest.fixture
async def chromium(launch_chromium: Callable[..., Awaitable[Chromium]]) -> Chromium:
    """Headless Chromium inside the namespace, fake camera/microphone accepted."""
    return await launch_chromium()


@pytest.fixture
def turn_server(
    private_network: PrivateNetwork, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[TurnServer]:
    """coturn inside the namespace on a free port of 127.0.0.1, TURN REST secret."""
    require(turn_tools_missing())
    server = TurnServer(tmp_path / "turn")
    try:
        yield server.start()
    finally:
        server.stop()
        if phase_failed(request):
            print(f"--- coturn log (last {LOG_TAIL} lines) ---")
            print(_tail(server.logs()))


@pytest.fixture
def stun_netns_server(
    netns_start_server: Callable[..., ServerProcess], turn_server: TurnServer
) -> ServerProcess:
    """A server whose STUN server (``AIMEETING_STUN_URLS``) is the namespace's coturn.

    For pages refused every device: Chromium then shows such a page none of its own addresses
    but the default route's (behind an mDNS name), and this network has no default route, so
    the member is reached through its STUN (server-reflexive) address, as on a real network.
    """
    return netns_start_server(stun_urls=f"stun:127.0.0.1:{turn_server.port}")
