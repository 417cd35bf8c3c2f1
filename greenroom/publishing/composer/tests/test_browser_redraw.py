"""In a real browser: a panel redraw that is slow to come back never undoes what the person typed
while it was on its way, and an older redraw never replaces a newer one.

The tests hold the redraw requests (a Playwright route) until they have typed, then let the
server answer them: the answer is made from the form as it was sent, as on a slow connection.
Screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core.tests.test_browser import chromium as chromium  # the fixture
from greenroom.core.tests.test_browser import shot, sign_in
from greenroom.networks.text import count
from greenroom.publishing.models import Variant

pytestmark = pytest.mark.browser

PANEL = "**/publishing/compose/panel/"
SETTLED = "() => !document.querySelector('#composer-panel[aria-busy]')"


class HeldRedraws:
    """Holds every panel redraw the page sends until the test lets it through."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.routes: list[Any] = []
        self.answered: set[int] = set()
        page.route(PANEL, self.hold)

    def hold(self, route: Any) -> None:
        self.routes.append(route)

    def wait_for(self, n: int) -> None:
        for _ in range(200):
            if len(self.routes) >= n:
                return
            self.page.wait_for_timeout(25)
        raise AssertionError(f"{n} redraw(s) expected, {len(self.routes)} sent")

    def answer(self, index: int) -> None:
        """The server answers the held request with the form as it was when it was sent."""
        route = self.routes[index]
        self.answered.add(index)
        route.fulfill(response=route.fetch())

    def stop(self) -> None:
        """Stop holding; redraws still held go on to the server (none is left hanging)."""
        self.page.unroute(PANEL)
        for index, route in enumerate(self.routes):
            if index not in self.answered:
                self.answered.add(index)
                route.continue_()


# The panel requests each page has on their way (see `finish`).
_on_their_way: dict[int, set[Any]] = {}


def track_redraws(page: Any) -> None:
    pending = _on_their_way.setdefault(id(page), set())
    page.on("request", lambda r: pending.add(r) if "/compose/panel/" in r.url else None)
    page.on("requestfinished", lambda r: pending.discard(r))
    page.on("requestfailed", lambda r: pending.discard(r))


def finish(page: Any) -> None:
    """Close the page only once no redraw is on its way: a request the live server is still
    answering when the test's database is torn down breaks the teardown (and the next test).
    An older redraw is ignored when it lands, not aborted, so the panel may look settled while
    one is still at the server."""
    page.wait_for_function(SETTLED)
    pending = _on_their_way.pop(id(page), set())
    for _ in range(400):
        if not pending:
            break
        page.wait_for_timeout(25)
    assert not pending, [r.url for r in pending]
    page.context.close()


def open_composer(chromium: Any, live_server: Any, channel_ids: list[int]) -> Any:
    page = sign_in(chromium, live_server.url, "alice")
    track_redraws(page)
    query = "&".join(f"channel={pk}" for pk in channel_ids)
    page.goto(f"{live_server.url}/publishing/compose/?{query}")
    page.wait_for_function(
        "n => document.querySelectorAll('#composer-panel [data-variant]').length === n",
        arg=len(channel_ids),
    )
    page.wait_for_function(SETTLED)
    return page


def test_text_typed_while_a_slow_redraw_is_on_its_way_survives_it(
    chromium: Any, live_server: Any, world: World, settings: Any
) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "x", "instagram", "bluesky"]
    x, tea = world.coffee_x, world.tea_bluesky
    page = open_composer(chromium, live_server, [x.pk])
    master = "Cold brew is back."
    page.locator("#id_text").fill(master)
    x_card = page.locator(f"[data-variant='{x.pk}']")
    x_card.locator("[data-counter-length]").filter(has_text=f"{len(master)} of 280").wait_for()

    held = HeldRedraws(page)
    page.locator(f"#ch-{tea.pk}").check()  # a second channel: the panel is drawn again
    held.wait_for(1)
    # While the server works on it, the person writes a first comment and their own X text.
    typed = " On X only: two for one until noon."
    x_card.locator("[data-first-comment]").press_sequentially("First!")
    text = page.locator(f"#v{x.pk}-text")
    text.click()
    page.keyboard.press("End")
    text.press_sequentially(typed)
    held.answer(0)
    held.stop()

    page.wait_for_function(
        "n => document.querySelectorAll('#composer-panel [data-variant]').length === n", arg=2
    )
    page.wait_for_function(SETTLED)
    mine = master + typed
    # What was typed is still there, in the field the person is still in, caret at the end.
    assert text.input_value() == mine
    assert x_card.locator("[data-first-comment]").input_value() == "First!"
    assert page.evaluate("document.activeElement.id") == f"v{x.pk}-text"
    caret = page.evaluate(
        "[document.activeElement.selectionStart, document.activeElement.value.length]"
    )
    assert caret == [len(mine), len(mine)]
    page.keyboard.type("!")
    assert text.input_value() == mine + "!"
    mine += "!"
    # The new panel came with the new channel, and follows what was typed.
    tea_card = page.locator(f"[data-variant='{tea.pk}']")
    assert tea_card.locator("[data-variant-text]").input_value() == master
    assert x_card.locator("[data-overridden]").input_value() == "1"
    expect(x_card.locator("[data-override-note]")).to_be_visible()
    expect(x_card.locator("[data-inherit-note]")).not_to_be_visible()
    length = count(mine, "x").length
    x_card.locator("[data-counter-length]").filter(has_text=f"{length} of 280").wait_for()
    x_card.locator("[data-preview-text]").first.filter(has_text=typed.strip()).wait_for()
    x_card.locator("[data-preview-comment]").filter(has_text="First!").wait_for()
    shot(page, "25b-composer-typing-kept-through-a-redraw")

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    saved = Variant.objects.get(channel=x)
    assert (saved.text, saved.text_overridden, saved.first_comment) == (mine, True, "First!")
    assert Variant.objects.get(channel=tea).post_id == saved.post_id
    finish(page)


