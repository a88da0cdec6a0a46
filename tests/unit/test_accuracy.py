"""Word and character error rates (aimeeting.assistant.accuracy): the edit distance, and the
normalization that makes spelling, case and punctuation not count."""

from __future__ import annotations

import pytest

from aimeeting.assistant.accuracy import (
    char_error_rate,
    char_errors,
    chinese_chars,
    edit_distance,
    english_words,
    word_error_rate,
    word_errors,
)


def test_edit_distance_counts_substitutions_deletions_and_insertions() -> None:
    assert edit_distance([], []) == 0
    assert edit_distance(list("kitten"), list("sitting")) == 3
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    assert edit_distance(["a"], ["a", "b", "b"]) == 2
    assert edit_distance([], ["x", "y"]) == 2


def test_english_normalization_ignores_case_punctuation_and_apostrophes() -> None:
    assert english_words("Let's ship the release on Friday!") == english_words(
        "lets ship the  release, on friday"
    )
    assert english_words("Can everyone see my screen?") == [
        "can",
        "everyone",
        "see",
        "my",
        "screen",
    ]
    assert english_words("a well-known plan") == ["a", "well", "known", "plan"]


def test_english_small_numbers_are_words() -> None:
    assert english_words("We need 2 more people") == ["we", "need", "two", "more", "people"]
    assert english_words("42 items, 0 left") == ["forty", "two", "items", "zero", "left"]
    assert english_words("30") == ["thirty"]
    assert english_words("2025") == ["2025"]  # years and big numbers left as written


def test_word_error_rate() -> None:
    assert word_error_rate("I will write the test plan.", "I will write the test plan") == 0
    assert word_error_rate("fix the bugs first", "fix the mugs first") == 0.25
    assert word_error_rate("fix the bugs", "") == 1.0
    assert word_error_rate("hi", "hi there you all") == 3.0  # insertions can exceed 1
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "noise") == 1.0
    assert word_errors("Who owns the database migration?", "Both the database migration.") == (
        2,
        5,
    )


def test_chinese_normalization_drops_punctuation_and_spaces() -> None:
    assert chinese_chars("我们周五发布新版本。") == list("我们周五发布新版本")
    assert chinese_chars("大家 能看到 我的屏幕吗？") == list("大家能看到我的屏幕吗")
    assert chinese_chars("ＡＩ会议，OK!") == list("ai会议ok")  # full width folded


def test_char_error_rate() -> None:
    assert char_error_rate("我们周五发布新版本。", "我们周五发布新版本") == 0
    assert char_errors("我们周五发布新版本。", "我们终于发布新版本。") == (2, 9)
    assert char_error_rate("我来写测试计划", "") == 1.0
    # Traditional characters are not mapped to Simplified: they count as errors
    assert char_error_rate("会议", "會議") == 1.0


@pytest.mark.parametrize("rate", [word_error_rate, char_error_rate])
def test_identical_texts_have_no_errors(rate: object) -> None:
    assert callable(rate)
    assert rate("Same text 一样", "Same text 一样") == 0.0
