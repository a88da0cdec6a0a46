"""The public names of ``aimeeting`` and ``aimeeting.sdk``, pinned (as httpx's
tests/test_exported_members.py pins its own): adding or removing one is a decision, taken here
too. Each module exports exactly the public names it holds, sorted, and the package top
re-exports the whole SDK."""

from __future__ import annotations

import types

import pytest

import aimeeting
import aimeeting.sdk

SDK = [
    "AccountLockedError",
    "ActionItem",
    "AssistantInvitation",
    "AssistantState",
    "AuthenticationError",
    "BadRequestError",
    "CaptionEvent",
    "ChatMessage",
    "ConflictError",
    "ConnectionState",
    "ConnectionStateChangedEvent",
    "CreateMeetingOptions",
    "ErrorEvent",
    "EventHandler",
    "EventObject",
    "InternalServerError",
    "JoinMeetingOptions",
    "LogLevel",
    "MediaDeviceInfo",
    "MediaDevices",
    "MediaStateChangedEvent",
    "Meeting",
    "MeetingEndedError",
    "MeetingEndedEvent",
    "MeetingError",
    "MeetingEvent",
    "MeetingFullError",
    "MeetingSDK",
    "MeetingState",
    "MethodNotAllowedError",
    "NetworkQuality",
    "NetworkQualityChangedEvent",
    "NotFoundError",
    "Participant",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "SDKConfig",
    "SDKErrorCode",
    "ServerRefusedError",
    "ServiceUnavailableError",
    "Summary",
    "TURNServer",
    "Tokens",
    "TrackAddedEvent",
    "TrackKind",
    "TrackRemovedEvent",
    "TranscriptPage",
    "TranscriptSegment",
    "User",
    "UserJoinedEvent",
    "UserLeftEvent",
    "WebRTCSignalEvent",
]
# The package: the SDK's names, the protocol's error codes, and the version.
PACKAGE = sorted([*SDK, "ErrorCode", "__version__"])


@pytest.mark.parametrize(
    ("module", "expected"), [(aimeeting, PACKAGE), (aimeeting.sdk, SDK)], ids=["aimeeting", "sdk"]
)
def test_all_is_the_expected_list_and_every_name_exists(
    module: types.ModuleType, expected: list[str]
) -> None:
    assert module.__all__ == expected  # sorted, no duplicates, nothing added or lost
    for name in module.__all__:
        assert getattr(module, name, None) is not None, name


@pytest.mark.parametrize("module", [aimeeting, aimeeting.sdk], ids=["aimeeting", "sdk"])
def test_every_public_name_held_is_exported(module: types.ModuleType) -> None:
    """What a module imports for its users is in ``__all__`` (and nothing else is); its
    subpackages are not names."""
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(module.__all__) - {"__version__"}


def test_the_package_top_reexports_the_sdk_itself() -> None:
    for name in aimeeting.sdk.__all__:
        assert getattr(aimeeting, name) is getattr(aimeeting.sdk, name), name
