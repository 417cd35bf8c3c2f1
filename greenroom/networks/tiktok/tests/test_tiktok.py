"""TikTok's Content Posting API, against request and response pairs from TikTok's documentation
on developers.tiktok.com:

- Direct Post reference (creator_info/query with privacy_level_options and
  max_video_post_duration_sec; video/init with post_info and source_info FILE_UPLOAD or
  PULL_FROM_URL; error codes such as unaudited_client_can_only_post_to_private_accounts,
  spam_risk_too_many_posts, rate_limit_exceeded):
  https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
- Upload to inbox (inbox/video/init with source_info only):
  https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
- Media transfer guide (chunk_size, total_chunk_count = floor(size / chunk_size), PUT with
  Content-Range, 206 Partial Content then 201 Created):
  https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
- Photo post (content/init, post_mode DIRECT_POST / MEDIA_UPLOAD, media_type PHOTO, photo_images):
  https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
- Get post status (status/fetch: PROCESSING_UPLOAD, PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX,
  PUBLISH_COMPLETE, FAILED with fail_reason; publicaly_available_post_id, TikTok's spelling):
  https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
- Display API video/query (like_count, comment_count, share_count, view_count):
  https://developers.tiktok.com/doc/tiktok-api-v2-video-query
- Manage user access tokens (refresh_token grant with client_key; the token answer):
  https://developers.tiktok.com/doc/oauth-user-access-token-management
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import Channel, ChannelStatus
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.tiktok import connector as tiktok
from greenroom.networks.tiktok.tests.conftest import (
    CLIENT_SECRET,
    REFRESH,
    TOKEN,
    T,
    store_tokens,
)

UPLOAD_URL = "https://open-upload.tiktokapis.com/video/?upload_id=67890&upload_token=Xza123"
PUBLISH_ID = "v_pub_file~v2-1.123456789"
POST_ID = "7080217258529732869"
LOG = {"code": "ok", "message": "", "log_id": "202210112248442CB9319E1FB30C1073F3"}
CREATOR: dict[str, Any] = {
    "data": {
        "creator_avatar_url": "https://lf16-tt4d.tiktokcdn.com/obj/tiktok-open-platform/8d5740ac3844be417beeacd0df75aef1",
        "creator_username": "acmecoffee",
        "creator_nickname": "Acme Coffee",
        "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        "comment_disabled": False,
        "duet_disabled": False,
        "stitch_disabled": True,
        "max_video_post_duration_sec": 300,
    },
    "error": LOG,
}


def answer(data: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "error": LOG})


def refusal(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"data": {}, "error": {"code": code, "message": message, "log_id": "x"}}
    )


def state(status: str, **more: Any) -> httpx.Response:
    return answer({"status": status, **more})


@pytest.fixture
def clip(monkeypatch: Any) -> MediaItem:
    monkeypatch.setattr(tiktok, "CHUNK_BYTES", 4)
    default_storage.save("v/pour.mp4", ContentFile(b"0123456789"))
    return MediaItem("v/pour.mp4", "video/mp4")


def test_a_video_is_posted_directly_in_chunks_and_followed_until_published(
    account: Channel, clip: MediaItem
) -> None:
    with respx.mock(assert_all_called=True) as router:
        creator = router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        init = router.post(f"{T}/post/publish/video/init/").mock(
            return_value=answer({"publish_id": PUBLISH_ID, "upload_url": UPLOAD_URL})
        )
        upload = router.put(UPLOAD_URL).mock(side_effect=[httpx.Response(206), httpx.Response(201)])
        status = router.post(f"{T}/post/publish/status/fetch/").mock(
            side_effect=[
                state("PROCESSING_UPLOAD", uploaded_bytes=10),
                state("PUBLISH_COMPLETE", publicaly_available_post_id=[int(POST_ID)]),
            ]
        )
        ref = tiktok.TikTokConnector(account).publish(
            OutgoingPost(text="Morning pour #coffee", idempotency_key="k1", media=[clip])
        )
    assert ref.external_id == POST_ID
    assert ref.url == f"https://www.tiktok.com/@acmecoffee/video/{POST_ID}"
    query = creator.calls[0].request
    assert query.headers["Authorization"] == f"Bearer {TOKEN}"
    assert query.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert json.loads(init.calls[0].request.content) == {
        "post_info": {
            "title": "Morning pour #coffee",
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_duet": False,
            "disable_comment": False,
            "disable_stitch": True,  # the creator turned stitches off
        },
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 10,
            "chunk_size": 4,
            "total_chunk_count": 2,  # floor(10 / 4); the last chunk takes the rest
        },
    }
    assert [(c.request.headers["Content-Range"], c.request.content) for c in upload.calls] == [
        ("bytes 0-3/10", b"0123"),
        ("bytes 4-9/10", b"456789"),
    ]
    assert upload.calls[0].request.headers["Content-Type"] == "video/mp4"
    assert "Authorization" not in upload.calls[0].request.headers
    assert json.loads(status.calls[0].request.content) == {"publish_id": PUBLISH_ID}


def test_a_video_for_the_creators_inbox_and_a_pulled_video(
    account: Channel, clip: MediaItem, settings: Any
) -> None:
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        inbox = router.post(f"{T}/post/publish/inbox/video/init/").mock(
            return_value=answer({"publish_id": "v_inbox_file~v2.1", "upload_url": UPLOAD_URL})
        )
        router.put(UPLOAD_URL).mock(return_value=httpx.Response(201))
        router.post(f"{T}/post/publish/status/fetch/").mock(
            return_value=state("SEND_TO_USER_INBOX")
        )
        ref = tiktok.TikTokConnector(account).publish(
            OutgoingPost(
                text="Draft", idempotency_key="k2", media=[clip], extra={"tiktok_mode": "inbox"}
            )
        )
        settings.TIKTOK_PULL_FROM_URL = True
        direct = router.post(f"{T}/post/publish/video/init/").mock(
            return_value=answer({"publish_id": "v_pub_url~v2.123456789"})
        )
        tiktok.TikTokConnector(account).publish(
            OutgoingPost(text="Pulled", idempotency_key="k3", media=[clip])
        )
    assert json.loads(inbox.calls[0].request.content) == {
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 10,
            "chunk_size": 4,
            "total_chunk_count": 2,
        }
    }
    assert (ref.external_id, ref.url) == ("v_inbox_file~v2.1", "https://www.tiktok.com/@acmecoffee")
    assert json.loads(direct.calls[0].request.content)["source_info"] == {
        "source": "PULL_FROM_URL",
        "video_url": "https://media.acme.example/m/v/pour.mp4",
    }


def test_photos_are_posted_from_public_urls(account: Channel) -> None:
    photos = [MediaItem("p/1.jpg", "image/jpeg"), MediaItem("p/2.jpg", "image/jpeg")]
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        init = router.post(f"{T}/post/publish/content/init/").mock(
            return_value=answer({"publish_id": "p_pub_url~v2.123456789"})
        )
        router.post(f"{T}/post/publish/status/fetch/").mock(
            return_value=state("PUBLISH_COMPLETE", publicaly_available_post_id=[])
        )
        ref = tiktok.TikTokConnector(account).publish(
            OutgoingPost(
                text="Two new cups on the menu\nOat and almond, from today.",
                idempotency_key="k4",
                placement="photo",
                media=photos,
                extra={"privacy_level": "SELF_ONLY"},
            )
        )
    assert json.loads(init.calls[0].request.content) == {
        "post_info": {
            "title": "Two new cups on the menu",
            "description": "Two new cups on the menu\nOat and almond, from today.",
            "disable_comment": False,
            "auto_add_music": True,
            "privacy_level": "SELF_ONLY",
        },
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_cover_index": 0,
            "photo_images": [
                "https://media.acme.example/m/p/1.jpg",
                "https://media.acme.example/m/p/2.jpg",
            ],
        },
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }
    # A private post has no public id: the publish_id stands in, the link is the profile.
    assert (ref.external_id, ref.url) == (
        "p_pub_url~v2.123456789",
        "https://www.tiktok.com/@acmecoffee",
    )


def test_an_unaudited_app_is_told_it_may_only_post_privately(
    account: Channel, clip: MediaItem
) -> None:
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        router.post(f"{T}/post/publish/video/init/").mock(
            return_value=refusal(
                403,
                "unaudited_client_can_only_post_to_private_accounts",
                "Please review our integration guidelines at "
                "https://developers.tiktok.com/doc/content-sharing-guidelines/",
            )
        )
        with pytest.raises(ConnectorError) as caught:
            tiktok.TikTokConnector(account).publish(
                OutgoingPost(text="t", idempotency_key="k", media=[clip])
            )
    assert caught.value.permanent
    assert caught.value.code == "unaudited_client_can_only_post_to_private_accounts"
    assert "Only me" in caught.value.message and "audit" in caught.value.message


def test_a_privacy_level_the_account_lacks_is_refused_before_anything_is_sent(
    account: Channel, clip: MediaItem
) -> None:
    options = {**CREATOR, "data": {**CREATOR["data"], "privacy_level_options": ["SELF_ONLY"]}}
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=options)
        )
        init = router.post(f"{T}/post/publish/video/init/")
        with pytest.raises(ConnectorError) as caught:
            tiktok.TikTokConnector(account).publish(
                OutgoingPost(text="t", idempotency_key="k", media=[clip])
            )
    assert init.call_count == 0
    assert "SELF_ONLY" in caught.value.message and caught.value.permanent


def test_rate_limits_wait_the_rule_tables_window_and_the_daily_cap_a_day(
    account: Channel, clip: MediaItem
) -> None:
    post = OutgoingPost(text="t", idempotency_key="k", media=[clip])
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        init = router.post(f"{T}/post/publish/video/init/").mock(
            return_value=refusal(429, "rate_limit_exceeded", "API rate limit was exceeded")
        )
        with pytest.raises(ConnectorError) as limited:
            tiktok.TikTokConnector(account).publish(post)
        init.mock(
            return_value=refusal(
                403,
                "spam_risk_too_many_posts",
                "The daily post cap from the API is reached for the current user.",
            )
        )
        with pytest.raises(ConnectorError) as capped:
            tiktok.TikTokConnector(account).publish(post)
    assert not limited.value.permanent and limited.value.retry_after == 60  # specs/tiktok.toml
    assert not capped.value.permanent and capped.value.retry_after == 24 * 3600


def test_a_failed_post_says_why_using_the_accounts_own_limit(
    account: Channel, clip: MediaItem
) -> None:
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        router.post(f"{T}/post/publish/video/init/").mock(
            return_value=answer({"publish_id": PUBLISH_ID, "upload_url": UPLOAD_URL})
        )
        router.put(UPLOAD_URL).mock(return_value=httpx.Response(201))
        router.post(f"{T}/post/publish/status/fetch/").mock(
            return_value=state("FAILED", fail_reason="duration_check_failed")
        )
        with pytest.raises(ConnectorError) as caught:
            tiktok.TikTokConnector(account).publish(
                OutgoingPost(text="t", idempotency_key="k", media=[clip])
            )
    assert caught.value.permanent and caught.value.code == "duration_check_failed"
    assert "300 seconds" in caught.value.message


def test_an_unknown_outcome_follows_the_recorded_publish_id_and_never_posts_twice(
    account: Channel, clip: MediaItem
) -> None:
    post = OutgoingPost(text="Once only", idempotency_key="u1", media=[clip])
    connector = tiktok.TikTokConnector(account)
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        init = router.post(f"{T}/post/publish/video/init/").mock(
            return_value=answer({"publish_id": PUBLISH_ID, "upload_url": UPLOAD_URL})
        )
        router.put(UPLOAD_URL).mock(side_effect=[httpx.Response(206), httpx.ReadTimeout("slow")])
        with pytest.raises(OutcomeUnknown):
            connector.publish(post)
        # The last chunk did arrive: TikTok is fetching it through its pipeline.
        status = router.post(f"{T}/post/publish/status/fetch/").mock(
            return_value=state("PROCESSING_DOWNLOAD", uploaded_bytes=10)
        )
        assert connector.find_published("u1") is None  # not published yet
        status.mock(
            side_effect=[
                state("PROCESSING_DOWNLOAD", uploaded_bytes=10),
                state("PUBLISH_COMPLETE", publicaly_available_post_id=[int(POST_ID)]),
            ]
        )
        ref = connector.publish(post)  # follows the same publish_id
        assert connector.find_published("u1") == ref
        assert connector.find_published("never-sent") is None
    assert ref.external_id == POST_ID
    assert init.call_count == 1


def test_an_upload_abandoned_part_way_starts_over(account: Channel, clip: MediaItem) -> None:
    post = OutgoingPost(text="Again", idempotency_key="u2", media=[clip])
    connector = tiktok.TikTokConnector(account)
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        init = router.post(f"{T}/post/publish/video/init/").mock(
            side_effect=[
                answer({"publish_id": PUBLISH_ID, "upload_url": UPLOAD_URL}),
                answer({"publish_id": "v_pub_file~v2-1.2", "upload_url": UPLOAD_URL}),
            ]
        )
        router.put(UPLOAD_URL).mock(
            side_effect=[
                httpx.ConnectError("down"),
                httpx.Response(206),
                httpx.Response(201),
            ]
        )
        with pytest.raises(ConnectorError):
            connector.publish(post)
        router.post(f"{T}/post/publish/status/fetch/").mock(
            side_effect=[
                state("PROCESSING_UPLOAD", uploaded_bytes=0),
                state("PUBLISH_COMPLETE", publicaly_available_post_id=[int(POST_ID)]),
            ]
        )
        ref = connector.publish(post)
    assert init.call_count == 2
    assert ref.external_id == POST_ID


def test_the_inbox_is_empty_and_answering_says_why(account: Channel) -> None:
    connector = tiktok.TikTokConnector(account)
    item = InboundItem("c1", "comment", "hi", "u", "U", timezone.now())
    assert connector.fetch_inbox("2026-11-01T00:00:00+00:00").items == []
    with pytest.raises(ConnectorError) as replied:
        connector.reply(item, "thanks")
    with pytest.raises(ConnectorError) as hidden:
        connector.hide(item)
    assert "TikTok app" in replied.value.message and replied.value.permanent
    assert "TikTok app" in hidden.value.message and hidden.value.permanent


def test_a_first_comment_is_refused_in_plain_words_without_a_request(account: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        anything = router.route()
        with pytest.raises(ConnectorError) as caught:
            tiktok.TikTokConnector(account).comment_on_own_post(
                PublishedRef("7311111111111111111", ""), "#coffee", "v1:first-comment"
            )
    assert anything.call_count == 0
    assert caught.value.permanent and caught.value.code == "not_supported"
    assert caught.value.message == (
        "TikTok does not let apps post comments, so the first comment was not posted. "
        "Post it from the TikTok app."
    )


def test_metrics_of_public_videos(account: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        query = router.post(f"{T}/video/query/").mock(
            return_value=answer(
                {
                    "videos": [
                        {
                            "id": POST_ID,
                            "like_count": 10,
                            "comment_count": 2,
                            "share_count": 1,
                            "view_count": 100,
                        }
                    ]
                }
            )
        )
        (metrics,) = tiktok.TikTokConnector(account).fetch_metrics([POST_ID, PUBLISH_ID])
    request = query.calls[0].request
    assert request.url.params["fields"] == "id,like_count,comment_count,share_count,view_count"
    assert json.loads(request.content) == {"filters": {"video_ids": [POST_ID]}}
    assert (metrics.likes, metrics.replies, metrics.reposts, metrics.impressions) == (10, 2, 1, 100)


def test_a_token_near_expiry_is_refreshed_with_the_client_key(
    account: Channel, world: World
) -> None:
    store_tokens(account, world, expires_in=timedelta(minutes=1))
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{T}/oauth/token/").mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": "act.example12345Example12345Example",
                    "expires_in": 86400,
                    "open_id": "afd97af1-b87b-48b9-ac98-410aghda5344",
                    "refresh_expires_in": 31536000,
                    "refresh_token": "rft.example12345Example12345Example",
                    "scope": "user.info.basic,video.list",
                    "token_type": "Bearer",
                },
            )
        )
        creator = router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=httpx.Response(200, json=CREATOR)
        )
        tiktok.TikTokConnector(account).creator_info()
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["client_key"] == ["awx9y3bkzlh2ab1c"] and "client_id" not in form
    assert form["client_secret"] == [CLIENT_SECRET]
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == [REFRESH]
    assert creator.calls[0].request.headers["Authorization"] == (
        "Bearer act.example12345Example12345Example"
    )


def test_a_revoked_token_flags_the_channel_without_leaking_secrets(
    account: Channel, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    with respx.mock() as router:
        router.post(f"{T}/post/publish/creator_info/query/").mock(
            return_value=refusal(
                401,
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            )
        )
        router.post(f"{T}/oauth/token/").mock(
            return_value=httpx.Response(
                400,
                json={
                    "error": "invalid_grant",
                    "error_description": "Refresh token is invalid or expired.",
                    "log_id": "20230525083409EDC4F9C5F5A1B0E3E1B2",
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            tiktok.TikTokConnector(account).creator_info()
    assert caught.value.permanent and caught.value.code == "reconnect_needed"
    account.refresh_from_db()
    assert account.status == ChannelStatus.NEEDS_RECONNECT
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret not in caught.value.message
