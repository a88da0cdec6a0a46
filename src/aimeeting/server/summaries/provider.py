"""A language model writes the summary instead: any OpenAI-compatible chat-completions endpoint
(``AIMEETING_SUMMARY_URL``, ``…/v1/chat/completions``), asked for a JSON object.

The answer is validated (shape, lengths, owners who were there); anything wrong raises
``ProviderError``, and the caller falls back to the extractive summary. The API key goes in the
``Authorization`` header only: it is never logged, nor put in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aimeeting.server.summaries.extractive import Utterance
from aimeeting.server.summaries.schemas import ActionItem, SummaryContent
from aimeeting.server.validation import clean_text

MAX_ITEMS = 20
MAX_ITEM_LENGTH = 1000

_INSTRUCTIONS = """\
You summarize a meeting from its transcript. Each transcript line is `[user_id] nickname: text`.
Answer with one JSON object and nothing else, with exactly these keys:
"key_points": list of strings, the main points discussed;
"decisions": list of strings, what was decided;
"action_items": list of objects {"text": string, "owner_user_id": string or null}, the tasks
someone took on or was given, with the user_id of that person when known;
"keywords": list of short strings.
Write in the language the meeting was held in. Use only what the transcript says."""


class ProviderError(Exception):
    """The model's answer could not be had or used (its reason is safe to log)."""


def _clean(value: str) -> str:
    return clean_text(value, field="text", min_length=1, max_length=MAX_ITEM_LENGTH)


class _ActionItemIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    text: str
    owner_user_id: str | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _clean(value)


class _SummaryIn(BaseModel):
    """What the model must answer; strict, unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    key_points: list[str] = Field(max_length=MAX_ITEMS)
    decisions: list[str] = Field(max_length=MAX_ITEMS)
    action_items: list[_ActionItemIn] = Field(max_length=MAX_ITEMS)
    keywords: list[str] = Field(max_length=MAX_ITEMS)

    @field_validator("key_points", "decisions", "keywords")
    @classmethod
    def _texts(cls, values: list[str]) -> list[str]:
        return [_clean(value) for value in values]


class ChatCompletionsProvider:
    def __init__(self, url: str, model: str | None, api_key: str | None, timeout: float) -> None:
        self.url = url
        self.model = model
        self._api_key = api_key
        self.timeout = timeout

    async def summarize(
        self, utterances: Sequence[Utterance], members: Mapping[str, str]
    ) -> SummaryContent:
        answer = await self._ask(self._request(utterances, members))
        return _validated(answer, members)

    def _request(
        self, utterances: Sequence[Utterance], members: Mapping[str, str]
    ) -> dict[str, Any]:
        lines = [f"[{u.user_id}] {members.get(u.user_id, '?')}: {u.text}" for u in utterances]
        request: dict[str, Any] = {
            "messages": [
                {"role": "system", "content": _INSTRUCTIONS},
                {"role": "user", "content": "\n".join(lines)},
            ],
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        if self.model:
            request["model"] = self.model
        return request

    async def _ask(self, request: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, json=request, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ProviderError(f"answered HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
            return orjson.loads(content)
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError("not a chat completion with a JSON object in it") from None


def _validated(answer: Any, members: Mapping[str, str]) -> SummaryContent:
    if not isinstance(answer, dict):
        raise ProviderError("the answer is not a JSON object")
    try:
        summary = _SummaryIn.model_validate(answer)
    except ValidationError as exc:
        raise ProviderError(f"the answer has the wrong shape: {exc.error_count()} errors") from None
    # An owner must be someone who was there; a made-up id becomes "nobody said".
    items = [
        ActionItem(
            text=item.text,
            owner_user_id=item.owner_user_id if item.owner_user_id in members else None,
        )
        for item in summary.action_items
    ]
    return SummaryContent(
        key_points=summary.key_points,
        decisions=summary.decisions,
        action_items=items,
        keywords=summary.keywords,
    )
