"""Scenario 4, REST: GET /v1/users/me, create meeting, join, at fixed concurrency; and login.

Login is bcrypt-bound by design: it is reported as milliseconds per login, at the server's
bcrypt cost, one at a time and with a few at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from bench import openloop
from bench.loadgen import PhaseResult, run_phase

PASSWORD = "Password123"
# me: GET /users/me closed loop; openloop: the same at a fixed rate (--open-loop-rate)
PHASES = ("me", "openloop", "create", "join", "login")


class UnexpectedAnswer(Exception):
    pass


async def _expect(response: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    body: dict[str, Any] = await response.json(content_type=None)
    if response.status != status:
        raise UnexpectedAnswer(f"{response.status}: {body}")
    return body


def _auth(setup: dict[str, Any], index: int) -> dict[str, str]:
    tokens = setup["tokens"]
    return {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}


async def users_me(session: aiohttp.ClientSession, index: int, setup: dict[str, Any]) -> None:
    async with session.get(f"{setup['api']}/users/me", headers=_auth(setup, index)) as response:
        await _expect(response, 200)


async def create_meeting(session: aiohttp.ClientSession, index: int, setup: dict[str, Any]) -> None:
    url = f"{setup['api']}/meetings"
    async with session.post(url, json={"title": "bench"}, headers=_auth(setup, index)) as response:
        await _expect(response, 201)


async def join_meeting(session: aiohttp.ClientSession, index: int, setup: dict[str, Any]) -> None:
    """Clients go in fours: each four takes the seats of its own meetings, one after another,
    so that every join takes a real seat (a meeting's 4 seats are its four's)."""
    numbers: list[str] = setup["numbers"]
    quads = max(1, len(setup["tokens"]) // 4)
    quad = index // 4 % quads
    progress: dict[int, int] = setup.setdefault("progress", {})
    step = progress.get(index, 0)
    progress[index] = step + 1
    number = numbers[(quad + step * quads) % len(numbers)]
    url = f"{setup['api']}/meetings/{number}/join"
    async with session.post(url, headers=_auth(setup, index)) as response:
        await _expect(response, 200)


async def _register_all(api: str, count: int) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        semaphore = asyncio.Semaphore(8)

        async def one() -> dict[str, Any]:
            body = {
                "email": f"bench-{uuid.uuid4().hex[:12]}@example.com",
                "password": PASSWORD,
                "nickname": "bench",
            }
            async with semaphore, session.post(f"{api}/auth/register", json=body) as response:
                data = (await _expect(response, 201))["data"]
                return {"email": body["email"], "token": data["tokens"]["access_token"]}

        return await asyncio.gather(*(one() for _ in range(count)))


async def _create_meetings(api: str, token: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        semaphore = asyncio.Semaphore(16)

        async def one() -> str:
            async with semaphore, session.post(f"{api}/meetings", json={}) as response:
                return str((await _expect(response, 201))["data"]["meeting_number"])

        return await asyncio.gather(*(one() for _ in range(count)))


async def _logins(api: str, emails: list[str], concurrency: int, rounds: int) -> list[float]:
    """Milliseconds per login, ``concurrency`` at a time."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def one(email: str) -> None:
            started = time.perf_counter()
            body = {"email": email, "password": PASSWORD}
            async with session.post(f"{api}/auth/login", json=body) as response:
                await _expect(response, 200)
            latencies.append((time.perf_counter() - started) * 1000)

        for round_ in range(rounds):
            batch = [emails[(round_ * concurrency + i) % len(emails)] for i in range(concurrency)]
            await asyncio.gather(*(one(email) for email in batch))
    return latencies


def _open_loop(
    setup: dict[str, Any],
    rate: float,
    clients: int,
    seconds: float,
    server_cpu: Any,
    processes: int,
) -> dict[str, Any]:
    """The fairer test of the p99 target: a fixed offered rate instead of a saturating loop."""
    return openloop.run_phase(
        "GET /v1/users/me (open loop)",
        users_me,
        rate=rate,
        clients=clients,
        seconds=seconds,
        setup=setup,
        server_cpu=server_cpu,
        processes=max(2, processes),  # one process could lag 2,000 starts/s
    )


def run(
    base_url: str,
    server_cpu: Any,
    *,
    concurrency: int,
    seconds: float,
    processes: int,
    open_loop_rate: float = 0,
    phases: tuple[str, ...] = PHASES,
) -> dict[str, Any]:
    """``phases``: which of ``PHASES`` to run (``--phases join``: only the seat joins,
    ``--phases openloop``: only the p99 target's phase)."""
    api = f"{base_url}/v1"
    users = asyncio.run(_register_all(api, concurrency))
    setup: dict[str, Any] = {"api": api, "tokens": [user["token"] for user in users]}
    open_loop_args = (setup, open_loop_rate, concurrency, seconds, server_cpu, processes)
    phases_run: list[PhaseResult] = []
    common = {
        "concurrency": concurrency,
        "seconds": seconds,
        "server_cpu": server_cpu,
        "processes": processes,
    }
    if "me" in phases:
        phases_run.append(run_phase("GET /v1/users/me", users_me, setup=setup, **common))
    open_loop = None
    if open_loop_rate and "openloop" in phases:
        open_loop = _open_loop(*open_loop_args)
    if "create" in phases:
        phases_run.append(run_phase("POST /v1/meetings", create_meeting, setup=setup, **common))
    if "join" in phases:
        # Enough fresh meetings that every join takes a real seat: more joins than reads are
        # never served, so the reads' rate bounds them (a generous guess without that phase).
        expected_joins = int((phases_run[0].rate if "me" in phases else 3000) * seconds)
        setup["numbers"] = asyncio.run(
            _create_meetings(api, setup["tokens"][0], max(64, expected_joins // 4))
        )
        join = run_phase("POST /v1/meetings/{n}/join", join_meeting, setup=setup, **common)
        phases_run.append(join)
    return {
        "phases": [phase.summary() for phase in phases_run],
        "open_loop": open_loop,
        "login": _login_figures(api, [user["email"] for user in users])
        if "login" in phases
        else None,
    }


def _login_figures(api: str, emails: list[str]) -> dict[str, Any]:
    login_single = asyncio.run(_logins(api, emails, 1, 10))
    login_four = asyncio.run(_logins(api, emails, 4, 5))
    return {
        "one_at_a_time_ms_p50": round(sorted(login_single)[len(login_single) // 2], 1),
        "four_at_a_time_ms_p50": round(sorted(login_four)[len(login_four) // 2], 1),
        "four_at_a_time_logins_per_s": round(len(login_four) / (sum(login_four) / 1000 / 4), 1),
    }
