"""``caption``: the assistant tells a room what someone said (docs/assistant.md).

Only the assistant's account sends captions, on a connection in the room, while its invitation
is active. A final caption is stored in the transcript before anyone sees it (as chat is); every
other member of the room gets it through the hub, on whichever node they are connected.
"""

from __future__ import annotations

from aimeeting.protocol import ErrorCode, ServerMessage
from aimeeting.protocol.wire import CaptionData
from aimeeting.server.assistant.service import AssistantService
from aimeeting.server.errors import Forbidden, InvalidInput
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import Hub
from aimeeting.server.realtime.member import Member
from aimeeting.server.realtime.schemas import CaptionIn
from aimeeting.server.transcripts.service import Caption, TranscriptService


class Captions:
    def __init__(
        self,
        hub: Hub,
        meetings: MeetingService,
        assistant: AssistantService,
        transcripts: TranscriptService,
    ) -> None:
        self.hub = hub
        self.meetings = meetings
        self.assistant = assistant
        self.transcripts = transcripts

    async def caption(self, connection: Member, message: CaptionIn) -> None:
        room_id = message.room_id
        await self._check_sender(connection, room_id)
        if not await self.meetings.holds_seat(room_id, message.user_id):
            raise InvalidInput(
                ErrorCode.INVALID_PARAMETER, {"user_id": "holds no seat in this meeting"}
            )
        if message.final:
            await self.transcripts.add(
                Caption(room_id, message.user_id, message.text, message.start_ms, message.end_ms)
            )
        data: CaptionData = {
            "room_id": room_id,
            "user_id": message.user_id,
            "text": message.text,
            "start_ms": message.start_ms,
            "end_ms": message.end_ms,
            "final": message.final,
        }
        event = Event(ServerMessage.CAPTION, data)
        await self.hub.publish(room_id, event, exclude=connection.user_id)

    async def _check_sender(self, connection: Member, room_id: str) -> None:
        """The assistant, in the room on this connection, invited now (else 40301)."""
        if not self.assistant.is_assistant(connection.user_id):
            raise Forbidden({"type": "only the assistant sends captions"})
        if room_id not in connection.rooms:
            raise Forbidden({"room_id": "join the room first"})
        if not await self.assistant.is_invited(room_id):
            raise Forbidden({"room_id": "the assistant is not invited to this meeting"})
