"""Word and character error rates of a transcript against what was said (numpy-free, pure).

Both are the Levenshtein distance (substitutions + deletions + insertions) between the
normalized reference and hypothesis, divided by the reference's length: 0 is perfect, and an
answer full of inserted words can exceed 1. For several sentences, add the edits and the
lengths (:func:`word_errors`, :func:`char_errors`) rather than averaging the rates, so a long
sentence weighs more than a short one.

Normalization (both sides the same way), so that only the words count, not their spelling:

- Unicode NFKC (full-width letters and digits become ASCII ones), then lower case.
- Word error rate (English): apostrophes are removed inside words (``let's`` = ``lets``), every
  other punctuation mark is a space, and whitespace separates the words. A whole number from 0
  to 99 written in digits becomes words (``2`` = ``two``, ``42`` = ``forty two``), since Whisper
  writes small numbers either way; larger numbers, ordinals and amounts are left as they are.
- Character error rate (Chinese): punctuation and whitespace are removed and every remaining
  character counts (a Latin word is counted letter by letter). Traditional characters are
  **not** mapped to Simplified ones: that needs a conversion table (OpenCC's has thousands of
  entries), not something to hand-roll, so a Traditional answer counts as errors. The
  transcriber prompts Whisper towards Simplified instead (:mod:`aimeeting.assistant.speech`).
  Digits are left as they are (Chinese numbers have no one-to-one spelling: 2 is 二 or 两).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

__all__ = [
    "char_error_rate",
    "char_errors",
    "chinese_chars",
    "edit_distance",
    "english_words",
    "word_error_rate",
    "word_errors",
]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")


def _number_words(token: str) -> list[str]:
    if not token.isascii() or not token.isdigit() or len(token) > 2:
        return [token]
    value = int(token)
    if value < 20:
        return [_ONES[value]]
    tens, ones = divmod(value, 10)
    return [_TENS[tens]] if ones == 0 else [_TENS[tens], _ONES[ones]]


def _is_punctuation(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith("P") or category.startswith("S")


def english_words(text: str) -> list[str]:
    """``text`` normalized into words for the word error rate (see the module)."""
    text = _APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).lower())
    text = "".join(" " if _is_punctuation(c) else c for c in text)
    return [word for token in text.split() for word in _number_words(token)]


def chinese_chars(text: str) -> list[str]:
    """``text`` normalized into characters for the character error rate (see the module)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return [c for c in text if not c.isspace() and not _is_punctuation(c)]


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (unit costs)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, words in the reference), after normalization."""
    ref = english_words(reference)
    return edit_distance(ref, english_words(hypothesis)), len(ref)


def char_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, characters in the reference), after normalization."""
    ref = chinese_chars(reference)
    return edit_distance(ref, chinese_chars(hypothesis)), len(ref)


def _rate(errors: tuple[int, int]) -> float:
    edits, length = errors
    if length == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / length


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (English; 0.0 is perfect).
    An empty reference: 0.0 for an empty hypothesis, else 1.0."""
    return _rate(word_errors(reference, hypothesis))


def char_error_rate(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (Chinese; 0.0 is
    perfect). An empty reference: 0.0 for an empty hypothesis, else 1.0."""
    return _rate(char_errors(reference, hypothesis))
