"""Schemathesis hooks for ``tests/test_stateful_api.py``: one user's token on the meeting
operations, and no token anywhere else.

The schemathesis CLI imports this module (``SCHEMATHESIS_HOOKS``) in its own process; the token
comes in :data:`TOKEN_VARIABLE`. Why a hook and not a per-operation ``headers`` entry of the
config file: schemathesis 4.32.5 keeps one HTTP session per thread and builds it with the
headers of whichever operation it sends first, then adds those headers to every request that
has no configured header of its own. A link's ``Authorization`` (a token from register, login
or refresh) then loses to the meeting owner's, and a linked logout ends the owner's session. An
auth provider sets the header on the request itself, for the operations it names only.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

TOKEN_VARIABLE = "AIMEETING_TEST_STATEFUL_TOKEN"
# Every operation that reads or changes a meeting (their links carry ids, never a token).
OWNER_OPERATIONS = [
    "createMeeting",
    "getMeetings",
    "joinMeeting",
    "getMeetingDetail",
    "endMeeting",
    "getMeetingMessages",
    "getAssistant",
    "inviteAssistant",
    "dismissAssistant",
    "getMeetingTranscript",
    "getMeetingSummary",
    "getAssistantInvitations",
]


@schemathesis.auth().apply_to(operation_id=OWNER_OPERATIONS)
class OwnerToken:
    def get(self, case: Any, context: Any) -> str:
        return os.environ[TOKEN_VARIABLE]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
