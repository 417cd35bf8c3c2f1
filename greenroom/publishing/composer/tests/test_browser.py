"""A publisher composes one post for three networks with an image, an approver approves it in
their own session, the publisher moves it on the calendar and publishes it, the engine runs,
and the sandbox network holds exactly one post per channel.

The live server serves the sandbox too (/sandbox/): the connector speaks real HTTP to it.
Screenshots land in test-artifacts/screenshots/ (git-ignored), in English and Korean.
Skipped when /usr/bin/chromium is missing, unless GREENROOM_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pyvips
from django.utils import timezone
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import Channel
from greenroom.core.tests.test_browser import chromium as chromium  # the fixture
from greenroom.core.tests.test_browser import shot, sign_in
from greenroom.media import actions as media_actions
from greenroom.media.models import MediaAsset
from greenroom.networks.base import MediaItem
from greenroom.networks.sandbox.models import SandboxPost
from greenroom.networks.sandbox.testing import Sandbox
from greenroom.publishing import actions, content, engine
from greenroom.publishing.actions import StepInput
from greenroom.publishing.models import Post, PostState, Variant, VariantState

from .test_calendar_browser import drag

pytestmark = pytest.mark.browser

TEXT = "Winter cold brew is here. 겨울 콜드브루 출시! #coffee"


@pytest.fixture
def live_sandbox(live_server: Any, settings: Any) -> Sandbox:
    """The sandbox network served by the live server, spoken to over real sockets."""
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.BASE_URL = live_server.url
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_ERROR_RATE = 0.0
    settings.SANDBOX_TIMEOUT_RATE = 0.0
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 0
    return Sandbox()


@pytest.fixture
def media_files(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    # The engine asks the media app for each variant's files. Until the media app registers its
    # own resolver (greenroom.publishing.content.register_media_resolver), this test lends one.
    lent = content._media_resolver is None
    if lent:
        content.register_media_resolver(_renditions_of)
    yield
    if lent:
        content.register_media_resolver(None)


def _renditions_of(variant: Variant) -> list[MediaItem]:
    items = []
    assets = {a.pk: a for a in MediaAsset.objects.filter(pk__in=variant.media)}
    for index, pk in enumerate(variant.media):
        rendition = media_actions.rendition_for(assets[pk], variant.channel.kind, variant.placement)
        alt = variant.alt_texts[index] if index < len(variant.alt_texts) else ""
        items.append(
            MediaItem(path=str(rendition.file.name), mime_type=rendition.mime_type, alt_text=alt)
        )
    return items


def photo(path: Path) -> Path:
    """A smooth, photo-like 1600x1200 JPEG."""
    base = pyvips.Image.perlin(1600, 1200, cell_size=128, uchar=True)
    image = base.bandjoin([base.invert(), base]).copy(interpretation="srgb")
    image.write_to_file(str(path), Q=90)
    return path


def furnish(world: World, sandbox: Sandbox, tmp_path: Path) -> tuple[list[Channel], MediaAsset]:
    """Three Coffee channels on three networks, connected to the sandbox; Coffee posts need
    April's approval; one picture in the library."""
    coffee_bluesky = core_actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="bluesky",
        handle="acmecoffee.bsky.social",
        name="Acme Coffee",
        sandboxed=True,
        timezone_name="Asia/Seoul",
        acting_user=None,
    )
    channels = [world.coffee_x, world.coffee_instagram, coffee_bluesky]
    for channel in channels:
        sandbox.connect(channel)
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee brand review",
        brand=world.coffee,
        steps=[StepInput(name="Brand review", approvers=[world.april])],
        acting_user=world.alice,
    )
    actions.do_create_campaign(
        world.acme, name="Winter launch", colour="#1d6fa5", acting_user=world.alice
    )
    for person in (world.paul, world.april):
        core_actions.do_update_preferences(
            person, language="en", timezone_name="Asia/Seoul", acting_user=person
        )
    asset = media_actions.do_upload_asset(
        world.acme,
        file=photo(tmp_path / "cold-brew.jpg"),
        filename="cold-brew.jpg",
        acting_user=world.paul,
    ).asset
    return channels, asset


def panel_variants(page: Any, n: int) -> None:
    # Functions with arguments, not expressions: the strict CSP refuses Playwright's eval.
    page.wait_for_function(
        "n => document.querySelectorAll('#composer-panel [data-variant]').length === n"
        " && !document.querySelector('#composer-panel[aria-busy]')",
        arg=n,
    )


