"""OpenAPI links of the served document: which answer feeds which next request.

A link (OpenAPI 3.1 §4.8.20) says how a value in one operation's response, or request, fills a
parameter or the body of the next: the e-mail and password just registered log in, the token a
login returns calls ``/users/me``, the id of the meeting just created reads, joins and ends it.
Client authors read them as the API's workflows; schemathesis' stateful phase follows them
(``tests/test_stateful_api.py``) to test sequences, not only single calls.

What links cannot say: an earlier request's ``Authorization`` header (a security scheme is not
a parameter, so ``$request.header.Authorization`` names nothing). So a token travels only from
the response that issued it (register, login, refresh); links between meeting operations carry
ids, and the caller's token stays whatever it was.

Only successful responses carry links: an error answer has nothing to go on with.
"""

from __future__ import annotations

from typing import Any

_API = "/v1"

# Runtime expressions (OpenAPI 3.1 §4.8.20.4): `{…}` embeds one in a string.
_ISSUED_ACCESS = "Bearer {$response.body#/data/tokens/access_token}"
_ISSUED_REFRESH = "$response.body#/data/tokens/refresh_token"
_REFRESHED_ACCESS = "Bearer {$response.body#/data/access_token}"


def _link(operation_id: str, description: str, **fields: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, **fields}


def _token_links(access: str) -> dict[str, dict[str, Any]]:
    """From an answer that issues an access token: the calls that use it."""
    bearer = {"header.Authorization": access}
    return {
        "currentUser": _link("getCurrentUser", "Who the token belongs to", parameters=bearer),
        "logout": _link("logoutUser", "End the token's session", parameters=bearer),
        "iceServers": _link("getIceServers", "ICE servers for this user", parameters=bearer),
    }


def _meeting_links(meeting_id: str, meeting_number: str | None) -> dict[str, dict[str, Any]]:
    """From an answer that names a meeting (by id, and by number where it has one)."""
    by_id = {"path.meeting_id": meeting_id}
    links = {
        "detail": _link("getMeetingDetail", "The meeting's detail", parameters=by_id),
        "end": _link("endMeeting", "End the meeting (its creator)", parameters=by_id),
        "messages": _link("getMeetingMessages", "The meeting's chat history", parameters=by_id),
        "assistant": _link("getAssistant", "The meeting assistant's state", parameters=by_id),
        "inviteAssistant": _link("inviteAssistant", "Invite the assistant", parameters=by_id),
        "transcript": _link("getMeetingTranscript", "The meeting's captions", parameters=by_id),
        "summary": _link("getMeetingSummary", "The meeting's summary", parameters=by_id),
    }
    if meeting_number is not None:
        links["join"] = _link(
            "joinMeeting", "Join it by number", parameters={"path.meeting_number": meeting_number}
        )
    return links


_ISSUED = {
    **_token_links(_ISSUED_ACCESS),
    "refresh": _link(
        "refreshToken",
        "A new access token from the refresh token",
        requestBody={"refresh_token": _ISSUED_REFRESH},
    ),
}

# (path, method, status) → that response's links; paths as served.
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/auth/register", "post", "201"): {
        "login": _link(
            "loginUser",
            "Log in with the e-mail and password just registered",
            requestBody={"email": "$request.body#/email", "password": "$request.body#/password"},
        ),
        **_ISSUED,
    },
    ("/auth/login", "post", "200"): _ISSUED,
    ("/auth/refresh", "post", "200"): _token_links(_REFRESHED_ACCESS),
    ("/meetings", "post", "201"): _meeting_links(
        "$response.body#/data/id", "$response.body#/data/meeting_number"
    ),
    ("/meetings/{meeting_number}/join", "post", "200"): _meeting_links(
        "$response.body#/data/id", "$request.path.meeting_number"
    ),
    ("/meetings/{meeting_id}", "get", "200"): _meeting_links(
        "$request.path.meeting_id", "$response.body#/data/meeting_number"
    ),
    # Ended: what stays readable afterwards.
    ("/meetings/{meeting_id}/end", "post", "200"): {
        name: link
        for name, link in _meeting_links("$request.path.meeting_id", None).items()
        if name in ("detail", "end", "messages", "transcript", "summary")
    },
    ("/meetings/{meeting_id}/assistant", "post", "200"): {
        "assistant": _link(
            "getAssistant",
            "The state just set",
            parameters={"path.meeting_id": "$request.path.meeting_id"},
        ),
        "dismissAssistant": _link(
            "dismissAssistant",
            "Dismiss the assistant again",
            parameters={"path.meeting_id": "$request.path.meeting_id"},
        ),
    },
}


def add_links(schema: dict[str, Any]) -> None:
    """Put :data:`LINKS` on the responses of the generated document (which must have them)."""
    for (path, method, status), links in LINKS.items():
        response = schema["paths"][f"{_API}{path}"][method]["responses"][status]
        response["links"] = links
