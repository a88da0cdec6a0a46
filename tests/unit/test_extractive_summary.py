"""The extractive summarizer (aimeeting.server.summaries.extractive) on scripted meetings, in
English and in Chinese: exact key points, decisions, action items with their owners, and
keywords, as the rules in its module docstring give them. Pure: no server."""

from __future__ import annotations

from aimeeting.server.summaries.extractive import Utterance, summarize
from aimeeting.server.summaries.schemas import ActionItem

ALICE, BOB, CAROL = "user_a", "user_b", "user_c"
ENGLISH_MEMBERS = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}
ENGLISH = [
    Utterance(ALICE, "Good morning everyone. Today we review the release plan for the mobile app."),
    Utterance(BOB, "The mobile app release is blocked by the login bug on Android."),
    Utterance(
        CAROL,
        "The login bug only happens on older Android versions, and the crash reports confirm it.",
    ),
    Utterance(ALICE, "Okay. We decided to delay the release by one week."),
    Utterance(BOB, "I'll fix the login bug by Wednesday."),
    Utterance(ALICE, "Carol will update the release notes for the app store."),
    Utterance(CAROL, "Should we also tell the support team?"),
    Utterance(ALICE, "Yes. Please Bob, send the crash reports to the support team."),
    Utterance(BOB, "Sure. We need to test the release candidate on five Android devices."),
    Utterance(CAROL, "The beta testers liked the new onboarding screens in the mobile app."),
    Utterance(ALICE, "Let's go with the new onboarding screens for this release."),
    Utterance(BOB, "Thanks, bye."),
]

ZHANG, LI, WANG = "user_zhang", "user_li", "user_wang"
CHINESE_MEMBERS = {ZHANG: "张伟", LI: "李娜", WANG: "王强"}
CHINESE = [
    Utterance(ZHANG, "大家好，今天讨论新版本的发布计划。"),
    Utterance(LI, "新版本的支付功能还有两个缺陷没有修复。"),
    Utterance(WANG, "支付功能的缺陷主要在退款流程，测试环境可以复现。"),
    Utterance(ZHANG, "我们决定把发布时间推迟到下周五。"),
    Utterance(LI, "我来修复退款流程的缺陷。"),
    Utterance(ZHANG, "请王强更新测试用例，并通知客服团队。"),
    Utterance(WANG, "需要通知运营吗？"),
    Utterance(ZHANG, "需要。李娜会写一份发布说明。"),
    Utterance(WANG, "测试环境的数据库也需要升级，升级以后性能会更好。"),
    Utterance(ZHANG, "好的，谢谢大家。"),
]


def test_an_english_meeting() -> None:
    summary = summarize(ENGLISH, ENGLISH_MEMBERS)
    assert summary.key_points == [
        "Today we review the release plan for the mobile app.",
        "The mobile app release is blocked by the login bug on Android.",
        "The login bug only happens on older Android versions, and the crash reports confirm it.",
        "The beta testers liked the new onboarding screens in the mobile app.",
    ]
    assert summary.decisions == [
        "We decided to delay the release by one week.",
        "Let's go with the new onboarding screens for this release.",
    ]
    assert summary.action_items == [
        ActionItem(text="I'll fix the login bug by Wednesday.", owner_user_id=BOB),
        ActionItem(
            text="Carol will update the release notes for the app store.", owner_user_id=CAROL
        ),
        ActionItem(
            text="Please Bob, send the crash reports to the support team.", owner_user_id=BOB
        ),
        ActionItem(
            text="We need to test the release candidate on five Android devices.",
            owner_user_id=None,
        ),
    ]
    assert summary.keywords == [
        "release",
        "app",
        "mobile",
        "login",
        "bug",
        "android",
        "crash",
        "reports",
    ]