def test_compose_approve_schedule_and_publish_on_three_networks(
    chromium: Any,
    live_server: Any,
    live_sandbox: Sandbox,
    media_files: None,
    world: World,
    tmp_path: Path,
) -> None:
    channels, asset = furnish(world, live_sandbox, tmp_path)
    base = live_server.url

    # --- Paul composes ----------------------------------------------------------------------
    page = sign_in(chromium, base, "paul")
    page.goto(f"{base}/publishing/compose/")
    page.get_by_role("button", name="Acme Coffee", exact=True).click()
    panel_variants(page, 3)
    page.locator("#id_text").fill(TEXT)
    page.locator("#id_link").fill("https://example.com/winter")
    page.locator("#id_link").dispatch_event("change")
    page.locator("#id_campaign").select_option(label="Winter launch")
    panel_variants(page, 3)
    page.locator(f"label[for=m-{asset.pk}]").click()
    page.locator(f"#alt-{asset.pk}").wait_for()
    panel_variants(page, 3)
    page.locator(f"#alt-{asset.pk}").fill("A glass of cold brew on ice")

    x = world.coffee_x
    x_card = page.locator(f"[data-variant='{x.pk}']")
    # X counts each Hangul syllable as 2 and the link as 23: the server's count, shown live.
    x_card.locator("[data-counter-length]").filter(has_text="of 280").wait_for()
    page.wait_for_function(
        "pk => document.querySelector(`[data-variant='${pk}'] [data-preview-text]`)"
        ".textContent.includes('utm_source=x')",
        arg=x.pk,
    )
    counter = x_card.locator("[data-counter-length]").inner_text()
    expected = content_length_on_x()
    assert counter == f"{expected} of 280", counter
    # The preview shows the rendition made for each placement.
    ig = page.locator(f"[data-variant='{world.coffee_instagram.pk}'] .gr-pv-item img")
    assert "/renditions/" in (ig.get_attribute("src") or "")
    expect(page.get_by_role("button", name="Submit for approval")).to_be_visible()
    shot(page, "20-composer-three-networks")

    # Editing one channel's text makes it that channel's own; the counter follows at once.
    sky = channels[2]
    sky_text = page.locator(f"#v{sky.pk}-text")
    sky_text.fill("겨울 콜드브루 출시! Bluesky only.")
    page.locator(f"[data-variant='{sky.pk}'] [data-override-note]").wait_for()
    page.wait_for_function(
        "pk => document.querySelector(`[data-variant='${pk}'] [data-preview-text]`)"
        ".textContent.startsWith('겨울 콜드브루 출시! Bluesky only.')",
        arg=sky.pk,
    )
    own = page.locator(f"[data-variant='{sky.pk}'] [data-counter-length]").inner_text()
    assert own == f"{bluesky_length('겨울 콜드브루 출시! Bluesky only.')} of 300", own
    shot(page, "21-composer-variant-edited")

    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(f"{base}/publishing/posts/*/")
    post = Post.objects.get()
    assert post.state == PostState.IN_APPROVAL
    assert Variant.objects.get(post=post, channel=sky).text_overridden
    shot(page, "22-post-in-approval")

    # --- April approves, in her own session -------------------------------------------------
    april = sign_in(chromium, base, "april")
    april.goto(f"{base}/publishing/posts/{post.pk}/")
    april.get_by_role("button", name="Approve").click()
    april.wait_for_load_state()
    post.refresh_from_db()
    assert post.state == PostState.APPROVED
    shot(april, "23-approver-approved")
    april.context.close()

    # --- Paul schedules it, sees it on the calendar and moves it a day later ------------------
    page.goto(f"{base}/publishing/posts/{post.pk}/")
    # Tomorrow at 14:xx, not "in two hours", so the hour does not follow the clock. The drag
    # below once failed at 07:xx and 08:xx: Playwright scrolled the next hour into view after
    # pressing the button, so no drag started (`drag` in test_calendar_browser.py explains; the
    # calendar itself drags at every hour, tested there).
    soon = timezone.localtime(timezone.now() + timedelta(days=1), world_zone()).replace(hour=14)
    page.get_by_label("Publish at").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule", exact=True).click()
    page.wait_for_load_state()
    post.refresh_from_db()
    assert post.state == PostState.SCHEDULED

    page.goto(f"{base}/publishing/calendar/")
    day = soon.date().isoformat()
    page.locator(f"td[data-date='{day}'] .gr-cal-entry").first.wait_for()
    shot(page, "24-calendar-month")

    # Dragging in the week view moves it to another hour, keeping the minutes.
    later = soon + timedelta(hours=1)
    target = later if later.date() == soon.date() else soon - timedelta(hours=1)
    page.goto(f"{base}/publishing/calendar/week/?date={day}")
    entry = page.locator(f"td[data-date='{day}'][data-hour='{soon.hour}'] .gr-cal-entry")
    slot = page.locator(f"td[data-date='{day}'][data-hour='{target.hour}']")
    drag(page, entry, slot)
    slot.locator(".gr-cal-entry").wait_for()
    moved = {
        timezone.localtime(t, world_zone()).strftime("%H:%M")
        for t in Variant.objects.filter(post=post).values_list("publish_at", flat=True)
    }
    assert moved == {target.strftime("%H:%M")}
    shot(page, "25-calendar-week-after-drag")

    # --- Time passes; the engine runs (beat would call it every few seconds) -----------------
    due = timezone.now() - timedelta(seconds=1)
    Variant.objects.filter(post=post).update(publish_at=due, next_attempt_at=due)
    assert engine.dispatch_due() == 3
    page.goto(f"{base}/publishing/posts/{post.pk}/")
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED, list(
        Variant.objects.filter(post=post).values_list("state", "last_error")
    )
    links = page.get_by_role("link", name="View post")
    assert links.count() == 3
    for variant in Variant.objects.filter(post=post):
        assert variant.state == VariantState.PUBLISHED
        assert variant.external_url
        on_network = SandboxPost.objects.filter(account=live_sandbox.account(variant.channel))
        assert on_network.count() == 1
        # The image went with it, as the rendition for the placement, with its alt text.
        [sent] = on_network.get().media
        assert sent["alt_text"] == "A glass of cold brew on ice"
        assert sent["mime_type"] == "image/jpeg"
    on_x = SandboxPost.objects.get(account=live_sandbox.account(x))
    assert "utm_source=x" in on_x.text
    shot(page, "27-post-published")

    # --- A CSV with mistakes: every error by line, nothing imported ----------------------------
    when = (timezone.localtime(timezone.now(), world_zone()) + timedelta(days=2)).strftime(
        "%Y-%m-%d 09:30"
    )
    sheet = tmp_path / "posts.csv"
    sheet.write_text(
        "channel,placement,publish_at,text\n"
        f"@acmecoffee,feed,{when},Fresh beans today\n"
        f"@nobody,feed,{when},Hello\n"
        f"acme.coffee,reel,{when},Reel time\n"
        f"@acmecoffee,feed,next tuesday,{'가' * 141}\n",
        encoding="utf-8",
    )
    page.goto(f"{base}/publishing/import/")
    page.get_by_label("CSV file").set_input_files(str(sheet))
    page.get_by_role("button", name="Check and import").click()
    page.locator(".gr-import-errors").wait_for()
    expect(page.get_by_role("alert").filter(has_text="Nothing was imported")).to_be_visible()
    assert Post.objects.count() == 1
    shot(page, "26b-import-errors")

    # --- The same pages in Korean ------------------------------------------------------------
    core_actions.do_update_preferences(
        world.paul, language="ko", timezone_name="Asia/Seoul", acting_user=world.paul
    )
    page.goto(f"{base}/publishing/compose/?channel={x.pk}&channel={world.coffee_instagram.pk}")
    panel_variants(page, 2)
    page.locator("#id_text").fill("겨울 한정 메뉴 " * 25)
    x_card.locator(".gr-problems").wait_for()
    shot(page, "28-composer-ko-over-limit")
    page.goto(f"{base}/publishing/calendar/?date={day}")
    shot(page, "29-calendar-ko")
    page.goto(f"{base}/publishing/import/")
    shot(page, "30-import-ko")
    page.context.close()


def world_zone() -> Any:
    import zoneinfo

    return zoneinfo.ZoneInfo("Asia/Seoul")


def bluesky_length(text: str) -> int:
    from greenroom.networks.text import count

    return count(f"{text}\n\n{link_on('bluesky')}", "bluesky").length


def content_length_on_x() -> int:
    """What X counts for the post as sent: the text, a blank line, the link (23)."""
    from greenroom.networks.text import count

    return count(f"{TEXT}\n\n{link_on('x')}", "x").length


def link_on(network: str) -> str:
    return (
        f"https://example.com/winter?utm_source={network}&utm_medium=social"
        "&utm_campaign=winter-launch"
    )
