"""An admin enters an app's credentials in a real chromium, under the strict CSP, and a channel
that needs reconnecting shows its call to action. Screenshots land in
test-artifacts/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core
from greenroom.core.tests.test_browser import SCREENSHOTS, chromium  # noqa: F401
from greenroom.networks import network_api

pytestmark = pytest.mark.browser

SECRET = "browser-Client-Secret-5521Xy"


def test_an_admin_saves_an_app_and_sees_the_channel_call_to_action(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
    settings: Any,
) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "linkedin"]
    channel = core.do_create_channel(
        world.acme, brand=world.tea, kind="linkedin", handle="acme-tea", acting_user=None
    )
    network_api.do_store_tokens(
        channel,
        network_api.StoredTokens(
            access_token="li-browser-token-abcdefgh",
            expires_at=timezone.now() + timedelta(days=20),
            scopes=("w_organization_social", "r_organization_social"),
        ),
        acting_user=None,
    )
    network_api.do_flag_reconnect(channel, reason="token revoked")

    base = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("adam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/governance/")
    page.get_by_role("link", name="Network apps").click()
    expect(page.get_by_role("heading", name="Network apps")).to_be_visible()
    section = page.locator("#app-linkedin")
    section.get_by_label("Client ID").fill("li-client-77")
    section.get_by_label("Client secret").fill(SECRET)
    section.get_by_role("button", name="Save LinkedIn app").click()
    page.wait_for_load_state()
    expect(
        page.get_by_text("The LinkedIn app's credentials are saved in the vault.")
    ).to_be_visible()
    assert SECRET not in page.content()
    expect(page.locator("#app-linkedin").get_by_text("…21Xy")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "network_apps.png"), full_page=True)

    page.goto(f"{base}/governance/channels/{channel.pk}/")
    expect(page.get_by_role("heading", name="This channel needs reconnecting")).to_be_visible()
    expect(page.get_by_role("link", name="Reconnect now")).to_be_visible()
    expect(page.locator("#granted-scopes").get_by_text("w_organization_social")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "channel_reconnect.png"), full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p], problems
    context.close()
