from __future__ import annotations

from pydantic import BaseModel, Field

from aimeeting.protocol.wire import ChatMessageData
from aimeeting.server.schemas import Timestamp, format_timestamp
from aimeeting.server.users.schemas import PublicUser


class ChatMessage(BaseModel):
    """A stored chat message: the ``data`` of the WebSocket ``chat_message`` and of history."""

    message_id: str = Field(examples=["msg_5f2c9a1be3d04c7a"])
    room_id: str = Field(description="会议 ID")
    sender: PublicUser
    content: str
    created_at: Timestamp
    client_msg_id: str | None = Field(description="扩展：发送方的去重键")

    def to_wire(self) -> ChatMessageData:
        """The ``chat_message`` event's data (what ``model_dump(mode="json")`` gives, typed)."""
        return {
            "message_id": self.message_id,
            "room_id": self.room_id,
            "sender": self.sender.to_wire(),
            "content": self.content,
            "created_at": format_timestamp(self.created_at),
            "client_msg_id": self.client_msg_id,
        }


class ChatHistory(BaseModel):
    messages: list[ChatMessage] = Field(description="最新的在前")
    has_more: bool = Field(description="是否还有更早的消息（用最后一条的 message_id 作 before）")
