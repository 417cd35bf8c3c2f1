"""A person uploads a picture, clicks its subject, and previews the Story crop in chromium.

Screenshots land in test-artifacts/screenshots/ (media-*.png) for a person to look at. Skipped
when /usr/bin/chromium is missing, unless GREENROOM_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core.tests.test_browser import chromium, shot, sign_in
from greenroom.media.models import MediaAsset, Rendition, RenditionStatus

from .conftest import plain_image, red_square_image, upload

pytestmark = pytest.mark.browser
__all__ = ["chromium"]


def test_upload_set_the_focal_point_and_preview_a_story(
    chromium: Any, live_server: Any, world: World, tmp_path: Any
) -> None:
    upload(world, plain_image(tmp_path / "harbour.jpg", 1200, 800), alt_text="The harbour")
    base = live_server.url
    page = sign_in(chromium, base, "carl")

    page.goto(f"{base}/publishing/media/")
    expect(page.get_by_role("heading", name="Media library")).to_be_visible()
    # Upload from the form: a PNG-with-a-red-square saved under a .jpg name.
    square = red_square_image(tmp_path / "square.png")
    page.get_by_label("Image or video").set_input_files(str(square))
    page.get_by_label("Alt text").fill("A red square in the corner")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{base}/publishing/media/*/")
    asset = MediaAsset.objects.get(filename="square.png")
    expect(page.get_by_text("Added to the library.")).to_be_visible()
    expect(page.get_by_role("heading", name="square.png")).to_be_visible()
    shot(page, "media-01-asset")

    # Click the red square: the focal point moves there and is saved.
    picture = page.locator(".gr-focal img")
    box = picture.bounding_box()
    assert box is not None
    with page.expect_navigation():
        page.mouse.click(box["x"] + box["width"] * 0.92, box["y"] + box["height"] * 0.1)
    expect(page.get_by_text("Focal point saved")).to_be_visible()
    asset.refresh_from_db()
    assert asset.focal_x == pytest.approx(0.92, abs=0.03)
    assert asset.focal_y == pytest.approx(0.1, abs=0.03)

    # Make the Story rendition in place (htmx), then preview it with the safe zones.
    row = page.locator("tr", has_text="Instagram · Story")
    row.get_by_role("button", name="Make").click()
    page.locator("tr", has_text="Instagram · Story").get_by_text("Ready").wait_for()
    shot(page, "media-02-renditions")
    story = Rendition.objects.get(asset=asset, network="instagram", placement="stories")
    assert story.status == RenditionStatus.READY
    page.locator("tr", has_text="Instagram · Story").get_by_role("link", name="Preview").click()
    expect(page.locator(".gr-zone-top")).to_be_visible()
    expect(page.locator(".gr-zone-bottom")).to_be_visible()
    # The page is there before its image has arrived: wait for the image, then measure it.
    page.wait_for_function(
        "selector => { const img = document.querySelector(selector);"
        " return !!img && img.complete && img.naturalWidth > 0; }",
        arg=".gr-preview img",
    )
    image = page.locator(".gr-preview img")
    assert image.evaluate("img => img.naturalWidth") == 1080
    shot(page, "media-03-story-preview")

    page.goto(f"{base}/publishing/media/")
    assert page.locator(".gr-media-card").count() == 2
    shot(page, "media-04-library")
