"""Stateful API testing: schemathesis follows the served document's OpenAPI links.

``/v1/openapi.json`` links each answer to the requests it makes possible
(``aimeeting.server.api.links``): register → login with the same e-mail and password, a token
issued by register, login or refresh → ``/users/me``, ice servers, refresh, logout; a meeting
just created → join by its number, detail, end, chat history, assistant, transcript, summary;
an ended meeting → detail, end again, history. Schemathesis' stateful phase builds sequences of
calls from them, with values taken from the real answers, and checks every answer against the
served document. Then the NDJSON report proves the sequences ran: each link of the chains in
:data:`CHAINS` was followed and answered 2xx at least once.

Two identities, because links cannot carry an ``Authorization`` header from one request to the
next (see ``links.py``): the meeting operations run as ``owner``, whose token a schemathesis
hook sets on them (``tests/utils/stateful_auth.py``, which says why not a config header);
register, login, refresh, logout, ``/users/me`` and ice servers use the tokens the chain itself
issued, and root logins (the first call of a sequence) use ``member``'s credentials from a
schemathesis dictionary, so that a login answers 200 and starts a chain. No link ever reaches
``owner``'s session, so no logout in a sequence can end it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from harness.server import ServerProcess
from tests.utils import stateful_auth
from tests.utils.api import User, register
from tests.utils.schemathesis import COMMON_OPTIONS, SEED, Step, run_cli, stateful_steps, toml_value

# Checks on every answer, against the served document. Left out, and why:
# - negative_data_rejection, missing_required_header, unsupported_method: they judge requests
#   that break the schema; this phase sends only valid ones (--mode positive), so that a
#   sequence goes on (a negative register ends its chain). tests/contract/test_schemathesis.py
#   runs them with the contract's spec, in its coverage and fuzzing phases.
# - ignored_auth: a token a link took from a response counts as "generated" to schemathesis,
#   which then expects 401 and reports every successful /users/me. The contract's run has it,
#   with configured tokens; tests/test_forged_tokens.py tries 41 forged ones.
# - use_after_free: our one DELETE (dismiss the assistant) switches a state off, it deletes
#   nothing; GET .../assistant rightly answers 200 with `active: false` afterwards.
# - positive_data_acceptance: the document cannot say every rule (a password needs a letter and a
#   digit; an id we never issued is 404), so schema-valid requests are rightly refused.
# - object_level_authorization: needs identities in a WFC auth file; visibility is driven
#   explicitly in tests/contract/test_responses.py and tests/meetings/test_detail_end.py.
CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "allow_header_conformance",
    "ensure_resource_availability",
]
# With COMMON_OPTIONS' fixed seed, every run here made the same 746 requests in 67 sequences
# (the report counts replays too), each chain of CHAINS followed to a 2xx 2 to 28 times (printed
# with -s). A new seed or budget must keep every chain above zero.
SCENARIOS = 60  # --max-examples of the stateful phase: Hypothesis' number of sequences
STEPS = 20  # [phases.stateful] max-steps: calls per sequence at most
TIMEOUT = 120  # the whole run, start to report (about 15 s here)

# Valid by the server's rules, not only the schema's (8-32 code points, a letter and a decimal
# digit of any script; nickname 2-20, trimmed): each sequence's new users can log in.
PASSWORDS = [
    "Password123",
    "abcdefg1",
    "密码密码密码密码9",
    "Zz9" * 10 + "Zz",
    "pässwörd٣",
    " spaced 1 ",
]
NICKNAMES = ["测试用户", "Ann", "  Bob  ", "Zoë 🎉", "二人", "n" * 20]

REGISTER, LOGIN, REFRESH = "POST /v1/auth/register", "POST /v1/auth/login", "POST /v1/auth/refresh"
LOGOUT, ME, ICE = "POST /v1/auth/logout", "GET /v1/users/me", "GET /v1/rtc/ice-servers"
CREATE, JOIN = "POST /v1/meetings", "POST /v1/meetings/{meeting_number}/join"
DETAIL, END = "GET /v1/meetings/{meeting_id}", "POST /v1/meetings/{meeting_id}/end"
# (sources, targets): a link from one of the sources to one of the targets was followed and
# answered 2xx, at least once.
CHAINS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    ((REGISTER,), (LOGIN,)),  # with the e-mail and password just registered
    ((REGISTER, LOGIN), (ME,)),  # with the access token just issued
    ((REGISTER, LOGIN), (REFRESH,)),  # with the refresh token just issued
    ((REFRESH,), (ME, ICE, LOGOUT)),  # with the refreshed access token
    ((REGISTER, LOGIN, REFRESH), (LOGOUT,)),
    ((CREATE,), (JOIN,)),  # by the number of the meeting just created
    ((CREATE, JOIN), (DETAIL,)),  # by its id
    ((CREATE, JOIN, DETAIL), (END,)),
    ((END,), (DETAIL,)),  # the ended meeting still reads
]


def config_text(member: User) -> str:
    return f"""\
