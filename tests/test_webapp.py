"""The web app end to end: people open ``/`` of a real ``aimeeting serve`` in real Chromium,
sign up, start or join meetings by number and by link, see and hear each other, chat, mute,
leave, and the creator ends it; wrong numbers, full meetings and refused cameras get their
pages. Screenshots of the main screens go to ``build/screenshots/`` (not committed) for a
reviewer; axe-core checks each screen for serious accessibility violations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from harness.browser import VIDEO_SIZE, Chromium, wait_video_playing, write_tone_wav
from harness.server import ServerProcess
from tests.utils.api import PASSWORD, create_meeting, join, register
from tests.utils.proxy import TcpProxy
from tests.utils.webapp import AppUser, dump

SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"


async def people(browser: Chromium, server: ServerProcess, *names: str) -> list[AppUser]:
    return [AppUser(await browser.new_participant(name), server.url, name) for name in names]


async def no_serious_violations(user: AppUser, screen: str) -> None:
    violations = await user.axe()
    assert violations == [], f"{screen}: {dump(violations)}"


async def test_two_people_meet_chat_mute_leave_and_the_creator_ends(
    netns_server: ServerProcess, launch_chromium: Callable[..., Awaitable[Chromium]], tmp_path: Path
) -> None:
    tone = write_tone_wav(tmp_path / "tone.wav", frequency=440.0)
    browser = await launch_chromium(fake_audio_file=tone, fake_cameras=2)
    alice, bob = await people(browser, netns_server, "Alice", "Bob")

    await alice.open()
    await alice.page.get_by_role("button", name="Sign in").wait_for()
    await no_serious_violations(alice, "sign in")
    await alice.screenshot(SCREENSHOTS, "1-sign-in")
    await alice.sign_up()
    await no_serious_violations(alice, "home")
    await alice.screenshot(SCREENSHOTS, "2-home")

    # Alice starts a meeting; Bob joins it by its number, through the pre-join check.
    number = await alice.start(title="Standup")
    await bob.sign_up()
    await bob.join_by_number(number)
    await bob.page.get_by_label("Microphone level").wait_for()
    # Functions, not expression strings: the page's CSP forbids the eval Playwright would use.
    await bob.page.wait_for_function("() => document.querySelector('.preview').videoWidth > 0")
    await no_serious_violations(bob, "pre-join")
    await bob.screenshot(SCREENSHOTS, "3-pre-join")
    assert await bob.join_now() == number

    for viewer, other in ((alice, bob), (bob, alice)):
        video = await viewer.sees(other)
        assert (video["width"], video["height"]) == VIDEO_SIZE, (viewer, video)
        heard = await viewer.hears(other)
        assert abs(heard["frequency"] - 440.0) < 25, (viewer, heard)
    assert await alice.tiles() == ["Alice (you)", "Bob"]
    await no_serious_violations(alice, "meeting")
    await alice.screenshot(SCREENSHOTS, "4-meeting")

    # Chat: Bob writes; Alice, her panel closed, sees an unread badge, then the message.
    await bob.page.get_by_role("button", name="Chat").click()
    await bob.page.get_by_label("Message").fill("hello from Bob")
    await bob.page.get_by_role("button", name="Send").click()
    badge = alice.page.locator(".badge")
    await badge.wait_for()
    assert await badge.inner_text() == "1"
    await alice.page.get_by_role("button", name="Chat").click()
    await alice.page.locator(".messages li", has_text="hello from Bob").wait_for()
    assert await badge.is_hidden()
    await no_serious_violations(alice, "chat")
    await alice.screenshot(SCREENSHOTS, "4b-chat")

    # Alice shares her screen: Bob sees it large, beside the cameras; then she stops.
    await alice.page.get_by_role("button", name="Share screen").click()
    await wait_video_playing(bob.page, ".screen video")
    assert await bob.page.locator(".screen .caption").inner_text() == (
        "Alice is sharing their screen"
    )
    await bob.screenshot(SCREENSHOTS, "5-screen")
    await alice.page.get_by_role("button", name="Stop sharing").click()
    await bob.page.locator(".screen").wait_for(state="hidden")

    # Bob picks his other camera in the devices panel: Alice keeps seeing him.
    await bob.page.get_by_role("button", name="Devices").click()
    camera = bob.page.get_by_label("Camera")
    await camera.locator("option").nth(1).wait_for(state="attached")  # listed once enumerated
    options = await camera.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) == 2, options
    using = await camera.input_value()
    other = next(option for option in options if option != using)
    await camera.select_option(other)
    await bob.page.wait_for_function(
        "id => document.querySelector('.tile video').srcObject"
        ".getVideoTracks()[0].getSettings().deviceId === id",
        arg=other,
    )
    await alice.sees(bob)

    # Mute: Bob's tile of Alice says so.
    await alice.page.get_by_role("button", name="Mute").click()
    await bob.page.locator('.tile[aria-label="Alice, muted"]').wait_for()
    await alice.page.get_by_role("button", name="Unmute").wait_for()

    # Bob leaves: home again; Alice is alone.
    await bob.page.get_by_role("button", name="Leave").click()
    await bob.page.get_by_role("button", name="Sign out").wait_for()
    await alice.page.wait_for_function("() => document.querySelectorAll('.tile').length === 1")

    # Alice ends the meeting (after confirming): the meeting's end page; it is in her list.
    await alice.page.get_by_role("button", name="End meeting").click()
    await alice.page.get_by_role("dialog").get_by_role("button", name="End meeting").click()
    assert await alice.notice() == "The meeting has ended"
    await alice.screenshot(SCREENSHOTS, "6-ended")
    await alice.page.get_by_role("button", name="Back to home").click()
    row = alice.page.locator(".meeting-row", has_text="Standup")
    await row.wait_for()
    assert "ended" in await row.inner_text()
    assert browser.errors() == [], browser.report()


async def test_four_join_by_number_and_by_link_a_fifth_is_refused(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    alice, bob, carol, dave, erin = await people(
        chromium, netns_server, "Alice", "Bob", "Carol", "Dave", "Erin"
    )
    await alice.sign_up()
    number = await alice.start(title="Weekly sync")
    # Bob and Carol follow the join link: sign up first, then they are at its pre-join check.
    for user in (bob, carol):
        await user.sign_up(f"/m/{number}")
        assert await user.join_now() == number
    await dave.sign_up()
    await dave.join_by_number(number)
    await dave.join_now()
    everyone = [alice, bob, carol, dave]
    for viewer in everyone:
        for other in everyone:
            if other is not viewer:
                await viewer.sees(other)
    # The README's picture: a roomier window, the chat open.
    await dave.page.set_viewport_size({"width": 960, "height": 600})
    await dave.page.get_by_role("button", name="Chat").click()
    await dave.page.get_by_label("Message").fill("Hi all!")
    await dave.page.get_by_role("button", name="Send").click()
    await dave.page.locator(".messages li", has_text="Hi all!").wait_for()
    await dave.screenshot(SCREENSHOTS, "7-four")

    await erin.sign_up(f"/m/{number}")
    await erin.page.get_by_role("button", name="Join now").click()
    assert await erin.notice() == "This meeting is full"
    await no_serious_violations(erin, "meeting full")
    await erin.page.get_by_role("button", name="Back to home").click()
    await erin.join_by_number("999999999")
    await erin.page.get_by_role("button", name="Join now").click()
    assert await erin.notice() == "No such meeting"
    await erin.open("/m/12345")
    assert await erin.notice() == "No such meeting"


async def test_a_refused_camera_still_joins_and_sees_the_others(
    stun_netns_server: ServerProcess, launch_chromium: Callable[..., Awaitable[Chromium]]
) -> None:
    server = stun_netns_server
    browser = await launch_chromium(fake_ui=False)
    alice = AppUser(await browser.new_participant("Alice"), server.url, "Alice")
    shy = AppUser(
        await browser.new_participant("Shy", camera=False, microphone=False), server.url, "Shy"
    )
    await alice.sign_up()
    number = await alice.start()
    await shy.sign_up(f"/m/{number}")
    await shy.page.get_by_text("Your camera or microphone is not available").wait_for()
    await shy.screenshot(SCREENSHOTS, "8-no-camera")
    await shy.join_now()
    await shy.sees(alice)
    # Without a microphone or camera Shy joins muted with the camera off: the room is told.
    await alice.page.locator('.tile[aria-label="Shy, muted, camera off"]').wait_for()


async def test_sign_in_errors_are_words_in_the_browsers_language(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    english = AppUser(await chromium.new_participant("En"), netns_server.url, "En")
    await english.sign_up()
    await english.page.get_by_role("button", name="Sign out").click()
    await english.page.get_by_label("Email").fill(english.email)
    await english.page.get_by_label("Password").fill("wrong-Passw0rd")
    await english.page.get_by_role("button", name="Sign in").click()
    alert = english.page.get_by_role("alert")
    await alert.filter(has_text="Wrong email or password").wait_for()

    chinese = AppUser(await chromium.new_participant("Zh", locale="zh-CN"), netns_server.url, "Zh")
    await chinese.open()
    assert await chinese.page.get_attribute("html", "lang") == "zh-CN"
    await chinese.page.get_by_label("邮箱").fill(english.email)
    await chinese.page.get_by_label("密码").fill("wrong-Passw0rd")
    await chinese.page.get_by_role("button", name="登录").click()
    await chinese.page.get_by_role("alert").filter(has_text="邮箱或密码错误").wait_for()
    # A session survives a reload: signed in once, the home page comes back.
    await english.page.get_by_label("Password").fill(PASSWORD)
    await english.page.get_by_role("button", name="Sign in").click()
    await english.page.get_by_role("button", name="Sign out").wait_for()
    await english.page.reload()
    await english.page.get_by_role("button", name="Sign out").wait_for()
    # The browser logs each refused sign-in (401) itself; nothing else may be in the console.
    unexpected = [line for line in chromium.errors() if "status of 401" not in line]
    assert unexpected == [], chromium.report()


async def test_a_dropped_connection_shows_reconnecting_and_heals(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    # Bob uses the app through a proxy the test cuts (page, REST and WebSocket alike).
    proxy = await TcpProxy("127.0.0.1", netns_server.port).start()
    try:
        alice = AppUser(await chromium.new_participant("Alice"), netns_server.url, "Alice")
        bob = AppUser(await chromium.new_participant("Bob"), proxy.url, "Bob")
        await alice.sign_up()
        number = await alice.start()
        await bob.sign_up(f"/m/{number}")
        await bob.join_now()
        await bob.sees(alice)

        assert proxy.cut(down_for=2.0) >= 1
        banner = bob.page.get_by_role("status").filter(has_text="Reconnecting…")
        await banner.wait_for()
        await banner.wait_for(state="hidden", timeout=20_000)
        # Back without anyone acting: the same tiles, and chat goes through.
        await bob.page.get_by_role("button", name="Chat").click()
        await bob.page.get_by_label("Message").fill("back again")
        await bob.page.get_by_role("button", name="Send").click()
        await alice.page.locator(".badge", has_text="1").wait_for()
        await bob.sees(alice)
        await alice.sees(bob)
        assert await alice.tiles() == ["Alice (you)", "Bob"]
    finally:
        await proxy.stop()


async def test_home_lists_my_meetings_and_history_page_by_page(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    owner = register(netns_server.url, nickname="Owner")
    titles = [f"Meeting {i:02}" for i in range(12)]
    meetings = [create_meeting(owner, title) for title in titles]
    guest = register(netns_server.url, nickname="Guest")
    assert join(guest, meetings[0]["meeting_number"]).status_code == 200

    user = AppUser(await chromium.new_participant("Owner"), netns_server.url, "Owner")
    await user.open()
    await user.page.get_by_label("Email").fill(owner.email)
    await user.page.get_by_label("Password").fill(owner.password)
    await user.page.get_by_role("button", name="Sign in").click()
    pager = user.page.get_by_role("navigation", name="Page")
    await pager.get_by_text("1 / 2").wait_for()
    rows = user.page.locator(".meeting-row .title")
    first_page = await rows.all_inner_texts()
    assert len(first_page) == 10
    await pager.get_by_role("button", name="Next").click()
    await pager.get_by_text("2 / 2").wait_for()
    assert sorted(first_page + await rows.all_inner_texts()) == titles

    # The guest's history holds the one meeting they joined; its link opens it.
    await user.page.get_by_role("button", name="Sign out").click()
    await user.page.get_by_label("Email").fill(guest.email)
    await user.page.get_by_label("Password").fill(guest.password)
    await user.page.get_by_role("button", name="Sign in").click()
    await user.page.get_by_role("tab", name="History").click()
    await user.page.locator(".meeting-row .title", has_text="Meeting 00").wait_for()
    assert await rows.all_inner_texts() == ["Meeting 00"]
    await user.page.get_by_role("link", name="Open").click()
    await user.page.get_by_role("heading", name="Check your camera and microphone").wait_for()
    assert user.page.url.endswith(f"/m/{meetings[0]['meeting_number']}")
