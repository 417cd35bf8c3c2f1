"""Per-post network options (YouTube's privacy, TikTok's privacy level ...): checked against the
network's schema when saved, set in the composer, the API and bulk import, shown on the post
page, and carried by the engine to the request the network gets. Also: no first comment where
the network's API cannot comment (TikTok)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from greenroom.api.tests.conftest import bearer, call, make_token
from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import Channel
from greenroom.networks import network_api as api
from greenroom.networks.base import MediaItem
from greenroom.publishing import actions, bulk, content
from greenroom.publishing.actions import ContentProblems, VariantInput
from greenroom.publishing.models import Post, Variant, VariantState

from .conftest import dispatch

NEW = "/publishing/compose/"
PANEL = "/publishing/compose/panel/"
T = "https://open.tiktokapis.com/v2"
YOUTUBE_UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"


@pytest.fixture(autouse=True)
def networks(settings: Any, tmp_path: Any) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "x", "instagram", "bluesky", "tiktok", "youtube"]
    settings.MEDIA_ROOT = str(tmp_path)
    settings.PUBLIC_MEDIA_URL = "https://media.acme.example/m/"
    from django.core.cache import cache

    cache.clear()  # publish attempts live in the shared cache; channel ids repeat


def channel(world: World, kind: str, handle: str = "@acmecoffee", **kw: Any) -> Channel:
    return core_actions.do_create_channel(
        world.acme, brand=world.coffee, kind=kind, handle=handle, acting_user=world.alice, **kw
    )


def create(world: World, ch: Channel, **variant: Any) -> Post:
    return actions.do_create_post(
        world.acme,
        text="New pour-over\nEvery morning at 8.",
        channels=[VariantInput(channel=ch, **variant)],
        acting_user=world.alice,
    )


# --- Validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "words"),
    [
        ("youtube", {"privacy_status": "secret"}, ["privacy_status", "public, unlisted, private"]),
        ("youtube", {"made_for_kids": "no"}, ["made_for_kids", "true or false"]),
        ("youtube", {"title": "x" * 101}, ["title", "101"]),
        ("youtube", {"privacy": "public"}, ["“privacy”", "privacy_status"]),
        ("tiktok", {"privacy_level": "PUBLIC"}, ["privacy_level", "SELF_ONLY"]),
        ("tiktok", {"auto_add_music": False}, ["auto_add_music", "Photo post"]),
        ("x", {"visibility": "public"}, ["X takes no options", "visibility"]),
        ("bluesky", {"langs": ["en", "ko", "ja", "fr"]}, ["langs", "Remove 1"]),
    ],
)
def test_bad_options_are_refused_naming_the_field_and_the_fix(
    world: World, kind: str, options: dict[str, Any], words: list[str]
) -> None:
    ch = channel(world, kind, handle="@acme.video")
    with pytest.raises(ContentProblems) as refused:
        create(world, ch, options=options, media=[1] if kind == "tiktok" else [])
    message = str(refused.value)
    for word in words:
        assert word in message
    assert not Post.objects.exists()  # nothing saved


def test_valid_options_are_kept_and_empty_ones_left_to_the_network(world: World) -> None:
    yt = channel(world, "youtube")
    post = create(
        world,
        yt,
        options={
            "privacy_status": "unlisted",
            "made_for_kids": False,
            "title": " Pour ",
            "tags": [],
        },
    )
    variant = post.variants.get()
    assert variant.options == {
        "privacy_status": "unlisted",
        "made_for_kids": False,
        "title": "Pour",
    }


# --- No first comment on TikTok ------------------------------------------------------------------


def test_a_first_comment_on_tiktok_is_refused_with_why(world: World) -> None:
    tt = channel(world, "tiktok")
    with pytest.raises(ContentProblems) as refused:
        create(world, tt, first_comment="#coffee", media=[1])
    assert "TikTok does not let apps post comments" in str(refused.value)
    assert not Post.objects.exists()


def test_the_composer_offers_no_first_comment_for_tiktok_and_says_why(
    world: World, client: Client
) -> None:
    tt = channel(world, "tiktok")
    client.force_login(world.alice)
    data = {"text": "Hi", "channels": [tt.pk], f"v{tt.pk}-placement": "feed"}
    body = client.post(PANEL, data).content.decode()
    assert f'name="v{tt.pk}-first_comment"' not in body
    assert "TikTok does not let apps post comments" in body
    # A first comment that arrives anyway (an old draft, a crafted form) is shown and refused.
    data[f"v{tt.pk}-first_comment"] = "#coffee"
    page = client.post(NEW, {**data, "action": "draft"})
    assert page.status_code == 400
    assert f'name="v{tt.pk}-first_comment"' in page.content.decode()
    assert "TikTok does not let apps post comments" in page.content.decode()
    assert not Post.objects.exists()


def test_the_api_refuses_a_first_comment_on_tiktok(world: World) -> None:
    tt = channel(world, "tiktok")
    _token, secret = make_token(world, "alice")
    answer = call(
        bearer(secret),
        "POST",
        "/api/posts",
        {
            "text": "Hi",
            "channels": [{"channel_id": tt.pk, "first_comment": "#coffee", "media": []}],
        },
    )
    assert answer.status_code == 400
    assert "TikTok does not let apps post comments" in answer.json()["detail"]


# --- Composer, API and import round trips --------------------------------------------------------


def test_the_composer_shows_only_the_networks_options_and_saves_them(
    world: World, client: Client
) -> None:
    yt = channel(world, "youtube")
    x = world.coffee_x
    client.force_login(world.alice)
    data: dict[str, Any] = {
        "text": "New pour-over",
        "channels": [yt.pk, x.pk],
        f"v{yt.pk}-placement": "feed",
        f"v{x.pk}-placement": "feed",
    }
    body = client.post(PANEL, data).content.decode()
    assert f'name="v{yt.pk}-opt-privacy_status"' in body
    assert f'name="v{yt.pk}-opt-made_for_kids"' in body
    assert f'name="v{x.pk}-opt-' not in body  # X has no options

    data.update(
        {
            f"v{yt.pk}-opt-privacy_status": "unlisted",
            f"v{yt.pk}-opt-category_id": "27",
            f"v{yt.pk}-opt-title": "Pour-over, step by step",
            f"v{yt.pk}-opt-tags": "coffee, pour-over",
            f"v{yt.pk}-opt-made_for_kids-shown": "1",
            "action": "draft",
        }
    )
    response = client.post(NEW, data)
    assert response.status_code == 302
    variant = Variant.objects.get(channel=yt)
    assert variant.options == {
        "title": "Pour-over, step by step",
        "privacy_status": "unlisted",
        "category_id": "27",
        "made_for_kids": False,
        "tags": ["coffee", "pour-over"],
    }
    page = client.get(response["Location"]).content.decode()
    assert '<option value="unlisted" selected>' in page
    assert 'value="coffee, pour-over"' in page
    # A bad value from the form is explained and nothing changes.
    data[f"v{yt.pk}-opt-privacy_status"] = "everyone"
    again = client.post(f"/publishing/compose/{variant.post_id}/", data)
    assert again.status_code == 400
    assert "privacy_status" in again.content.decode()
    variant.refresh_from_db()
    assert variant.options["privacy_status"] == "unlisted"


def test_options_round_trip_through_the_api(world: World) -> None:
    tt = channel(world, "tiktok")
    _token, secret = make_token(world, "alice")
    client = bearer(secret)
    made = call(
        client,
        "POST",
        "/api/posts",
        {
            "text": "Hi",
            "channels": [
                {
                    "channel_id": tt.pk,
                    "media": [1],
                    "options": {"privacy_level": "SELF_ONLY", "disable_duet": True},
                }
            ],
        },
    )
    assert made.status_code == 201, made.content
    [variant] = made.json()["variants"]
    assert variant["options"] == {"privacy_level": "SELF_ONLY", "disable_duet": True}
    changed = call(
        client,
        "PATCH",
        f"/api/variants/{variant['id']}",
        {"options": {"privacy_level": "FOLLOWER_OF_CREATOR", "tiktok_mode": "inbox"}},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["variants"][0]["options"] == {
        "privacy_level": "FOLLOWER_OF_CREATOR",
        "tiktok_mode": "inbox",
    }
    refused = call(
        client, "PATCH", f"/api/variants/{variant['id']}", {"options": {"privacy_level": "ALL"}}
    )
    assert refused.status_code == 400
    assert "privacy_level" in refused.json()["detail"]
    assert Variant.objects.get(pk=variant["id"]).options["privacy_level"] == "FOLLOWER_OF_CREATOR"


def test_bulk_import_reads_an_options_column(world: World) -> None:
    yt = channel(world, "youtube", handle="@acmevideo")
    csv_text = (
        "channel,text,options\n"
        '@acmevideo,Pour-over,"{""privacy_status"": ""private""}"\n'
        '@acmevideo,Cold brew,"{""privacy_status"": ""hidden""}"\n'
        "@acmevideo,Latte,not json\n"
    )
    checked = bulk.check(csv_text, org=world.acme, user=world.alice, zone=UTC)
    assert [r.options for r in checked.rows] == [{"privacy_status": "private"}]
    by_line = {(e.line, e.column): e.message for e in checked.errors}
    assert "privacy_status" in by_line[(3, "options")]
    assert "JSON object" in by_line[(4, "options")]
    bulk.do_import_posts(
        checked, org=world.acme, valid_rows_only=True, submit=False, acting_user=world.alice
    )
    assert Variant.objects.get(channel=yt).options == {"privacy_status": "private"}


def test_the_post_page_shows_the_options(world: World, client: Client) -> None:
    yt = channel(world, "youtube")
    post = create(world, yt, options={"privacy_status": "unlisted", "made_for_kids": True})
    client.force_login(world.alice)
    page = client.get(f"/publishing/posts/{post.pk}/").content.decode()
    assert "Who can watch: Unlisted: only people with the link" in page
    assert "Made for kids: Yes" in page


# --- The engine carries them to the network ------------------------------------------------------


@pytest.fixture
def media(monkeypatch: Any) -> Iterator[None]:
    """The media app's resolver, lent: asset 1 is a picture, asset 2 a video."""
    default_storage.save("v/pour.mp4", ContentFile(b"0123456789"))
    files = {1: MediaItem("p/1.jpg", "image/jpeg"), 2: MediaItem("v/pour.mp4", "video/mp4")}
    before = content._media_resolver
    content.register_media_resolver(lambda variant: [files[int(m)] for m in variant.media])
    yield
    content.register_media_resolver(before)


