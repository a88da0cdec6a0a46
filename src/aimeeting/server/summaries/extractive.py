"""The offline summarizer: fixed rules over the transcript's own sentences, in English and
Chinese. Pure and deterministic: the same transcript gives the same summary, word for word.

Rules, in the order they apply:

1. **Sentences.** Each utterance is cut after ``.``, ``!``, ``?`` or ``;`` followed by a space
   (or the end), and after ``。``, ``！``, ``？``, ``；`` anywhere; each piece is trimmed and
   keeps its end mark. A sentence said again (same text, any case and spacing) is dropped.
   A sentence with a CJK ideograph is Chinese, else English. A sentence
   ending in ``?`` or ``？`` is a question: never a decision, an action item or a key point.
2. **Decisions**: sentences with a decision phrase. English (any case): "we decided", "we've
   decided", "we have decided", "decided to", "we agreed", "agreed to", "agreed on", "agreed
   that", "the decision is", "let's go with", "we'll go with", "we will go with". Chinese: 决定,
   确定, 同意, 定了, 敲定, 一致认为.
3. **Action items**: sentences with a commitment, and their owner:
   - a participant named in it: English "<Nickname> will", "<Nickname> is going to",
     "<Nickname> needs to", "please <Nickname>", "<Nickname>, please", "<Nickname>, can you",
     "<Nickname>, could you" (nicknames match in any case, as whole words; the comma is
     optional); Chinese 请<昵称>, <昵称>来, <昵称>负责, <昵称>去, <昵称>会 (not 会议). The owner is
     that participant (the earliest such mention in the sentence).
   - else the speaker, for "I will", "I'll", "I am going to", "I'm going to" (either
     apostrophe), 我来, 我会, 我负责, 我去.
   - else nobody (``owner_user_id`` null), for "we need to", "someone needs to", "action item",
     "todo", "to-do", 我们需要, 需要有人, 待办.
   A sentence can be both a decision and an action item.
4. **Keywords**: terms said at least twice, most frequent first (ties: the one said first),
   at most 8. English terms are words of three letters or more, lower-cased, a trailing "'s"
   dropped, minus a fixed list of common words and the participants' nicknames. Chinese terms
   are the maximal repeated strings of 2 to 6 ideographs between stop characters and stop
   words (a fixed list of function characters such as 的, 了, 是, 我, 们, and of common words
   such as 大家, 今天, 可以, 需要): every such substring said twice or more, except one
   contained in a longer one said as often.
5. **Key points**: of the sentences left (not a question, decision or action item) with at
   least three content terms (English terms as above; Chinese: pairs of ideographs without a
   stop character), the five that mention the most recurring content (the sum, over its
   distinct content terms that at least two sentences of the transcript mention, of the
   number of sentences mentioning it; ties: the earlier sentence), in the order they were
   said. When none mentions any, the first such sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aimeeting.server.summaries.schemas import ActionItem, SummaryContent

MAX_KEYWORDS = 8
MAX_KEY_POINTS = 5
MIN_CONTENT_TERMS = 3
_CHINESE_TERM_LENGTHS = range(2, 7)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")
_APOSTROPHE = "['’]"


def _words(*phrases: str) -> re.Pattern[str]:
    """English phrases as whole words, any case; ``'`` matches either apostrophe."""
    alternatives = "|".join(phrase.replace("'", _APOSTROPHE) for phrase in phrases)
    return re.compile(rf"(?<![\w'’])(?:{alternatives})(?![\w'’])", re.IGNORECASE)


_DECISION = (
    _words(
        "we decided",
        "we've decided",
        "we have decided",
        "decided to",
        "we agreed",
        "agreed to",
        "agreed on",
        "agreed that",
        "the decision is",
        "let's go with",
        "we'll go with",
        "we will go with",
    ),
    re.compile("决定|确定|同意|定了|敲定|一致认为"),
)
_FIRST_PERSON = (
    _words("I will", "I'll", "I am going to", "I'm going to"),
    re.compile("我来|我会|我负责|我去"),
)
_UNOWNED = (
    _words("we need to", "someone needs to", "action item", "todo", "to-do"),
    re.compile("我们需要|需要有人|待办"),
)

