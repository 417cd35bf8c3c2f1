"""The calendar's week view in headless chromium: dragging a post to another hour works at every
hour shown (early morning, the first and last rows, across midnight), dropping it back where it
was changes nothing, and a person without a mouse moves it with the keyboard's "Move" form.

Screenshots land in test-artifacts/screenshots/ (git-ignored), before and after each move.
Skipped when /usr/bin/chromium is missing, unless GREENROOM_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.core.tests.test_browser import chromium as chromium  # the fixture
from greenroom.core.tests.test_browser import shot, sign_in
from greenroom.publishing.models import Post, Variant

from .test_calendar import SEOUL, in_seoul, scheduled

pytestmark = pytest.mark.browser

RESCHEDULE = "/publishing/calendar/reschedule/"


def drag(page: Any, entry: Any, slot: Any, *, at: dict[str, float] | None = None) -> None:
    """Drag an entry onto a slot the way a person does: with both on screen.

    Playwright's drag_to presses the button on the entry where it is and only then scrolls the
    target into view. When the entry is on screen and the target's middle is just below the
    fold, the page scrolls under the pressed button before the first move and chromium never
    starts a drag: no dragstart, no drop, no request. That is what failed the composer test
    whenever its post fell in the hours just above the fold (07:xx and 08:xx in its page).
    A person's browser scrolls the page while they drag towards its edge instead.
    `at` is the point in the slot to drop on (its middle by default).
    """
    # Instantly: Bootstrap asks for smooth scrolling, which would still be moving at the press.
    slot.evaluate("cell => cell.scrollIntoView({block: 'center', behavior: 'instant'})")
    height = page.viewport_size["height"]
    for end in (entry, slot):
        box = end.bounding_box()
        assert box is not None
        assert 0 <= box["y"] + box["height"] / 2 <= height, (box, height)
    entry.drag_to(slot, target_position=at)


def next_wednesday() -> date:
    """A Wednesday in a later week, so the day before and after show in the same week view
    and every time in this file lies ahead whatever the clock says."""
    today = timezone.localtime(timezone.now(), SEOUL).date()
    return today + timedelta(days=7 - today.weekday() + 2)


def reschedule_posts(page: Any) -> list[str]:
    posted: list[str] = []
    page.on(
        "request",
        lambda request: (
            posted.append(request.url)
            if request.method == "POST" and RESCHEDULE in request.url
            else None
        ),
    )
    return posted


def local_times(post: Post) -> set[datetime]:
    return {
        timezone.localtime(at, SEOUL)
        for at in Variant.objects.filter(post=post).values_list("publish_at", flat=True)
        if at is not None
    }


# What the field needs to show its whole value: a copy left at its own width (a date-and-time
# field sizes itself to its date and time in the page's format), in the same font.
NATURAL_WIDTH = """field => {
    const copy = field.cloneNode();
    copy.removeAttribute("id");
    copy.style.cssText = "position:absolute;left:0;top:0;width:auto;min-width:0;flex:none;"
        + "font-size:" + getComputedStyle(field).fontSize;
    document.body.appendChild(copy);
    const width = copy.getBoundingClientRect().width;
    copy.remove();
    return width;
}"""


# (from: day offset, hour, minute) -> (to: day offset, hour); minutes are kept.
MOVES = {
    "early-morning-07-to-08": ((0, 7, 30), (0, 8)),
    "afternoon-14-to-15": ((0, 14, 30), (0, 15)),
    "first-row-00-to-01": ((0, 0, 30), (0, 1)),
    "into-first-row-01-to-00": ((0, 1, 30), (0, 0)),
    "last-row-23-to-22": ((0, 23, 30), (0, 22)),
    "into-last-row-22-to-23": ((0, 22, 30), (0, 23)),
    "past-midnight-23-to-next-00": ((0, 23, 45), (1, 0)),
    "back-over-midnight-00-to-previous-23": ((0, 0, 15), (-1, 23)),
}


@pytest.mark.parametrize("move", MOVES.values(), ids=MOVES.keys())
def test_dragging_a_post_in_the_week_view_moves_it_to_that_hour(
    chromium: Any,
    live_server: Any,
    world: World,
    move: tuple[tuple[int, int, int], tuple[int, int]],
) -> None:
    (from_day, from_hour, minute), (to_day, to_hour) = move
    wednesday = next_wednesday()
    source_day = wednesday + timedelta(days=from_day)
    target_day = wednesday + timedelta(days=to_day)
    in_seoul(world.paul)
    post = scheduled(
        world,
        datetime.combine(source_day, time(from_hour, minute), tzinfo=SEOUL),
        channels=[world.coffee_x, world.coffee_instagram],
    )
    name = next(key for key, value in MOVES.items() if value == move)

    page = sign_in(chromium, live_server.url, "paul")
    if to_day != from_day:
        # Across midnight the drag runs from the bottom row to the top one, further than an
        # 860-pixel window is tall: a person's browser scrolls as they drag to its edge,
        # Playwright's drag does not, so this window holds the whole day.
        page.set_viewport_size({"width": 1366, "height": 1400})
    posted = reschedule_posts(page)
    page.goto(f"{live_server.url}/publishing/calendar/week/?date={wednesday}")
    entry = page.locator(
        f"td[data-date='{source_day}'][data-hour='{from_hour}'] .gr-cal-entry"
    ).filter(has_text="Cold brew is back")
    slot = page.locator(f"td[data-date='{target_day}'][data-hour='{to_hour}']")
    expect(entry).to_have_count(1)
    shot(page, f"calendar-week-drag-{name}-before")

    drag(page, entry, slot)

    expect(slot.locator(".gr-cal-entry").filter(has_text="Cold brew is back")).to_have_count(1)
    expected = datetime.combine(target_day, time(to_hour, minute), tzinfo=SEOUL)
    assert local_times(post) == {expected}
    assert len(posted) == 1
    expect(slot.locator("time")).to_have_text(f"{to_hour:02d}:{minute:02d}")
    shot(page, f"calendar-week-drag-{name}-after")
    page.context.close()


def test_dropping_a_post_back_on_its_own_hour_changes_nothing(
    chromium: Any, live_server: Any, world: World
) -> None:
    """Starting a drag and thinking better of it must not reschedule the post (a failed post
    would quietly become scheduled again) nor write an audit event."""
    wednesday = next_wednesday()
    in_seoul(world.paul)
    at = datetime.combine(wednesday, time(7, 30), tzinfo=SEOUL)
    post = scheduled(world, at)

    page = sign_in(chromium, live_server.url, "paul")
    events = AuditEvent.objects.count()
    posted = reschedule_posts(page)
    page.goto(f"{live_server.url}/publishing/calendar/week/?date={wednesday}")
    home = page.locator(f"td[data-date='{wednesday}'][data-hour='7']")
    entry = home.locator(".gr-cal-entry")
    # Onto the slot's own padding below the entry, far enough from the press to start a drag.
    box = home.bounding_box()
    assert box is not None
    drag(page, entry, home, at={"x": 6, "y": box["height"] - 3})
    # The drag really happened and ended: the drop target's highlight is gone again.
    expect(page.locator(".gr-cal-drop")).to_have_count(0)
    page.wait_for_timeout(300)  # a request, had one been sent, would have left by now
    assert posted == []
    assert local_times(post) == {at}
    assert AuditEvent.objects.count() == events

    # The same drag onto the next hour does move it: the drop above was seen and ignored.
    drag(page, entry, page.locator(f"td[data-date='{wednesday}'][data-hour='8']"))
    page.locator(f"td[data-date='{wednesday}'][data-hour='8'] .gr-cal-entry").wait_for()
    assert local_times(post) == {at + timedelta(hours=1)}
    assert len(posted) == 1
    page.context.close()


def test_a_post_moves_with_the_keyboard_alone(
    chromium: Any, live_server: Any, world: World
) -> None:
    """People who cannot drag use each entry's "Move" button: reached with Tab, opened with
    Enter, a new time typed in, sent with Enter."""
    wednesday = next_wednesday()
    in_seoul(world.paul)
    post = scheduled(world, datetime.combine(wednesday, time(7, 30), tzinfo=SEOUL))

    page = sign_in(chromium, live_server.url, "paul")
    page.goto(f"{live_server.url}/publishing/calendar/week/?date={wednesday}")
    entry = page.locator(f"td[data-date='{wednesday}'][data-hour='7'] .gr-cal-entry")
    # Tab from the entry's link to its "Move" button, as a keyboard user would.
    entry.locator(".gr-cal-link").focus()
    page.keyboard.press("Tab")
    summary = entry.locator("summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_accessible_name("Move “Cold brew is back”")
    page.keyboard.press("Enter")
    field = entry.get_by_label("New time")
    expect(field).to_be_visible()
    # Wide enough for the whole date and time (a week column alone showed "12/02/2026,").
    box = field.bounding_box()
    assert box is not None and box["width"] >= field.evaluate(NATURAL_WIDTH) - 0.5
    shot(page, "calendar-week-move-by-keyboard-open")
    page.keyboard.press("Tab")
    expect(field).to_be_focused()
    field.fill(f"{wednesday}T08:45")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="moved to")).to_contain_text(
        f"{wednesday} 08:45"
    )
    page.locator(f"td[data-date='{wednesday}'][data-hour='8'] .gr-cal-entry").wait_for()
    assert local_times(post) == {datetime.combine(wednesday, time(8, 45), tzinfo=SEOUL)}
    shot(page, "calendar-week-moved-by-keyboard")
    page.context.close()


@pytest.mark.parametrize(
    ("language", "width", "height"),
    [("en", 1280, 860), ("ko", 1280, 860), ("en", 390, 844), ("ko", 390, 844)],
    ids=["en-desktop", "ko-desktop", "en-phone", "ko-phone"],
)
def test_the_move_form_shows_the_whole_date_and_time(
    chromium: Any, live_server: Any, world: World, language: str, width: int, height: int
) -> None:
    """In a week column the "Move" field was as narrow as the column and cut the time off
    ("12/02/2026," and nothing more): it opens wider than the column, on screen, even for the
    last day's last hour, and Escape closes it again."""
    wednesday = next_wednesday()
    sunday = wednesday + timedelta(days=4)
    in_seoul(world.paul)
    world.paul.language = language
    world.paul.save(update_fields=["language"])
    scheduled(world, datetime.combine(wednesday, time(7, 30), tzinfo=SEOUL))
    scheduled(world, datetime.combine(sunday, time(23, 30), tzinfo=SEOUL), text="Late tea")

    page = sign_in(chromium, live_server.url, "paul")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/publishing/calendar/week/?date={wednesday}")
    for day, hour in ((wednesday, 7), (sunday, 23)):
        entry = page.locator(f"td[data-date='{day}'][data-hour='{hour}'] .gr-cal-entry")
        summary = entry.locator("summary")
        summary.click()
        field = entry.locator("input[name=publish_at]")
        expect(field).to_be_visible()
        # Instantly: Bootstrap asks for smooth scrolling.
        entry.locator("form").evaluate(
            "form => form.scrollIntoView({block: 'center', behavior: 'instant'})"
        )
        shot(page, f"calendar-week-move-form-{language}-{width}-{day:%a}-{hour:02d}")

        needed = field.evaluate(NATURAL_WIDTH)
        box = field.bounding_box()
        form = entry.locator("form").bounding_box()
        wrap = page.locator(".gr-cal-wrap").bounding_box()
        assert box is not None and form is not None and wrap is not None
        assert box["width"] >= needed - 0.5, (box["width"], needed)
        # The whole form is on screen, not cut off at the screen's or the calendar's edge (on
        # a phone it is a sheet over the bottom of the screen).
        assert form["x"] >= 0 and form["x"] + form["width"] <= width, (form, width)
        assert form["y"] >= 0 and form["y"] + form["height"] <= height, (form, height)
        if width > 576:
            assert wrap["x"] <= form["x"] <= form["x"] + form["width"] <= wrap["x"] + wrap["width"]
            assert (
                wrap["y"] <= form["y"] <= form["y"] + form["height"] <= wrap["y"] + wrap["height"]
            )
        cancel = "Cancel" if language == "en" else "취소"
        expect(entry.get_by_role("button", name=cancel)).to_be_visible()

        field.focus()
        page.keyboard.press("Escape")
        expect(field).to_be_hidden()
        expect(summary).to_be_focused()
    page.context.close()
