"""The pure parts of aimeeting.assistant.speech: which model a language gets, and how Whisper's
text is tidied (repetition loops and prompt echoes removed)."""

from __future__ import annotations

import pytest

from aimeeting.assistant.speech import SIMPLIFIED_CHINESE_PROMPT, clean, model_for


def test_model_for_each_language() -> None:
    assert model_for("en") == "tiny.en"
    assert model_for("zh") == "base"
    assert model_for("auto") == "base"
    with pytest.raises(ValueError, match="language"):
        model_for("fr")


def test_clean_collapses_whitespace_and_repetition_loops() -> None:
    assert clean("  Let's ship   the release. ") == "Let's ship the release."
    assert clean("为富富富富富富富富富富") == "为富"
    assert clean("4-4-4-4-4-4-5") == "4-5"
    assert clean("no no no") == "no no no"  # three times is speech, not a loop
    assert clean(" . , ") == ""


def test_clean_removes_an_echoed_prompt() -> None:
    prompt = SIMPLIFIED_CHINESE_PROMPT
    assert clean(prompt, prompt) == ""
    assert clean("我们走吧。" + prompt, prompt) == "我们走吧。"
    assert clean(prompt.rstrip("。") + "，", prompt) == ""
    assert clean(prompt) == prompt  # no prompt given: kept
