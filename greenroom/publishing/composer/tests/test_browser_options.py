"""In a real browser: the composer offers each channel only its network's options, keeps what
was chosen, and says why TikTok takes no first comment. Screenshots in
test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.tests.test_browser import chromium as chromium  # the fixture
from greenroom.core.tests.test_browser import shot, sign_in
from greenroom.publishing.models import Variant

pytestmark = pytest.mark.browser


def test_network_options_are_chosen_per_channel_and_saved(
    chromium: Any, live_server: Any, world: World, settings: Any
) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "x", "instagram", "bluesky", "tiktok", "youtube"]
    made = {
        kind: core_actions.do_create_channel(
            world.acme,
            brand=world.coffee,
            kind=kind,
            handle="@acmevideo",
            name=f"Acme {kind}",
            sandboxed=True,
            acting_user=None,
        )
        for kind in ("youtube", "tiktok")
    }
    yt, tt = made["youtube"], made["tiktok"]
    base = live_server.url
    page = sign_in(chromium, base, "alice")
    page.goto(f"{base}/publishing/compose/?channel={yt.pk}&channel={tt.pk}")
    page.wait_for_function(
        "n => document.querySelectorAll('#composer-panel [data-variant]').length === n"
        " && !document.querySelector('#composer-panel[aria-busy]')",
        arg=2,
    )
    page.locator("#id_text").fill("Pour-over, step by step")
    yt_card = page.locator(f"[data-variant='{yt.pk}']")
    tt_card = page.locator(f"[data-variant='{tt.pk}']")
    expect(yt_card.get_by_label("Who can watch")).to_be_visible()
    expect(tt_card.get_by_label("Who can view")).to_be_visible()
    assert tt_card.locator("[data-first-comment]").count() == 0
    assert "does not let apps post comments" in tt_card.inner_text()

    yt_card.get_by_label("Who can watch").select_option("unlisted")
    yt_card.get_by_label("Made for kids").check()
    tt_card.get_by_label("Who can view").select_option("SELF_ONLY")
    tt_card.get_by_label("Turn off comments").check()
    page.wait_for_function("() => !document.querySelector('#composer-panel[aria-busy]')")
    shot(page, "25-composer-network-options")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()

    assert Variant.objects.get(channel=yt).options == {
        "privacy_status": "unlisted",
        "made_for_kids": True,
    }
    assert Variant.objects.get(channel=tt).options == {
        "privacy_level": "SELF_ONLY",
        "disable_comment": True,
        "disable_duet": False,
        "disable_stitch": False,
    }
