"""The inbox's layout in headless chromium, on a desktop and on a 390 px phone: nothing pushes
the page sideways, nothing covers a name, times are read whole, controls line up, and the bulk
bar says what it will act on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.tests.test_browser import chromium, shot, sign_in  # noqa: F401
from greenroom.inbox import actions, live
from greenroom.inbox.models import Message
from greenroom.inbox.tests.conftest import conversation_of, item, land

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_LINK = (
    "https://admin.example.com/orders/824871/refunds/pending/"
    "a-very-long-path-without-any-spaces-at-all-that-no-phone-can-fit"
)


@pytest.fixture(autouse=True)
def _streams_end_before_teardown() -> Iterator[None]:
    """Pages closed, the live server's event streams notice within a second or two; none may
    still read the database when the test's data is torn down."""
    yield
    for _ in range(100):
        if live.open_streams() == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{live.open_streams()} event streams still open")


def _english_seoul(world: World, *names: str) -> None:
    for name in names:
        person = world.people[name]
        core_actions.do_update_preferences(
            person, language="en", timezone_name="Asia/Seoul", acting_user=person
        )


def _no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def _read_whole(page: Any, selector: str) -> None:
    """Every visible <time> under `selector` sits on one line."""
    lines = page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent)"
        ".map(e => [e.textContent, e.getClientRects().length])"
    )
    assert lines, selector
    assert all(count == 1 for _, count in lines), lines