def test_an_older_redraw_answered_last_does_not_replace_the_newer_one(
    chromium: Any, live_server: Any, world: World, settings: Any
) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "x", "instagram", "bluesky"]
    x, tea = world.coffee_x, world.tea_bluesky
    page = open_composer(chromium, live_server, [x.pk])
    page.locator("#id_text").fill("Old words.")

    held = HeldRedraws(page)
    page.locator(f"#ch-{tea.pk}").check()
    held.wait_for(1)
    page.locator(f"#ch-{world.coffee_instagram.pk}").check()
    held.wait_for(2)
    # The post's text changes while both are on their way.
    page.locator("#id_text").fill("New words.")
    held.answer(1)  # the newer one first
    page.wait_for_function(SETTLED)
    held.answer(0)  # the older one arrives late: it must not be drawn
    held.stop()
    page.wait_for_timeout(300)

    variants = page.locator("#composer-panel [data-variant]")
    assert variants.count() == 3
    for channel in (x, tea):
        card = page.locator(f"[data-variant='{channel.pk}']")
        # Channels that use the post's text show it as it is now, not as it was sent.
        assert card.locator("[data-variant-text]").input_value() == "New words."
        card.locator("[data-preview-text]").first.filter(has_text="New words.").wait_for()
    finish(page)


@pytest.mark.parametrize("move_before", [True, False], ids=["moveBefore", "no-moveBefore"])
def test_a_redraw_waits_for_a_korean_syllable_being_composed(
    chromium: Any, live_server: Any, world: World, settings: Any, move_before: bool
) -> None:
    """An input method composing 한 must not lose it to a redraw that lands mid-syllable, also
    in a browser without Element.moveBefore (the field is then detached and put back)."""
    settings.GREENROOM_NETWORKS = ["sandbox", "x", "instagram", "bluesky"]
    x, tea = world.coffee_x, world.tea_bluesky
    page = sign_in(chromium, live_server.url, "alice")
    if not move_before:
        page.add_init_script("delete Element.prototype.moveBefore")
    page.goto(f"{live_server.url}/publishing/compose/?channel={x.pk}")
    page.wait_for_function(
        "() => document.querySelectorAll('#composer-panel [data-variant]').length === 1"
    )
    page.wait_for_function(SETTLED)
    assert page.evaluate("typeof Element.prototype.moveBefore === 'function'") is move_before
    page.locator("#id_text").fill("콜드브루")
    held = HeldRedraws(page)
    page.locator(f"#ch-{tea.pk}").check()
    held.wait_for(1)
    text = page.locator(f"#v{x.pk}-text")
    text.click()
    page.keyboard.press("End")
    ime = page.context.new_cdp_session(page)
    ime.send("Input.imeSetComposition", {"text": "ㅎ", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "하", "selectionStart": 1, "selectionEnd": 1})
    held.answer(0)
    held.stop()
    page.wait_for_timeout(300)
    # Answered, but not drawn while the syllable is open.
    assert page.locator("#composer-panel [data-variant]").count() == 1
    ime.send("Input.imeSetComposition", {"text": "한", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.insertText", {"text": "한"})
    page.wait_for_function(
        "n => document.querySelectorAll('#composer-panel [data-variant]').length === n", arg=2
    )
    page.wait_for_function(SETTLED)
    assert text.input_value() == "콜드브루한"
    assert page.evaluate("document.activeElement.id") == f"v{x.pk}-text"
    x_card = page.locator(f"[data-variant='{x.pk}']")
    assert x_card.locator("[data-overridden]").input_value() == "1"
    finish(page)