def connected(world: World, kind: str, external_id: str, extra: dict[str, str]) -> Channel:
    ch = channel(world, kind, external_id=external_id)
    api.do_store_tokens(
        ch,
        api.StoredTokens(
            access_token="access-token-value",
            refresh_token="refresh-token-value",
            expires_at=timezone.now() + timedelta(hours=1),
            scopes=(),
            extra=extra,
        ),
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme, kind, acting_user=world.alice, client_id="app", client_secret="app-secret"
    )
    return ch


def publish_due(post: Post) -> None:
    assert post.author is not None
    post = actions.do_submit_for_approval(post, acting_user=post.author)
    moment = timezone.now() - timedelta(seconds=1)
    Variant.objects.filter(post=post).update(publish_at=moment, next_attempt_at=moment)
    dispatch()


def test_tiktok_gets_the_privacy_level_and_interactions_the_variant_set(
    world: World, media: None
) -> None:
    tt = connected(world, "tiktok", "open-id-1", {"open_id": "open-id-1"})
    post = actions.do_create_post(
        world.acme,
        text="Two new cups\nOat and almond.",
        channels=[
            VariantInput(
                channel=tt,
                placement="photo",
                media=[1],
                options={
                    "privacy_level": "SELF_ONLY",
                    "disable_comment": True,
                    "auto_add_music": False,
                },
            )
        ],
        publish_at=timezone.now() + timedelta(hours=1),
        acting_user=world.alice,
    )
    creator = {
        "creator_username": "acmecoffee",
        "privacy_level_options": ["PUBLIC_TO_EVERYONE", "SELF_ONLY"],
        "comment_disabled": False,
    }
    ok = {"code": "ok", "message": "", "log_id": "1"}
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json={"data": creator, "error": ok})
        )
        init = router.post(f"{T}/post/publish/content/init/").mock(
            return_value=httpx.Response(200, json={"data": {"publish_id": "p_1"}, "error": ok})
        )
        router.post(f"{T}/post/publish/status/fetch/").mock(
            return_value=httpx.Response(
                200, json={"data": {"status": "PUBLISH_COMPLETE"}, "error": ok}
            )
        )
        publish_due(post)
    sent = json.loads(init.calls[0].request.content)["post_info"]
    assert sent["privacy_level"] == "SELF_ONLY"
    assert sent["disable_comment"] is True
    assert sent["auto_add_music"] is False
    assert Variant.objects.get(post=post).state == VariantState.PUBLISHED