# Common English words that say nothing about a meeting's subject.
_STOPWORD_TEXT = (
    "about above after again against all already also always and any are aren't "
    "around back because been before being below between both but can can't cannot "
    "could couldn't did didn't does doesn't doing don't down during each else even "
    "ever every few for from get gets getting give go goes going gone good got great "
    "had hadn't has hasn't have haven't having he'd he'll her here here's hers "
    "herself him himself his how how's i'd i'll i'm i've into isn't it's its itself "
    "just know let let's like lot make many may maybe me might more most much must "
    "mustn't my myself need needs next nor not now off okay once one only other ought "
    "our ours ourselves out over own please put really right said same say says see "
    "she she'd she'll she's should shouldn't since some something still such sure "
    "take than thank thanks that that's the their theirs them themselves then there "
    "there's these they they'd they'll they're they've thing things think this those "
    "though through too two under until very want wants was wasn't way we'd we'll "
    "we're we've well went were weren't what what's when when's where where's which "
    "while who who's whom why why's will with won't would wouldn't yeah yes yet you "
    "you'd you'll you're you've your yours yourself yourselves "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Chinese function characters and common words: they end a Chinese term.
_STOP_CHARACTERS = (
    "的了是在和与或就都也要把被这那个不没有吧吗呢啊呀哦嗯很还对给让说我你他她它们些么什"
    "怎样如果因为所以但而且并及其等于从到向跟再又才只已将得地着过自己咱好一谢"
)
_STOP_WORDS = (
    *("大家", "今天", "明天", "然后", "就是", "可以", "需要"),
    *("还是", "现在", "应该", "觉得", "知道", "时候"),
)
_CHINESE_CUT = re.compile("|".join([*_STOP_WORDS, f"[{_STOP_CHARACTERS}]"]))
_ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_CJK_RUN = re.compile(f"[{_CJK}]+")


@dataclass(frozen=True, slots=True)
class Utterance:
    """One final caption: who said what."""

    user_id: str
    text: str


@dataclass(frozen=True, slots=True)
class _Sentence:
    speaker: str
    text: str

    @property
    def is_question(self) -> bool:
        return self.text.endswith(("?", "？"))


def summarize(utterances: Sequence[Utterance], members: Mapping[str, str]) -> SummaryContent:
    """The summary of a transcript; ``members`` maps the participants' user ids to their
    nicknames (the owners action items may name)."""
    sentences = _unique(_sentences(utterances))
    nicknames = {nickname.casefold() for nickname in members.values()}
    terms = [_terms(sentence.text, nicknames) for sentence in sentences]
    counts = Counter(term for sentence_terms in terms for term in sentence_terms)
    decisions: list[str] = []
    action_items: list[ActionItem] = []
    rest: list[int] = []
    for index, sentence in enumerate(sentences):
        if sentence.is_question:
            continue
        is_decision = _matches(_DECISION, sentence.text)
        action = _action_item(sentence, members)
        if is_decision:
            decisions.append(sentence.text)
        if action is not None:
            action_items.append(action)
        if not is_decision and action is None:
            rest.append(index)
    return SummaryContent(
        key_points=_key_points(sentences, rest, nicknames),
        decisions=decisions,
        action_items=action_items,
        keywords=_keywords(terms, counts),
    )


# -- sentences ----------------------------------------------------------------------------


def _sentences(utterances: Iterable[Utterance]) -> list[_Sentence]:
    return [
        _Sentence(utterance.user_id, piece.strip())
        for utterance in utterances
        for piece in _SENTENCE_END.split(utterance.text)
        if piece.strip()
    ]


def _unique(sentences: list[_Sentence]) -> list[_Sentence]:
    seen: set[str] = set()
    unique = []
    for sentence in sentences:
        key = " ".join(sentence.text.casefold().split())
        if key not in seen:
            seen.add(key)
            unique.append(sentence)
    return unique


def _matches(patterns: tuple[re.Pattern[str], re.Pattern[str]], text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)


# -- action items ---------------------------------------------------------------------------


def _action_item(sentence: _Sentence, members: Mapping[str, str]) -> ActionItem | None:
    owner = _named_owner(sentence.text, members)
    if owner is None and _matches(_FIRST_PERSON, sentence.text):
        owner = sentence.speaker
    if owner is None and not _matches(_UNOWNED, sentence.text):
        return None
    return ActionItem(text=sentence.text, owner_user_id=owner)


def _named_owner(text: str, members: Mapping[str, str]) -> str | None:
    """The participant the sentence asks or commits, at its earliest mention."""
    found: list[tuple[int, str]] = []
    for user_id, nickname in members.items():
        match = _owner_pattern(nickname).search(text)
        if match is not None:
            found.append((match.start(), user_id))
    return min(found)[1] if found else None


def _owner_pattern(nickname: str) -> re.Pattern[str]:
    name = re.escape(nickname)
    if _HAS_CJK.search(nickname):
        return re.compile(f"请{name}|{name}(?:来|负责|去|会(?!议))")
    whole = rf"(?<![\w'’]){name}(?![\w'’])"
    english = (
        rf"{whole}\s+(?:will|is going to|needs to)\b",
        rf"\bplease,?\s+{whole}",
        rf"{whole},?\s+(?:please|can you|could you)\b",
    )
    return re.compile("|".join(english), re.IGNORECASE)


# -- terms: keywords and key points -----------------------------------------------------------


def _terms(text: str, nicknames: set[str]) -> list[str]:
    """The keyword candidates of a sentence, in order: English words, Chinese strings."""
    terms = [
        word
        for word in (_english_term(raw) for raw in _ENGLISH_WORD.findall(text))
        if word is not None and word not in nicknames
    ]
    for run in _chinese_runs(text):
        terms += [
            run[start : start + length]
            for length in _CHINESE_TERM_LENGTHS
            for start in range(len(run) - length + 1)
            if run[start : start + length].casefold() not in nicknames
        ]
    return terms


def _english_term(raw: str) -> str | None:
    word = raw.replace("’", "'").casefold().strip("'-")
    word = word.removesuffix("'s")
    if len(word) < 3 or word in _STOPWORDS:
        return None
    return word


def _chinese_runs(text: str) -> list[str]:
    """The ideograph runs of a text, cut at stop characters."""
    runs: list[str] = []
    for run in _CJK_RUN.findall(text):
        runs += [part for part in _CHINESE_CUT.split(run) if part]
    return runs


def _keywords(terms: list[list[str]], counts: Counter[str]) -> list[str]:
    first_said: dict[str, int] = {}
    for term in (term for sentence_terms in terms for term in sentence_terms):
        first_said.setdefault(term, len(first_said))
    repeated = [term for term, count in counts.items() if count >= 2]
    kept = [term for term in repeated if not _inside_as_often(term, repeated, counts)]
    kept.sort(key=lambda term: (-counts[term], first_said[term]))
    return kept[:MAX_KEYWORDS]


def _inside_as_often(term: str, repeated: list[str], counts: Counter[str]) -> bool:
    """A Chinese string that is only ever said as part of a longer repeated one."""
    if not _HAS_CJK.search(term):
        return False
    return any(
        len(other) > len(term) and term in other and counts[other] == counts[term]
        for other in repeated
    )


def _content_terms(text: str, nicknames: set[str]) -> set[str]:
    """What a sentence is about: its English terms, and its pairs of Chinese ideographs."""
    english = {
        word
        for word in (_english_term(raw) for raw in _ENGLISH_WORD.findall(text))
        if word is not None and word not in nicknames
    }
    pairs = {run[i : i + 2] for run in _chinese_runs(text) for i in range(len(run) - 1)}
    return english | {pair for pair in pairs if pair.casefold() not in nicknames}


def _key_points(
    sentences: list[_Sentence], candidates: list[int], nicknames: set[str]
) -> list[str]:
    content = [_content_terms(sentence.text, nicknames) for sentence in sentences]
    said = Counter(term for terms in content for term in terms)  # sentences mentioning it
    eligible = [index for index in candidates if len(content[index]) >= MIN_CONTENT_TERMS]
    scores = {
        index: sum(said[term] for term in content[index] if said[term] >= 2) for index in eligible
    }
    chosen = sorted(
        (index for index in eligible if scores[index] > 0), key=lambda i: (-scores[i], i)
    )
    if not chosen:
        chosen = eligible[:1]
    return [sentences[index].text for index in sorted(chosen[:MAX_KEY_POINTS])]
