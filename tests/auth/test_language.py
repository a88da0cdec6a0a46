"""Accept-Language: English messages on request, with the same codes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.utils.api import CJK, User, unique_email
from tests.utils.auth import login, login_user, logout, me, refresh, register_body, register_raw


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


Scenario = Callable[[str, User, str, "str | None"], httpx.Response]


SCENARIOS: dict[str, Scenario] = {
    "register-201": lambda url, u, taken, lang: register_raw(url, register_body(), lang=lang),
    "login-200": lambda url, u, taken, lang: login(url, u.email, u.password, lang=lang),
    "me-200": lambda url, u, taken, lang: me(url, u.access_token, lang=lang),
    "refresh-200": lambda url, u, taken, lang: refresh(url, u.refresh_token, lang=lang),
    "logout-200": lambda url, u, taken, lang: logout(
        url, login_user(url, u.email)["tokens"]["access_token"], lang=lang
    ),
    "40001": lambda url, u, taken, lang: register_raw(url, register_body(email="x"), lang=lang),
    "40002": lambda url, u, taken, lang: register_raw(
        url, register_body(password="short"), lang=lang
    ),
    "40003": lambda url, u, taken, lang: register_raw(url, register_body(email=None), lang=lang),
    "40004": lambda url, u, taken, lang: register_raw(url, register_body(nickname="x"), lang=lang),
    "40101": lambda url, u, taken, lang: login(url, unique_email(), "WrongPass999", lang=lang),
    "40103": lambda url, u, taken, lang: me(url, "garbage", lang=lang),
    "40901": lambda url, u, taken, lang: register_raw(url, register_body(email=taken), lang=lang),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_accept_language_en_gives_english_messages_with_the_same_codes(
    base_url: str, member: User, bystander: User, scenario: str
) -> None:
    def run(lang: str | None) -> httpx.Response:
        return SCENARIOS[scenario](base_url, member, bystander.email, lang)

    chinese = run(None)
    assert has_cjk(chinese.json()["message"]), chinese.text
    for lang in ("en", "en-US,en;q=0.9,zh;q=0.8"):
        english = run(lang)
        assert english.status_code == chinese.status_code, (lang, english.text)
        assert english.json()["code"] == chinese.json()["code"], (lang, english.text)
        message = english.json()["message"]
        assert message and message.isascii(), (lang, message)
    for lang in ("zh-CN,zh;q=0.9,en;q=0.8", "fr-FR"):
        assert run(lang).json()["message"] == chinese.json()["message"], lang