[auth]
auto-signup = false  # the chains sign up themselves

[phases.stateful]
max-steps = {STEPS}

[dictionaries.passwords]
values = {toml_value(PASSWORDS)}

[dictionaries.nicknames]
values = {toml_value(NICKNAMES)}

[dictionaries.member-email]
values = {toml_value([member.email])}

[dictionaries.member-password]
values = {toml_value([member.password])}

[[operations]]
include-operation-id = "registerUser"
parameters = {{ "body.password" = {{ dictionary = "passwords", probability = 0.9 }}, \
"body.nickname" = {{ dictionary = "nicknames", probability = 0.9 }} }}

[[operations]]
include-operation-id = "loginUser"
parameters = {{ "body.email" = {{ dictionary = "member-email", probability = 0.7 }}, \
"body.password" = {{ dictionary = "member-password", probability = 0.7 }} }}
"""


def followed(steps: list[Step], sources: tuple[str, ...], targets: tuple[str, ...]) -> int:
    """How often a link from one of ``sources`` to one of ``targets`` was followed and
    answered 2xx."""
    return sum(
        1
        for step in steps
        if step.applied
        and step.source in sources
        and step.operation in targets
        and step.status is not None
        and 200 <= step.status < 300
    )


def summary(steps: list[Step]) -> str:
    links = Counter(
        (step.source, step.link, step.operation, step.inferred) for step in steps if step.applied
    )
    ours = sum(1 for (_, _, _, inferred) in links if not inferred)
    return (
        f"{max((s.scenario for s in steps), default=0)} scenarios, {len(steps)} requests, "
        f"{len({s.operation for s in steps})} operations, {ours} distinct links of the "
        f"document followed ({len(links) - ours} inferred by schemathesis), "
        f"{sum(links.values())} link steps; seed {SEED}"
    )


def test_stateful_links(
    backend: str, start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server(backend, login_rate_limit="100000/minute")
    owner, member = register(server.url), register(server.url)
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_text(member), encoding="utf-8")
    ndjson = tmp_path / "events.ndjson"
    status, output = run_cli(
        [
            "--config-file",
            str(config),
            "run",
            f"{server.url}/v1/openapi.json",
            "--url",
            server.url,
            "--include-path-regex",
            "^/v1/",
            "--phases",
            "stateful",
            "--mode",
            "positive",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(SCENARIOS),
            *COMMON_OPTIONS,
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(ndjson),
        ],
        cwd=tmp_path,
        timeout=TIMEOUT,
        hooks=stateful_auth.__name__,
        **{stateful_auth.TOKEN_VARIABLE: owner.access_token},
    )
    steps = list(stateful_steps(ndjson)) if ndjson.is_file() else []
    missing = [
        f"{' | '.join(sources)} -> {' | '.join(targets)}"
        for sources, targets in CHAINS
        if not followed(steps, sources, targets)
    ]
    counts = ", ".join(str(followed(steps, *chain)) for chain in CHAINS)
    print(f"stateful ({backend}): {summary(steps)}; chains followed [{counts}] times")
    assert status == 0 and steps and not missing, (
        f"schemathesis exit status {status}; {summary(steps)}; links never followed to a 2xx "
        f"answer: {missing}\n\n--- schemathesis output ---\n{output[-20000:]}"
    )
