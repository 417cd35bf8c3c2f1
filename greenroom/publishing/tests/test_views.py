"""The publishing pages: the list, a post's page, the composer and the pause switch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape

from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.publishing import actions
from greenroom.publishing.models import (
    Post,
    PostState,
    PublishingPause,
    Variant,
    VariantState,
)

from .conftest import Pub, Traffic, dispatch, fresh, variant_of


def signed_in(client: Client, world: World, name: str) -> Client:
    client.force_login(world.people[name])
    return client


def test_the_list_shows_the_posts_one_may_see(client: Client, pub: Pub) -> None:
    w = pub.world
    pub.post([w.coffee_x], text="Coffee news for everyone.")
    pub.post([w.tea_bluesky], text="Tea news for tea people.")

    page = signed_in(client, w, "bianca").get("/publishing/").content.decode()
    assert "Coffee news for everyone." in page
    assert "Tea news" not in page

    page = signed_in(client, w, "alice").get("/publishing/?state=scheduled").content.decode()
    assert "Coffee news" in page and "Tea news" in page
    page = client.get(f"/publishing/?channel={w.tea_bluesky.pk}").content.decode()
    assert "Tea news" in page and "Coffee news" not in page


def test_the_list_is_for_people_who_draft_publish_or_approve(client: Client, world: World) -> None:
    assert signed_in(client, world, "anna").get("/publishing/").status_code == 404
    assert signed_in(client, world, "april").get("/publishing/").status_code == 200


def test_composing_a_post_and_submitting_it(client: Client, world: World) -> None:
    signed_in(client, world, "carl")
    response = client.post(
        "/publishing/new/",
        {
            "text": "Pumpkin spice returns.",
            "channels": [world.coffee_x.pk, world.tea_bluesky.pk],
            "publish_at": (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "then": "submit",
        },
    )
    post = Post.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/publishing/posts/{post.pk}/"
    assert post.state == PostState.IN_APPROVAL
    assert post.author == world.carl


def test_the_composer_explains_what_a_network_refuses(client: Client, world: World) -> None:
    signed_in(client, world, "alice")
    response = client.post(
        "/publishing/new/",
        {"text": "가" * 200, "channels": [world.coffee_x.pk], "then": "draft"},
    )
    assert response.status_code == 200
    assert "Korean characters count 2" in response.content.decode()
    assert not Post.objects.exists()


def test_a_post_page_shows_each_channel_honestly(client: Client, pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.coffee_x, w.tea_bluesky])
    pub.due(post)
    Variant.objects.filter(post=post, channel=w.tea_bluesky).update(text="x" * 400)
    dispatch()

    page = signed_in(client, w, "alice").get(f"/publishing/posts/{post.pk}/").content.decode()

    published = variant_of(post, w.coffee_x)
    assert "Partially published" in page
    assert published.external_url in page and "View post" in page
    assert "Bluesky counts this post as 400 of 300" in page
    assert "text_too_long" in page
    assert "Retry" in page
    # The history says who did what.
    for step in ("Drafted", "Submitted for approval", "Approval complete", "Published", "Failed"):
        assert step in page
    # What the engine did is said to be Greenroom's, not shown as a raw placeholder.
    history = page[page.index('id="history-heading"') :]
    assert "Greenroom (automatic)" in history and "system ·" not in history


def test_retry_from_the_post_page(client: Client, pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.tea_bluesky])
    pub.due(post)
    Variant.objects.filter(post=post).update(text="x" * 400)
    dispatch()
    variant = variant_of(post, w.tea_bluesky)
    Variant.objects.filter(pk=variant.pk).update(text="Fixed.")

    # carl may view but not publish (and did not write the post): refused, nothing changes.
    response = signed_in(client, w, "carl").post(f"/publishing/variants/{variant.pk}/retry/")
    assert response.status_code == 302
    assert fresh(variant).state == VariantState.FAILED
    assert "publish permission" in client.get(response["Location"]).content.decode()

    assert client.get(f"/publishing/variants/{variant.pk}/retry/").status_code == 405
    signed_in(client, w, "paul").post(f"/publishing/variants/{variant.pk}/retry/")
    assert fresh(variant).state == VariantState.SCHEDULED


def test_another_tenants_or_another_brands_post_is_a_404(client: Client, pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.tea_bluesky])
    variant = variant_of(post, w.tea_bluesky)
    signed_in(client, w, "bianca")
    assert client.get(f"/publishing/posts/{post.pk}/").status_code == 404
    assert client.post(f"/publishing/variants/{variant.pk}/cancel/").status_code == 404
    assert client.post(f"/publishing/posts/{post.pk}/cancel/").status_code == 404
    assert fresh(variant).state == VariantState.SCHEDULED


def test_approving_and_requesting_changes_from_the_post_page(client: Client, world: World) -> None:
    post = actions.do_create_post(
        world.acme,
        text="Barista championship.",
        channels=[world.coffee_x],
        publish_at=timezone.now() + timedelta(days=1),
        acting_user=world.carl,
    )
    actions.do_submit_for_approval(post, acting_user=world.carl)

    page = signed_in(client, world, "carl").get(f"/publishing/posts/{post.pk}/").content.decode()
    assert "someone else approves it" in page and "Request changes" not in page

    page = signed_in(client, world, "april").get(f"/publishing/posts/{post.pk}/").content.decode()
    assert "Request changes" in page
    assert "Barista championship." in client.get("/publishing/").content.decode()  # waiting
    client.post(f"/publishing/posts/{post.pk}/request-changes/", {"comment": "Add the date."})
    assert fresh(post).state == PostState.CHANGES_REQUESTED

    page = signed_in(client, world, "carl").get(f"/publishing/posts/{post.pk}/").content.decode()
    assert "Add the date." in page
    client.post(f"/publishing/posts/{post.pk}/submit/")
    signed_in(client, world, "april").post(f"/publishing/posts/{post.pk}/approve/", {"comment": ""})
    assert fresh(post).state == PostState.SCHEDULED


def test_the_pause_switch_holds_posts_visibly_and_lifts(client: Client, pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.coffee_x])
    signed_in(client, w, "paul")
    response = client.post(
        "/publishing/pauses/",
        {"scope": "brand", "brand": w.coffee.pk, "reason": "Recall of batch 42"},
    )
    assert response.status_code == 302
    pause = PublishingPause.objects.get()
    assert AuditEvent.objects.filter(action="publishing.paused", actor=w.paul).exists()

    pub.due(post)
    dispatch()
    page = client.get(f"/publishing/posts/{post.pk}/").content.decode()
    assert "Publishing is paused." in page  # the banner
    assert "paused by Paul because “Recall of batch 42”" in page
    assert variant_of(post, w.coffee_x).state == VariantState.SCHEDULED

    client.post(f"/publishing/pauses/{pause.pk}/lift/")
    assert fresh(pause).lifted_at is not None
    dispatch()
    assert variant_of(post, w.coffee_x).state == VariantState.PUBLISHED


def test_pausing_needs_the_publish_permission(client: Client, world: World) -> None:
    signed_in(client, world, "carl")
    page = client.get("/publishing/pauses/").content.decode()
    assert "Pausing needs the publish permission" in page
    client.post("/publishing/pauses/", {"scope": "organization", "reason": "Because"})
    assert not PublishingPause.objects.exists()


@pytest.mark.parametrize("name", ["bianca", "paul"])
def test_the_empty_list_still_names_the_channels_to_draft_for(
    client: Client, world: World, name: str
) -> None:
    page = signed_in(client, world, name).get("/publishing/").content.decode()
    assert "@acmecoffee" in page and "@globex" not in page


ENGINE_CRASH_EN = "Greenroom hit an internal error while publishing; it will check and retry."
ENGINE_CRASH_KO = "게시하는 중 Greenroom에 내부 오류가 생겼습니다. 확인한 뒤 다시 시도합니다."


@pytest.mark.parametrize(
    ("worker_language", "reader_language", "expected", "not_expected"),
    [
        ("ko", "en", ENGINE_CRASH_EN, ENGINE_CRASH_KO),
        ("en", "ko", ENGINE_CRASH_KO, ENGINE_CRASH_EN),
    ],
)
def test_a_crash_in_the_engine_is_told_in_the_readers_language(
    client: Client,
    pub: Pub,
    traffic: Traffic,
    worker_language: str,
    reader_language: str,
    expected: str,
    not_expected: str,
) -> None:
    w = pub.world
    post = pub.post([w.coffee_x])
    pub.due(post)

    def crash() -> None:
        raise RuntimeError("a bug inside the connector")

    traffic.before_publish = crash
    with translation.override(worker_language):
        dispatch()
    variant = variant_of(post, w.coffee_x)
    assert variant.state == VariantState.SCHEDULED and variant.error_code == "internal_error"

    w.alice.language = reader_language
    w.alice.save(update_fields=["language"])
    page = signed_in(client, w, "alice").get(f"/publishing/posts/{post.pk}/").content.decode()
    history = page[page.index('id="history-heading"') :]
    assert expected in history and "(internal_error)" in history
    # The channel's row ("Will try again at ...") says it in the same language.
    assert page.count(expected) == 2
    assert not_expected not in page


GAVE_UP_EN = "Greenroom tried 3 times and gave up. The network's last answer: "
GAVE_UP_KO = "Greenroom이 3번 시도한 끝에 중단했습니다. 네트워크의 마지막 응답: "
# The network's own words (hostile, and with numbers of their own): shown as they came, escaped.
NETWORK_SAYS = "Upstream <queue> is full after 7 tries; it's retried in 30s & then dropped."


class NetworkDown(httpx.BaseTransport):
    """The network answers every publish with a 503 in its own words."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/api/v1/posts"):
            error = {"code": "unavailable", "message": NETWORK_SAYS}
            return httpx.Response(503, json={"error": error})
        return self.inner.handle_request(request)


