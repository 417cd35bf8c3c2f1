"""The inbox in headless chromium: hostile text stays text, and two agents see each other."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.tests.test_browser import chromium, shot, sign_in  # noqa: F401
from greenroom.inbox import live
from greenroom.inbox.models import Conversation, DeliveryStatus, Message
from greenroom.inbox.tests.conftest import conversation_of, item, land
from greenroom.networks import text

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
KOREAN = "주문한 커피가 아직 안 왔어요 😭☕ 확인 부탁드려요 🙏🏻"


def _english_seoul(world: World, *names: str) -> None:
    for name in names:
        person = world.people[name]
        core_actions.do_update_preferences(
            person, language="en", timezone_name="Asia/Seoul", acting_user=person
        )


def test_hostile_and_korean_messages_show_as_text(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    _english_seoul(world, "alice")
    land(world.coffee_x, item("b1", HOSTILE, author="mallory"))
    land(world.coffee_x, item("b2", KOREAN, author="minji_kim7", name="김민지"))
    hostile = conversation_of(world.coffee_x, "b1")
    korean = conversation_of(world.coffee_x, "b2")
    base = live_server.url

    page = sign_in(chromium, base, "alice")
    dialogs: list[str] = []

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(f"{base}/inbox/")
    expect(page.get_by_text(HOSTILE[:60]).first).to_be_visible()
    expect(page.get_by_text(KOREAN).first).to_be_visible()
    assert page.locator("img[src='x']").count() == 0
    shot(page, "inbox-01-queue")

    page.goto(f"{base}/inbox/c/{hostile.pk}/")
    message = page.locator(".gr-message-text").first
    assert message.inner_text() == HOSTILE
    assert page.locator(".gr-thread script, .gr-thread img").count() == 0
    shot(page, "inbox-02-hostile-conversation")

    page.goto(f"{base}/inbox/c/{korean.pk}/")
    assert page.locator(".gr-message-text").first.inner_text() == KOREAN
    expect(page.get_by_text("김민지").first).to_be_visible()
    shot(page, "inbox-03-korean-conversation")
    page.wait_for_timeout(500)
    assert dialogs == []
    page.context.close()


# Well under the pages' fallbacks (presence heartbeat 30 s in the test below, polling every
# 60 s): only the event stream can bring a change this fast.
LIVE_MS = 4_000


def _until_streams_end() -> None:
    """Pages closed: the live server's streams notice at their next write (within a second or
    two). None may still be reading the database when the test's data is torn down."""
    for _ in range(100):
        if live.open_streams() == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{live.open_streams()} event streams still open")


