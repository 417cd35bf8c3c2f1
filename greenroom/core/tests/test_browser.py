"""Two people sign in to a real Greenroom in headless chromium and see what their roles allow.

Screenshots land in test-artifacts/screenshots/ (git-ignored) for a person to look at.
Skipped when /usr/bin/chromium is missing, unless GREENROOM_REQUIRE_BROWSER=1 (CI), then it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from greenroom.conftest import PASSWORD, World
from greenroom.core import actions
from greenroom.core.models import ChannelStatus

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk"
        if os.environ.get("GREENROOM_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (GREENROOM_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; Django would then refuse the
    # ORM calls the test makes. They are ordinary synchronous calls, so allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def furnish(world: World) -> None:
    """Give the personas' organisation something to look at: owners, gaps, a token, messages."""
    from greenroom.inbox.tests.conftest import item, land

    alice, adam, bianca, agnes = world.alice, world.adam, world.bianca, world.agnes
    actions.do_update_channel(world.coffee_x, owner=bianca, backup=adam, acting_user=alice)
    # Owned but nobody covers it: the home page and inventory must flag it.
    actions.do_update_channel(world.coffee_instagram, owner=bianca, acting_user=alice)
    actions.do_update_channel(
        world.tea_bluesky,
        owner=agnes,
        backup=adam,
        status=ChannelStatus.NEEDS_RECONNECT,
        acting_user=alice,
    )
    actions.do_set_channel_credentials(
        world.coffee_instagram,
        token="IGQVJ-browser-test-token-0123456789",
        expires_at=timezone.now() + timedelta(days=5),
        acting_user=alice,
    )
    actions.do_create_team(
        world.acme, name="Community care", lead=adam, members=[agnes, adam], acting_user=alice
    )
    actions.do_grant_channel_permission(world.coffee_x, world.carl, "publish", acting_user=alice)
    land(
        world.tea_bluesky,
        *(item(f"browser-{n}", "차 맛이 좋아요", author=f"fan{n}") for n in range(3)),
    )
    for person in (alice, agnes):
        actions.do_update_preferences(
            person, language="en", timezone_name="Asia/Seoul", acting_user=person
        )


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, base_url: str, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    return page


def header_is_one_line(page: Any) -> bool:
    """The brand, the sections, the language switch and the user menu share one line."""
    selectors = (".gr-brand", "#gr-nav .gr-sections", ".gr-tools .gr-lang", ".gr-user-menu")
    boxes = [page.locator(selector).first.bounding_box() for selector in selectors]
    assert all(boxes), boxes
    middles: list[float] = [box["y"] + box["height"] / 2 for box in boxes]
    return max(middles) - min(middles) < 8


def nav_labels(page: Any) -> list[str]:
    labels = page.locator("#gr-nav .gr-sections .nav-link").all_inner_texts()
    return [label.strip() for label in labels]