@pytest.mark.parametrize(
    ("worker_language", "reader_language", "expected", "not_expected"),
    [
        ("ko", "en", GAVE_UP_EN, GAVE_UP_KO),
        ("en", "ko", GAVE_UP_KO, GAVE_UP_EN),
    ],
)
def test_giving_up_is_told_in_the_readers_language_with_the_count_and_the_networks_words(
    client: Client,
    pub: Pub,
    traffic: Traffic,
    settings: Any,
    worker_language: str,
    reader_language: str,
    expected: str,
    not_expected: str,
) -> None:
    settings.PUBLISHING_MAX_ATTEMPTS = 3
    w = pub.world
    traffic.inner = NetworkDown(traffic.inner)
    post = pub.post([w.coffee_x])
    pub.due(post)
    variant = variant_of(post, w.coffee_x)
    with translation.override(worker_language):
        for _ in range(3):
            dispatch()
            variant = fresh(variant)
            if variant.state == VariantState.SCHEDULED:
                pub.retry_now(variant)
    assert variant.state == VariantState.FAILED and variant.error_code == "unavailable"
    # The row (and so the API) keeps the English sentence, whatever the worker spoke.
    assert variant.last_error == GAVE_UP_EN + NETWORK_SAYS

    w.alice.language = reader_language
    w.alice.save(update_fields=["language"])
    page = signed_in(client, w, "alice").get(f"/publishing/posts/{post.pk}/").content.decode()
    said = escape(expected + NETWORK_SAYS)
    # The channel's row and the history's failure row, each with the count and the network's
    # own words as they came.
    assert page.count(said) == 2
    assert page.index('id="history-heading"') < page.rindex(said)
    assert not_expected not in page


def test_a_timed_pause_reads_its_end_after_the_time_in_korean(client: Client, pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.coffee_x])
    ends = timezone.now() + timedelta(hours=3)
    actions.do_pause_publishing(
        w.acme, scope="brand", brand=w.coffee, reason="recall", until=ends, acting_user=w.paul
    )
    User = type(w.alice)
    User.objects.filter(pk=w.alice.pk).update(language="ko")
    signed_in(client, w, "alice")
    page = client.get(f"/publishing/posts/{post.pk}/").content.decode()
    # "까지" (until) follows the time in Korean: "2026-11-28 15:00까지", not "까지 2026-…".
    assert "</time>까지" in page
    assert "까지 <time" not in page