def test_a_chinese_meeting() -> None:
    summary = summarize(CHINESE, CHINESE_MEMBERS)
    assert summary.key_points == [
        "大家好，今天讨论新版本的发布计划。",
        "新版本的支付功能还有两个缺陷没有修复。",
        "支付功能的缺陷主要在退款流程，测试环境可以复现。",
        "测试环境的数据库也需要升级，升级以后性能会更好。",
    ]
    assert summary.decisions == ["我们决定把发布时间推迟到下周五。"]
    assert summary.action_items == [
        ActionItem(text="我来修复退款流程的缺陷。", owner_user_id=LI),
        ActionItem(text="请王强更新测试用例，并通知客服团队。", owner_user_id=WANG),
        ActionItem(text="李娜会写一份发布说明。", owner_user_id=LI),
    ]
    assert summary.keywords == [
        "发布",
        "缺陷",
        "测试",
        "新版本",
        "支付功能",
        "修复",
        "退款流程",
        "测试环境",
    ]


def test_the_same_transcript_gives_the_same_summary() -> None:
    assert summarize(ENGLISH, ENGLISH_MEMBERS) == summarize(list(ENGLISH), dict(ENGLISH_MEMBERS))


def test_questions_are_never_decisions_or_action_items() -> None:
    said = [Utterance(ALICE, "Did we decide to ship? Will Bob fix it? I'll check?")]
    summary = summarize(said, ENGLISH_MEMBERS)
    assert (summary.decisions, summary.action_items, summary.key_points) == ([], [], [])


def test_owners_are_named_members_else_the_speaker_else_nobody() -> None:
    said = [
        Utterance(ALICE, "carol, could you book the room."),  # any case, comma optional
        Utterance(ALICE, "I'm going to write the agenda."),  # the speaker
        Utterance(BOB, "Alice is going to ask Carol."),  # the earliest named owner
        Utterance(BOB, "Someone needs to call the vendor."),  # nobody
        Utterance(CAROL, "Bobby will come too."),  # not Bob: whole words only
        Utterance(CAROL, "I’ll bring snacks."),  # the typographic apostrophe
    ]
    summary = summarize(said, ENGLISH_MEMBERS)
    assert [(a.text, a.owner_user_id) for a in summary.action_items] == [
        ("carol, could you book the room.", CAROL),
        ("I'm going to write the agenda.", ALICE),
        ("Alice is going to ask Carol.", ALICE),
        ("Someone needs to call the vendor.", None),
        ("I’ll bring snacks.", CAROL),
    ]


def test_chinese_owners_and_meeting_is_not_will() -> None:
    said = [
        Utterance(ZHANG, "王强负责联系供应商。"),
        Utterance(ZHANG, "李娜会议上说过这个问题。"),  # 会议: a meeting, not "will"
        Utterance(WANG, "我负责写周报。"),
        Utterance(LI, "待办：整理需求文档。"),
    ]
    summary = summarize(said, CHINESE_MEMBERS)
    assert [(a.text, a.owner_user_id) for a in summary.action_items] == [
        ("王强负责联系供应商。", WANG),
        ("我负责写周报。", WANG),
        ("待办：整理需求文档。", None),
    ]


def test_a_sentence_said_twice_is_listed_once() -> None:
    said = [Utterance(ALICE, "We agreed on Friday."), Utterance(BOB, "we  agreed on friday.")]
    assert summarize(said, ENGLISH_MEMBERS).decisions == ["We agreed on Friday."]


def test_nicknames_are_text_not_patterns() -> None:
    members = {ALICE: "A.B (x)", BOB: "Bob"}
    said = [Utterance(BOB, "Please A.B (x) review the draft."), Utterance(BOB, "AxB (x) will.")]
    summary = summarize(said, members)
    assert [(a.text, a.owner_user_id) for a in summary.action_items] == [
        ("Please A.B (x) review the draft.", ALICE)
    ]


def test_small_talk_gives_an_empty_summary() -> None:
    summary = summarize([Utterance(ALICE, "Hi. Okay, thanks!")], ENGLISH_MEMBERS)
    assert summary.model_dump() == {
        "key_points": [],
        "decisions": [],
        "action_items": [],
        "keywords": [],
    }