def test_two_agents_work_the_queue_and_see_each_other(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
    sandbox: Any,
    settings: Any,
) -> None:
    # Each page posts its presence only every 30 s (and on its own changes): what the other
    # agent does reaches it over the event stream or not at all within LIVE_MS.
    settings.GREENROOM_INBOX_PRESENCE_HEARTBEAT_S = 30
    _english_seoul(world, "alice", "adam")
    sandbox.connect(world.coffee_x)
    # Written on the (sandbox) network, so Adam's reply has a comment to answer there.
    sandbox.write(world.coffee_x, "Is the oat latte back in stock?", author="emma")
    sandbox.deliver()
    conversation = Conversation.objects.get(channel=world.coffee_x)
    base = live_server.url

    alice = sign_in(chromium, base, "alice")
    adam = sign_in(chromium, base, "adam")
    for page in (alice, adam):
        page.goto(f"{base}/inbox/")
        page.get_by_role("link", name="Is the oat latte back in stock?").click()
        page.wait_for_url(f"{base}/inbox/c/{conversation.pk}/")

    # Each sees the other looking at it: Adam when his page first asks (Alice was there
    # already), Alice as soon as Adam arrives.
    alice.get_by_text("Adam is viewing").wait_for(timeout=LIVE_MS)
    adam.get_by_text("Alice is viewing").wait_for(timeout=10_000)

    # Adam raises the priority: Alice's page says the conversation changed (its header is as
    # it was drawn; reloading by itself could lose a reply being written).
    notice = alice.locator("#gr-live-notice")
    assert notice.is_hidden()  # nobody changed it yet
    adam.get_by_label("Priority").select_option("high")
    adam.get_by_role("button", name="Set priority").click()
    adam.wait_for_load_state()
    notice.get_by_text("This conversation has changed since you opened it.").wait_for(
        timeout=LIVE_MS
    )

    # Adam starts typing: Alice sees that he is replying, and the counter counts.
    adam.keyboard.press("r")
    answer = "Yes! Back since Monday ☕"
    adam.keyboard.type(answer)
    counted = text.count(answer, "x")  # X counts the emoji twice
    adam.get_by_text(f"{counted.length} of {counted.limit}").wait_for(timeout=5_000)
    alice.get_by_text("Adam is replying").wait_for(timeout=LIVE_MS)
    shot(alice, "inbox-04-alice-sees-adam-replying")
    shot(adam, "inbox-05-adam-replying")

    adam.get_by_role("button", name="Send reply").click()
    adam.get_by_text("Reply sent to the network.").wait_for()
    # Alice's page shows the reply without a reload.
    alice.locator(".gr-message-out").get_by_text("Yes! Back since Monday ☕").wait_for(
        timeout=LIVE_MS
    )
    shot(alice, "inbox-06-alice-sees-the-reply")
    sent = Message.objects.get(direction="out")
    assert sent.status == DeliveryStatus.SENT, (sent.status, sent.error)

    # Back in the queue, a new conversation shows up by itself.
    alice.goto(f"{base}/inbox/")
    alice.locator("#gr-queue").get_by_text("Do you ship to Busan?").wait_for(state="detached")
    land(world.coffee_x, item("t2", "Do you ship to Busan?", author="jiwoo"))
    alice.locator("#gr-queue").get_by_text("Do you ship to Busan?").wait_for(timeout=LIVE_MS)
    for page in (alice, adam):
        page.context.close()
    _until_streams_end()


def test_a_redrawn_queue_keeps_the_selection_and_the_keyboards_place(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    _english_seoul(world, "alice")
    land(
        world.coffee_x,
        item("s1", "First question", author="a1"),
        item("s2", "Second question", author="a2"),
        item("s3", "Third question", author="a3"),
    )
    base = live_server.url
    page = sign_in(chromium, base, "alice")
    page.goto(f"{base}/inbox/?queue=all")
    queue = page.locator("#gr-queue")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the second row
    held = page.locator("tr.table-active").get_attribute("data-href")
    page.keyboard.press("x")  # selected from the keyboard
    assert queue.locator("input[type=checkbox]:checked").count() == 1

    # A new conversation arrives: the stream asks for a redraw, which waits while a row is
    # selected (a redraw would drop it).
    land(world.coffee_x, item("s4", "Fourth question", author="a4"))
    page.wait_for_timeout(LIVE_MS)
    assert queue.locator("input[type=checkbox]:checked").count() == 1
    assert queue.get_by_text("Fourth question").count() == 0

    # Unselecting lets the owed redraw happen; the keyboard stays on the same conversation.
    page.keyboard.press("x")
    queue.get_by_text("Fourth question").wait_for(timeout=LIVE_MS)
    assert page.locator("tr.table-active").get_attribute("data-href") == held

    # "/" goes to the search box; what is typed there is a search, not shortcuts.
    page.keyboard.press("/")
    expect(page.locator("#f-q")).to_be_focused()
    page.keyboard.type("Third")
    page.keyboard.press("Enter")
    expect(queue.get_by_text("Third question")).to_be_visible()
    expect(queue.get_by_text("First question")).to_have_count(0)
    page.context.close()
    _until_streams_end()