def test_youtube_gets_the_privacy_status_category_and_made_for_kids(
    world: World, media: None, monkeypatch: Any
) -> None:
    from greenroom.networks.youtube import connector as youtube_connector

    monkeypatch.setattr(youtube_connector, "CHUNK_BYTES", 1000)
    yt = connected(world, "youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw", {"uploads": "UU_x5"})
    post = create(
        world,
        yt,
        media=[2],
        publish_at=timezone.now() + timedelta(hours=1),
        options={
            "privacy_status": "unlisted",
            "category_id": "27",
            "made_for_kids": True,
            "title": "Pour-over, step by step",
        },
    )
    video = {
        "kind": "youtube#video",
        "id": "Ks-_Mh1QhMc",
        "snippet": {"publishedAt": "2026-11-27T10:00:00Z", "title": "Pour-over"},
        "status": {"uploadStatus": "uploaded", "privacyStatus": "unlisted"},
    }
    session = f"{YOUTUBE_UPLOAD}?uploadType=resumable&upload_id=abc&part=snippet,status"
    with respx.mock(assert_all_called=True) as router:
        start = router.post(YOUTUBE_UPLOAD).mock(
            return_value=httpx.Response(200, headers={"Location": session})
        )
        router.put(YOUTUBE_UPLOAD).mock(return_value=httpx.Response(200, json=video))
        publish_due(post)
    metadata = json.loads(start.calls[0].request.content)
    assert metadata["status"] == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": True}
    assert metadata["snippet"]["categoryId"] == "27"
    assert metadata["snippet"]["title"] == "Pour-over, step by step"
    assert Variant.objects.get(post=post).state == VariantState.PUBLISHED


def test_the_options_read_in_korean_for_a_korean_speaker(world: World, client: Client) -> None:
    tt = channel(world, "tiktok")
    world.alice.language = "ko"
    world.alice.save(update_fields=["language"])
    client.force_login(world.alice)
    data = {"text": "Hi", "channels": [tt.pk], f"v{tt.pk}-placement": "feed"}
    body = client.post(PANEL, data, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "TikTok 옵션" in body
    assert "볼 수 있는 사람" in body and "나만 보기" in body
    assert "앱이 댓글을 달 수 없게 하므로" in body
