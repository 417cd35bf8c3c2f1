"""In headless chromium: a contributor composes, an approver approves, a publisher publishes, a
pause holds one brand, and the post page tells each channel's story.

Screenshots land in test-artifacts/screenshots/publishing-*.png for a person to look at.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from greenroom.conftest import World
from greenroom.core.tests.test_browser import chromium as chromium  # the fixture
from greenroom.core.tests.test_browser import shot, sign_in
from greenroom.networks.actions import do_connect_sandbox_channel
from greenroom.networks.sandbox.models import SandboxPost
from greenroom.publishing import engine
from greenroom.publishing.models import Post, VariantState

pytestmark = pytest.mark.browser


def test_compose_approve_publish_and_pause(
    chromium: Any, live_server: Any, world: World, settings: Any
) -> None:
    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 0
    for channel in (world.coffee_x, world.tea_bluesky):
        do_connect_sandbox_channel(channel, acting_user=None)
    base = live_server.url

    # Carl drafts for two brands' channels and submits.
    page = sign_in(chromium, base, "carl")
    page.get_by_role("link", name="Publishing").first.click()
    shot(page, "publishing-01-empty-list")
    # "New post" opens the composer (its own browser test); this one uses the plain form.
    assert page.get_by_role("link", name="New post").first.get_attribute("href") == (
        "/publishing/compose/"
    )
    page.goto(f"{base}/publishing/new/")
    page.get_by_label("Text").fill("Autumn blend and chai latte, from Saturday. 가을 한정 메뉴 ☕")
    page.get_by_label("@acmecoffee · X · Acme Coffee").check()
    page.get_by_label("acmetea.bsky.social · Bluesky · Acme Tea").check()
    when = timezone.localtime(timezone.now() + timedelta(hours=2))
    page.get_by_label("Publish at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    shot(page, "publishing-02-compose")
    page.get_by_role("button", name="Save and submit for approval").click()
    expect(page.get_by_text("In approval").first).to_be_visible()
    expect(page.get_by_text("someone else approves it")).to_be_visible()
    shot(page, "publishing-03-in-approval-author")
    post = Post.objects.get()
    page.context.close()

    # April approves with a comment.
    page = sign_in(chromium, base, "april")
    page.goto(f"{base}/publishing/")
    expect(page.get_by_role("heading", name="Waiting for your approval")).to_be_visible()
    page.get_by_role("link", name="Autumn blend", exact=False).first.click()
    page.get_by_label("Comment").fill("Lovely, go ahead.")
    shot(page, "publishing-04-approver")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Scheduled").first).to_be_visible()
    page.context.close()

    # Paul pauses Tea, then publishes now: Coffee goes out, Tea waits visibly.
    page = sign_in(chromium, base, "paul")
    page.goto(f"{base}/publishing/pauses/")
    page.get_by_label("What to pause").select_option("brand")
    page.get_by_label("Brand").select_option(label="Acme Tea")
    page.get_by_label("Reason").fill("Supplier recall: hold Tea posts")
    page.get_by_role("button", name="Pause publishing").click()
    expect(page.get_by_text("Publishing is paused.", exact=True)).to_be_visible()
    shot(page, "publishing-05-pauses")
    page.goto(f"{base}/publishing/posts/{post.pk}/")
    page.get_by_role("button", name="Publish now").click()
    engine.dispatch_due()  # what beat does within seconds
    page.reload()
    expect(page.get_by_role("link", name="View post")).to_be_visible()
    expect(
        page.get_by_text("Waiting: paused by Paul because “Supplier recall: hold Tea posts”")
    ).to_be_visible()
    shot(page, "publishing-06-post-page-held")
    assert SandboxPost.objects.count() == 1

    # The pause is lifted: Tea goes out too, once.
    page.goto(f"{base}/publishing/pauses/")
    page.get_by_role("button", name="Lift").click()
    engine.dispatch_due()
    page.goto(f"{base}/publishing/posts/{post.pk}/")
    assert page.get_by_role("link", name="View post").count() == 2
    expect(page.get_by_text("Published").first).to_be_visible()
    shot(page, "publishing-07-post-page-published")
    page.goto(f"{base}/publishing/")
    shot(page, "publishing-08-list")
    assert SandboxPost.objects.count() == 2
    assert set(post.variants.values_list("state", flat=True)) == {VariantState.PUBLISHED}