def test_long_links_and_times_fit_a_phone(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    _english_seoul(world, "alice")
    actions.do_save_routing_rule(
        world.acme, name="Careful", require_approval=True, acting_user=world.alice
    )
    # Tea: Agnes, the agent, works on it and cannot approve her own reply.
    land(world.tea_bluesky, item("l1", f"Where is my refund? {LONG_LINK}", author="emma"))
    conversation = conversation_of(world.tea_bluesky, "l1")
    actions.do_add_note(conversation, f"@adam look: {LONG_LINK}", acting_user=world.alice)
    actions.do_reply(conversation, f"Track it here: {LONG_LINK}", acting_user=world.agnes)
    assert Message.objects.filter(status="awaiting_approval").count() == 1
    base = live_server.url

    page = sign_in(chromium, base, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/inbox/c/{conversation.pk}/")
    expect(page.locator(".gr-message-note")).to_contain_text("@adam look")
    _no_sideways_scroll(page)
    _read_whole(page, ".gr-thread time")
    # A reply too long for the network: the counter says by how much, and the button beside
    # it keeps its label on one line.
    page.locator("#gr-reply").fill("가" * 700)
    expect(page.locator("#gr-counter")).to_contain_text("too many")
    lines = page.locator("#gr-reply-form button[type=submit]").evaluate(
        """b => { const s = getComputedStyle(b);
                  const inner = b.clientHeight - parseFloat(s.paddingTop)
                                - parseFloat(s.paddingBottom);
                  return Math.round(inner / parseFloat(s.lineHeight)); }"""
    )
    assert lines == 1, f"Send reply takes {lines} lines"
    _no_sideways_scroll(page)
    shot(page, "inbox-layout-01-long-link-phone")

    page.goto(f"{base}/inbox/approvals/")
    expect(page.get_by_role("button", name="Approve and send")).to_be_visible()
    _no_sideways_scroll(page)
    _read_whole(page, ".gr-approvals time")
    shot(page, "inbox-layout-02-approvals-phone")

    page.goto(f"{base}/inbox/?queue=all")
    _no_sideways_scroll(page)

    # On a laptop the message gets the room: a link may break anywhere, and the table used to
    # squeeze it to a sliver beside the sender's column (widest with a DM marked high).
    land(
        world.tea_bluesky,
        item("l2", f"Refund? {LONG_LINK}", kind="dm", author="alexandria", name="Alexandria Kim"),
    )
    actions.do_set_priority(
        [conversation_of(world.tea_bluesky, "l2")], "high", acting_user=world.alice
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    row = page.locator(".gr-queue-row", has_text="Alexandria Kim")
    message = row.locator("td:nth-child(3)").bounding_box()  # the message; 2 is the sender
    sender = row.locator("td:nth-child(2)").bounding_box()
    assert message["width"] >= 240, message
    assert message["width"] > sender["width"], (message, sender)
    wrap = page.locator(".gr-table-wrap").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert wrap[0] <= wrap[1], f"the queue table is {wrap[0]} px wide in {wrap[1]} px"
    _read_whole(page, ".gr-queue-table time")
    shot(page, "inbox-layout-02b-queue-laptop")
    page.context.close()


def test_a_snoozed_row_on_a_phone_covers_no_name(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    _english_seoul(world, "alice")
    land(
        world.coffee_x,
        item("z1", "Staff were really rude today", author="lucasbrown19", name="Lucas Brown"),
    )
    conversation = conversation_of(world.coffee_x, "z1")
    actions.do_snooze([conversation], timezone.now() + timedelta(hours=4), acting_user=world.alice)
    base = live_server.url

    page = sign_in(chromium, base, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/inbox/?queue=snoozed")
    row = page.locator(".gr-queue-row").first
    name = row.locator(".gr-person")
    expect(name).to_have_text("Lucas Brown")
    _no_sideways_scroll(page)
    # The whole name shows (no ellipsis)...
    assert name.evaluate("e => e.scrollWidth <= e.clientWidth"), "the name is cut off"
    # ...and the snooze time is in its own place, over neither the name nor the handle.
    note = row.locator(".gr-snoozed-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Snoozed until")
    box = note.bounding_box()
    for other in (name, row.locator(".gr-handle")):
        them = other.bounding_box()
        apart = (
            box["x"] >= them["x"] + them["width"]
            or them["x"] >= box["x"] + box["width"]
            or box["y"] >= them["y"] + them["height"]
            or them["y"] >= box["y"] + box["height"]
        )
        assert apart, (box, them)
    _read_whole(page, ".gr-queue-table time")
    shot(page, "inbox-layout-03-snoozed-phone")
    page.context.close()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_work_on_it_buttons_line_up(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
    viewport: dict[str, int] | None,
) -> None:
    _english_seoul(world, "alice")
    land(world.coffee_x, item("w1", "Hello", author="emma"))
    conversation = conversation_of(world.coffee_x, "w1")
    base = live_server.url

    page = sign_in(chromium, base, "alice")
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(f"{base}/inbox/c/{conversation.pk}/")
    boxes = [
        page.get_by_role("button", name=name, exact=True).bounding_box()
        for name in ("Assign", "Set team", "Set priority", "Add tag")
    ]
    lefts = {round(b["x"]) for b in boxes}
    rights = {round(b["x"] + b["width"]) for b in boxes}
    assert len(lefts) == 1 and len(rights) == 1, boxes
    fields = [
        page.locator(selector).bounding_box()
        for selector in ("#assignee", "#team", "#priority", "#tag")
    ]
    assert len({round(f["x"] + f["width"]) for f in fields}) == 1, fields
    _no_sideways_scroll(page)
    page.context.close()


def test_the_bulk_bar_counts_its_selection_and_waits_for_one(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
) -> None:
    _english_seoul(world, "alice")
    land(
        world.coffee_x,
        item("k1", "First", author="emma"),
        item("k2", "Second", author="jiwoo"),
        item("k3", "Third", author="lee"),
    )
    base = live_server.url

    page = sign_in(chromium, base, "alice")
    page.goto(f"{base}/inbox/?queue=all")
    bar = page.locator(".gr-bulk-bar")
    count = page.locator("#gr-bulk-count")
    close = bar.get_by_role("button", name="Close", exact=True)
    expect(count).to_have_text("None selected")
    expect(close).to_be_disabled()
    expect(bar.get_by_role("button", name="Assign to me")).to_be_disabled()

    page.locator(".gr-queue-row input[name=ids]").first.check()
    expect(count).to_have_text("1 selected")
    expect(close).to_be_enabled()

    select_all = page.get_by_label("Select all")
    select_all.check()
    expect(count).to_have_text("3 selected")
    assert page.locator(".gr-queue-row input[name=ids]:checked").count() == 3
    shot(page, "inbox-layout-04-bulk-bar")
    select_all.uncheck()
    expect(count).to_have_text("None selected")
    expect(close).to_be_disabled()

    # The keyboard's "x" ticks a row and the count follows.
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(count).to_have_text("1 selected")
    close.click()
    page.get_by_text("Done for 1 conversation.").wait_for()
    page.context.close()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_business_hours_show_their_whole_name(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
    viewport: dict[str, int] | None,
) -> None:
    _english_seoul(world, "alice")
    name = "Office hours (Mon–Fri 9–6, Korean holidays off)"
    nine_to_six = [["09:00", "18:00"]]
    hours = actions.do_save_business_hours(
        world.acme,
        name=name,
        weekly=[nine_to_six] * 5 + [[], []],
        holidays=[],
        acting_user=world.alice,
    )
    base = live_server.url

    page = sign_in(chromium, base, "alice")
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(f"{base}/inbox/settings/")
    page.locator("details summary", has_text=name).click()
    field = page.locator(f"#h{hours.pk}-name")
    expect(field).to_have_value(name)
    # The name has the form's whole width (it was half of it)...
    widths = field.evaluate("e => [e.offsetWidth, e.form.offsetWidth]")
    assert widths[0] >= 0.9 * widths[1], widths
    if viewport is None:
        # ...so on a desktop the whole name shows (a phone is narrower than some names).
        assert field.evaluate("e => e.scrollWidth <= e.clientWidth"), "the name is cut off"
    _no_sideways_scroll(page)
    page.context.close()


def test_the_inbox_numbers_fit_a_phone_and_read_in_korean(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
    sandbox: Any,
) -> None:
    core_actions.do_update_preferences(
        world.anna, language="ko", timezone_name="Asia/Seoul", acting_user=world.anna
    )
    sent = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    land(world.coffee_x, item("n1", "주문 확인 부탁드려요", at=sent - timedelta(minutes=50)))
    conversation = conversation_of(world.coffee_x, "n1")
    reply = actions.do_reply(
        conversation, "확인했습니다!", acting_user=world.adam, handle_seconds=75
    )
    actions.do_mark_reply_sent(Message.objects.get(pk=reply.pk), external_id="r1", sent_at=sent)
    base = live_server.url

    page = sign_in(chromium, base, "anna")
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/inbox/numbers/")
    expect(page.locator("h1")).to_have_text("메시지함 지표")
    expect(page.locator("#inbox-totals")).to_contain_text("50분")
    expect(page.locator("#inbox-by-agent")).to_contain_text("1분 15초")
    _no_sideways_scroll(page)
    # The week's grid fits its panel: 24 hours a row, no scrolling to see the evening.
    grid = page.locator(".gr-heat").evaluate(
        "t => [t.getBoundingClientRect().width, t.parentElement.clientWidth]"
    )
    assert grid[0] <= grid[1], f"the grid is {grid[0]} px wide in {grid[1]} px"
    assert page.locator(".gr-heat td.gr-heat-4").count() == 1
    shot(page, "inbox-layout-07-numbers-phone-ko")
    page.context.close()