def test_owner_and_agent_see_what_their_roles_allow(
    chromium: Any, live_server: Any, world: World
) -> None:
    furnish(world)
    base = live_server.url

    # The sign-in page, before anyone signs in.
    context = chromium.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.goto(f"{base}/login/")
    shot(page, "01-login")
    # The username field has focus already, so typing goes straight in.
    assert page.get_by_label("Username").evaluate("e => e === document.activeElement")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    shot(page, "01b-login-wrong-password")
    context.close()

    # Alice owns the organisation: every section, and the gaps in channel coverage.
    page = sign_in(chromium, base, "alice")
    assert nav_labels(page) == ["Publishing", "Inbox", "Crisis", "Governance", "Team", "Analytics"]
    attention = page.get_by_role("heading", name="Channels without an owner or backup")
    expect(attention).to_be_visible()
    expect(page.get_by_text("acme.coffee", exact=False).first).to_be_visible()
    assert "IGQVJ-browser-test-token" not in page.content()
    expect(page.get_by_text("Tokens expiring soon")).to_be_visible()
    shot(page, "02-owner-home")
    # Keyboard users get a skip link first, and it moves focus to the page's content.
    page.reload()
    page.keyboard.press("Tab")
    skip = page.locator(".gr-skip-link")
    assert skip.evaluate("element => element === document.activeElement")
    expect(skip).to_be_visible()
    shot(page, "02b-owner-home-skip-link")
    page.keyboard.press("Enter")
    assert page.locator("#main").evaluate("element => element === document.activeElement")

    page.get_by_role("link", name="Governance").click()
    expect(page.get_by_role("heading", name="Channel inventory")).to_be_visible()
    assert page.locator("tr.gr-row-warn").count() == 1  # acme.coffee has no backup
    assert page.locator("nav .nav-link[aria-current='page']").inner_text().strip() == "Governance"
    shot(page, "03-owner-governance")

    page.get_by_role("link", name="acme.coffee", exact=True).click()
    page.wait_for_url(f"{base}/governance/channels/{world.coffee_instagram.pk}/")
    page.locator("#id_backup").select_option(label="Adam (adam)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("saved", exact=False).first).to_be_visible()
    shot(page, "04-owner-channel-detail")

    response = page.goto(f"{base}/audit/")
    assert response is not None and response.status == 200
    expect(page.get_by_text("Chain intact")).to_be_visible()
    shot(page, "05-owner-audit")

    page.goto(f"{base}/team/")
    shot(page, "06-owner-team")

    # The user menu is Bootstrap's dropdown: the vendored JavaScript must be working.
    page.get_by_role("button", name="Alice").click()
    expect(page.get_by_role("link", name="Preferences")).to_be_visible()
    assert page.get_by_role("link", name="API tokens").get_attribute("href") == "/settings/tokens/"
    shot(page, "06b-owner-user-menu")
    page.get_by_role("link", name="Preferences").click()
    assert page.get_by_label("Time zone").input_value() == "Asia/Seoul"
    shot(page, "06c-owner-preferences")

    # Switching to Korean saves the choice and renders Korean with a CJK font.
    page.goto(f"{base}/")
    page.get_by_role("button", name="한국어").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ko"
    assert nav_labels(page)[0] == "게시"
    expect(page.get_by_role("heading", name="담당자나 백업이 없는 채널")).to_be_visible()
    shot(page, "07-owner-home-ko")
    page.goto(f"{base}/governance/")
    shot(page, "08-owner-governance-ko")
    page.goto(f"{base}/audit/")
    expect(page.get_by_text("체인 정상")).to_be_visible()
    shot(page, "08b-owner-audit-ko")

    # Long names end in an ellipsis (the full name in a tooltip): the header stays on one line
    # at laptop widths, in Korean and in English.
    type(world.acme).objects.filter(pk=world.acme.pk).update(name="Acme Coffee and Tea Holdings")
    type(world.alice).objects.filter(pk=world.alice.pk).update(
        display_name="Alice Montgomery-Whitfield"
    )
    for language in ("ko", "en"):
        for width in (1280, 1024):
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(f"{base}/networks/rules/?network=x")
            assert header_is_one_line(page), (language, width)
            org = page.locator(".gr-tools .gr-org")
            assert org.get_attribute("title") == "Acme Coffee and Tea Holdings"
            # The rule table shows one network at a time, not every network on one page.
            assert page.locator("h2#network-heading").inner_text() == "X"
            assert page.evaluate("document.documentElement.scrollHeight") < 6000
            shot(page, f"08c-owner-rules-{language}-{width}")
        if language == "ko":
            page.get_by_role("button", name="English").click()
            page.wait_for_load_state()
    page.goto(f"{base}/networks/rules/?view=changes&from=1&to=2")
    expect(page.locator("#changes-instagram ins", has_text="100").first).to_be_visible()
    shot(page, "08d-owner-rules-changes")
    page.context.close()

    # Agnes answers messages on the Tea channels: inbox yes, governance and audit no.
    page = sign_in(chromium, base, "agnes")
    labels = nav_labels(page)
    assert labels == ["Inbox", "Crisis"]
    assert "Governance" not in labels
    waiting = page.get_by_role("heading", name="Messages waiting for an answer")
    expect(waiting).to_be_visible()
    assert "3" in waiting.inner_text()
    expect(page.get_by_text("acmetea.bsky.social").first).to_be_visible()
    assert page.get_by_text("@acmecoffee").count() == 0  # not her brand
    shot(page, "09-agent-home")

    response = page.goto(f"{base}/audit/")
    assert response is not None and response.status == 404
    shot(page, "10-agent-audit-404")
    response = page.goto(f"{base}/governance/")
    assert response is not None and response.status == 404

    page.goto(f"{base}/inbox/")
    shot(page, "11-agent-inbox")

    # On a phone the sections fold into a menu button.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/")
    inbox_tab = page.locator("#gr-nav").get_by_role("link", name="Inbox", exact=True)
    expect(inbox_tab).not_to_be_visible()
    page.locator(".navbar-toggler").click()
    inbox_tab.wait_for(state="visible")
    page.locator("#gr-nav.show").wait_for()  # the fold-out animation has finished
    shot(page, "12-agent-home-phone")
    page.context.close()
