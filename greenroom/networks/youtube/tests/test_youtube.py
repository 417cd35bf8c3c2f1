"""YouTube through the Data API v3, against request and response pairs from Google's
documentation on developers.google.com:

- Resumable uploads (POST with X-Upload-Content-Length / X-Upload-Content-Type, 200 with
  Location; PUT chunks with Content-Range; 308 Resume Incomplete with Range; status check with
  "bytes */<size>"): https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
- videos.insert and the video resource (snippet.title / description / tags / categoryId,
  status.privacyStatus, selfDeclaredMadeForKids): https://developers.google.com/youtube/v3/docs/videos/insert,
  https://developers.google.com/youtube/v3/docs/videos
- videos.list statistics (viewCount, likeCount, favoriteCount, commentCount as strings):
  https://developers.google.com/youtube/v3/docs/videos/list
- playlistItems.list (the uploads playlist, contentDetails.videoId):
  https://developers.google.com/youtube/v3/docs/playlistItems/list
- commentThreads.list (allThreadsRelatedToChannelId, topLevelComment, replies):
  https://developers.google.com/youtube/v3/docs/commentThreads/list
- commentThreads.insert (snippet.channelId, videoId, topLevelComment.snippet.textOriginal; the
  answer is the commentThread with its topLevelComment):
  https://developers.google.com/youtube/v3/docs/commentThreads/insert
- comments.insert (snippet.parentId, textOriginal) and comments.setModerationStatus:
  https://developers.google.com/youtube/v3/docs/comments/insert,
  https://developers.google.com/youtube/v3/docs/comments/setModerationStatus
- Errors (quotaExceeded 403 in domain youtube.quota, uploadLimitExceeded, invalidTitle):
  https://developers.google.com/youtube/v3/docs/errors
- OAuth 2.0 for web server applications (refresh_token grant; invalid_grant "Token has been
  expired or revoked."): https://developers.google.com/identity/protocols/oauth2/web-server
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
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
from greenroom.networks.youtube import connector as youtube_connector
from greenroom.networks.youtube import errors as youtube_errors
from greenroom.networks.youtube.connector import YouTubeConnector, key_tag
from greenroom.networks.youtube.tests.conftest import (
    CHANNEL_ID,
    CLIENT_SECRET,
    GOOGLE_TOKEN,
    REFRESH,
    TOKEN,
    UPLOAD,
    UPLOADS,
    Y,
    store_tokens,
)

SESSION = f"{UPLOAD}?uploadType=resumable&upload_id=xa298sd_f&part=snippet,status"
VIDEO_ID = "Ks-_Mh1QhMc"
CLIP = MediaItem("v/pour.mp4", "video/mp4")


def video_resource(video_id: str = VIDEO_ID, tags: list[str] | None = None) -> dict[str, Any]:
    return {
        "kind": "youtube#video",
        "etag": "XI7nbFXulYBIpL0ayR_gDh3eu1k",
        "id": video_id,
        "snippet": {
            "publishedAt": "2026-11-27T10:00:00Z",
            "channelId": CHANNEL_ID,
            "title": "New pour-over",
            "description": "New pour-over\nEvery morning at 8.",
            "tags": tags or [],
            "categoryId": "22",
        },
        "status": {"uploadStatus": "uploaded", "privacyStatus": "public"},
    }


def incomplete(last: int | None) -> httpx.Response:
    headers = {"Range": f"bytes=0-{last}"} if last is not None else {}
    return httpx.Response(308, headers=headers)


@pytest.fixture
def clip(monkeypatch: Any) -> MediaItem:
    monkeypatch.setattr(youtube_connector, "CHUNK_BYTES", 4)
    default_storage.save(CLIP.path, ContentFile(b"0123456789"))
    return CLIP


def test_a_video_is_uploaded_resumably_in_chunks(youtube: Channel, clip: MediaItem) -> None:
    post = OutgoingPost(
        text="New pour-over\nEvery morning at 8.",
        idempotency_key="k1",
        media=[clip],
        extra={"tags": ["coffee"]},
    )
    with respx.mock(assert_all_called=True) as router:
        start = router.post(UPLOAD).mock(
            return_value=httpx.Response(200, headers={"Location": SESSION})
        )
        chunks = router.put(UPLOAD).mock(
            side_effect=[incomplete(3), incomplete(7), httpx.Response(200, json=video_resource())]
        )
        ref = YouTubeConnector(youtube).publish(post)
    assert ref.external_id == VIDEO_ID
    assert ref.url == f"https://www.youtube.com/watch?v={VIDEO_ID}"
    begin = start.calls[0].request
    assert begin.url.params["uploadType"] == "resumable"
    assert begin.url.params["part"] == "snippet,status"
    assert begin.headers["Authorization"] == f"Bearer {TOKEN}"
    assert begin.headers["X-Upload-Content-Length"] == "10"
    assert begin.headers["X-Upload-Content-Type"] == "video/mp4"
    assert json.loads(begin.content) == {
        "snippet": {
            "title": "New pour-over",
            "description": "New pour-over\nEvery morning at 8.",
            "tags": ["coffee", key_tag("k1")],
            "categoryId": "22",
        },
        "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
    }
    sent = [(c.request.headers["Content-Range"], c.request.content) for c in chunks.calls]
    assert sent == [
        ("bytes 0-3/10", b"0123"),
        ("bytes 4-7/10", b"4567"),
        ("bytes 8-9/10", b"89"),
    ]
    assert str(chunks.calls[0].request.url) == SESSION


def test_an_interrupted_upload_resumes_and_never_makes_a_second_video(
    youtube: Channel, clip: MediaItem
) -> None:
    post = OutgoingPost(text="Latte art", idempotency_key="k2", media=[clip])
    connector = YouTubeConnector(youtube)
    with respx.mock() as router:
        start = router.post(UPLOAD).mock(
            return_value=httpx.Response(200, headers={"Location": SESSION})
        )
        chunks = router.put(UPLOAD).mock(side_effect=[incomplete(3), httpx.ReadTimeout("slow")])
        with pytest.raises(OutcomeUnknown):
            connector.publish(post)
        # The engine asks first: YouTube holds 4 of 10 bytes, so there is no video yet.
        chunks.side_effect = [incomplete(3)]
        assert connector.find_published("k2") is None
        assert chunks.calls[-1].request.headers["Content-Range"] == "bytes */10"
        # Sending again continues the same upload where YouTube stopped.
        chunks.side_effect = [
            incomplete(3),
            incomplete(7),
            httpx.Response(201, json=video_resource()),
        ]
        ref = connector.publish(post)
    assert ref.external_id == VIDEO_ID
    assert start.call_count == 1
    ranges = [c.request.headers["Content-Range"] for c in chunks.calls[-3:]]
    assert ranges == ["bytes */10", "bytes 4-7/10", "bytes 8-9/10"]


def test_find_published_looks_for_the_key_tag_among_recent_uploads(youtube: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        items = router.get(f"{Y}/playlistItems").mock(
            return_value=httpx.Response(
                200,
                json={
                    "kind": "youtube#playlistItemListResponse",
                    "items": [
                        {"kind": "youtube#playlistItem", "contentDetails": {"videoId": "a1"}},
                        {"kind": "youtube#playlistItem", "contentDetails": {"videoId": VIDEO_ID}},
                    ],
                },
            )
        )
        videos = router.get(f"{Y}/videos").mock(
            return_value=httpx.Response(
                200,
                json={
                    "items": [
                        video_resource("a1", ["coffee"]),
                        video_resource(VIDEO_ID, ["coffee", key_tag("lost-record")]),
                    ]
                },
            )
        )
        connector = YouTubeConnector(youtube)
        found = connector.find_published("lost-record")
        assert connector.find_published("never-sent") is None
    assert found is not None and found.external_id == VIDEO_ID
    assert items.calls[0].request.url.params["playlistId"] == UPLOADS
    assert videos.calls[0].request.url.params["id"] == f"a1,{VIDEO_ID}"


def google_error(status: int, reason: str, message: str, domain: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
            }
        },
    )


def test_a_spent_quota_waits_until_midnight_pacific(
    youtube: Channel, clip: MediaItem, monkeypatch: Any
) -> None:
    # 22:00 UTC on 27 November is 14:00 in Los Angeles: ten hours to midnight there.
    monkeypatch.setattr(
        youtube_errors,
        "timezone",
        SimpleNamespace(now=lambda: datetime(2026, 11, 27, 22, 0, tzinfo=UTC)),
    )
    with respx.mock() as router:
        router.post(UPLOAD).mock(
            return_value=google_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "youtube.quota",
            )
        )
        with pytest.raises(ConnectorError) as caught:
            YouTubeConnector(youtube).publish(
                OutgoingPost(text="t", idempotency_key="k", media=[clip])
            )
    assert not caught.value.permanent and caught.value.code == "quotaExceeded"
    assert caught.value.retry_after == 10 * 3600
    assert "midnight Pacific Time" in caught.value.message


def test_upload_limit_and_a_bad_title_are_explained(youtube: Channel, clip: MediaItem) -> None:
    connector = YouTubeConnector(youtube)
    post = OutgoingPost(text="t", idempotency_key="k", media=[clip])
    with respx.mock() as router:
        route = router.post(UPLOAD).mock(
            return_value=google_error(
                400,
                "uploadLimitExceeded",
                "The user has exceeded the number of videos they may upload.",
                "youtube.video",
            )
        )
        with pytest.raises(ConnectorError) as limited:
            connector.publish(post)
        route.mock(
            return_value=google_error(
                400,
                "invalidTitle",
                "The request metadata specifies an invalid video title.",
                "youtube.video",
            )
        )
        with pytest.raises(ConnectorError) as titled:
            connector.publish(post)
    assert not limited.value.permanent and limited.value.retry_after == 24 * 3600
    assert titled.value.permanent
    assert "at most 100 characters" in titled.value.message  # from the rule table


def test_a_token_near_expiry_is_refreshed_before_the_call(youtube: Channel, world: World) -> None:
    store_tokens(youtube, world, expires_in=timedelta(minutes=1))
    with respx.mock(assert_all_called=True) as router:
        token = router.post(GOOGLE_TOKEN).mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": "ya29.a0-fresh-access-token-value",
                    "expires_in": 3599,
                    "scope": "https://www.googleapis.com/auth/youtube.upload "
                    "https://www.googleapis.com/auth/youtube.force-ssl",
                    "token_type": "Bearer",
                },
            )
        )
        stats = router.get(f"{Y}/videos").mock(return_value=httpx.Response(200, json={"items": []}))
        YouTubeConnector(youtube).fetch_metrics([VIDEO_ID])
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == [REFRESH]
    assert form["client_secret"] == [CLIENT_SECRET]
    assert (
        stats.calls[0].request.headers["Authorization"] == "Bearer ya29.a0-fresh-access-token-value"
    )
    connector = YouTubeConnector(youtube)
    kept = connector.tokens.stored(reload=True)
    assert kept.refresh_token == REFRESH  # Google sends no new one; the old one stays
    assert connector.uploads_playlist() == UPLOADS


def test_revoked_access_flags_the_channel_without_leaking_secrets(
    youtube: Channel, world: World, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    store_tokens(youtube, world, expires_in=timedelta(minutes=1))
    with respx.mock() as router:
        router.post(GOOGLE_TOKEN).mock(
            return_value=httpx.Response(
                400,
                json={
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            YouTubeConnector(youtube).fetch_metrics([VIDEO_ID])
    assert caught.value.permanent and caught.value.code == "reconnect_needed"
    assert "reconnect" in caught.value.message
    youtube.refresh_from_db()
    assert youtube.status == ChannelStatus.NEEDS_RECONNECT
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret not in caught.value.message


THREADS = {
    "kind": "youtube#commentThreadListResponse",
    "pageInfo": {"totalResults": 2, "resultsPerPage": 100},
    "items": [
        {
            "kind": "youtube#commentThread",
            "id": "UgzDE2tasfmrYLyNkGt4AaABAg",
            "snippet": {
                "channelId": CHANNEL_ID,
                "videoId": VIDEO_ID,
                "topLevelComment": {
                    "kind": "youtube#comment",
                    "id": "UgzDE2tasfmrYLyNkGt4AaABAg",
                    "snippet": {
                        "channelId": CHANNEL_ID,
                        "videoId": VIDEO_ID,
                        "textDisplay": "What grinder is that?",
                        "textOriginal": "What grinder is that?",
                        "authorDisplayName": "@bean_lover",
                        "authorChannelId": {"value": "UCbean"},
                        "likeCount": 2,
                        "publishedAt": "2026-11-27T09:00:00Z",
                        "updatedAt": "2026-11-27T09:00:00Z",
                    },
                },
                "canReply": True,
                "totalReplyCount": 2,
                "isPublic": True,
            },
            "replies": {
                "comments": [
                    {
                        "kind": "youtube#comment",
                        "id": "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXLqKy_Pq",
                        "snippet": {
                            "videoId": VIDEO_ID,
                            "textOriginal": "A Comandante, thanks!",
                            "parentId": "UgzDE2tasfmrYLyNkGt4AaABAg",
                            "authorDisplayName": "@acmecoffee",
                            "authorChannelId": {"value": CHANNEL_ID},
                            "publishedAt": "2026-11-27T09:05:00Z",
                        },
                    },
                    {
                        "kind": "youtube#comment",
                        "id": "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXM0000",
                        "snippet": {
                            "videoId": VIDEO_ID,
                            "textOriginal": "Same question as above",
                            "parentId": "UgzDE2tasfmrYLyNkGt4AaABAg",
                            "authorDisplayName": "@tea_person",
                            "authorChannelId": {"value": "UCtea"},
                            "publishedAt": "2026-11-27T09:10:00Z",
                        },
                    },
                ]
            },
        },
        {
            "kind": "youtube#commentThread",
            "id": "UgyOld",
            "snippet": {
                "videoId": VIDEO_ID,
                "topLevelComment": {
                    "id": "UgyOld",
                    "snippet": {
                        "textOriginal": "Seen already",
                        "authorDisplayName": "@old",
                        "authorChannelId": {"value": "UCold"},
                        "publishedAt": "2026-11-01T09:00:00Z",
                    },
                },
            },
        },
    ],
    "nextPageToken": "QURTSl9pMk",
}


def test_comments_and_replies_after_the_cursor_become_inbox_items(youtube: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        threads = router.get(f"{Y}/commentThreads").mock(
            return_value=httpx.Response(200, json=THREADS)
        )
        page = YouTubeConnector(youtube).fetch_inbox("2026-11-20T00:00:00+00:00")
    params = threads.calls[0].request.url.params
    assert params["allThreadsRelatedToChannelId"] == CHANNEL_ID
    assert params["part"] == "snippet,replies"
    assert params["order"] == "time" and params["textFormat"] == "plainText"
    assert threads.call_count == 1  # the page reached comments older than the cursor
    assert [(i.external_id, i.author_name, i.in_reply_to) for i in page.items] == [
        ("UgzDE2tasfmrYLyNkGt4AaABAg", "@bean_lover", VIDEO_ID),
        (
            "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXM0000",
            "@tea_person",
            "UgzDE2tasfmrYLyNkGt4AaABAg",
        ),
    ]
    assert page.items[0].text == "What grinder is that?"
    assert page.cursor == "2026-11-27T09:10:00+00:00"


def test_reply_hide_and_delete(youtube: Channel) -> None:
    reply_item = InboundItem(
        "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXM0000",
        "comment",
        "Same question as above",
        "UCtea",
        "@tea_person",
        timezone.now(),
        raw={"parentId": "UgzDE2tasfmrYLyNkGt4AaABAg", "videoId": VIDEO_ID},
    )
    with respx.mock(assert_all_called=True) as router:
        insert = router.post(f"{Y}/comments").mock(
            return_value=httpx.Response(
                200,
                json={
                    "kind": "youtube#comment",
                    "id": "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXNew",
                    "snippet": {
                        "parentId": "UgzDE2tasfmrYLyNkGt4AaABAg",
                        "textOriginal": "A Comandante!",
                    },
                },
            )
        )
        moderate = router.post(f"{Y}/comments/setModerationStatus").mock(
            return_value=httpx.Response(204)
        )
        remove = router.delete(f"{Y}/videos").mock(return_value=httpx.Response(204))
        connector = YouTubeConnector(youtube)
        ref = connector.reply(reply_item, "A Comandante!")
        connector.hide(reply_item)
        connector.delete(VIDEO_ID)
    assert ref.external_id == "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXNew"
    assert insert.calls[0].request.url.params["part"] == "snippet"
    assert json.loads(insert.calls[0].request.content) == {
        "snippet": {"parentId": "UgzDE2tasfmrYLyNkGt4AaABAg", "textOriginal": "A Comandante!"}
    }
    assert dict(moderate.calls[0].request.url.params) == {
        "id": "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXM0000",
        "moderationStatus": "rejected",
    }
    assert remove.calls[0].request.url.params["id"] == VIDEO_ID


def test_statistics_per_video(youtube: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        stats = router.get(f"{Y}/videos").mock(
            return_value=httpx.Response(
                200,
                json={
                    "kind": "youtube#videoListResponse",
                    "items": [
                        {
                            "kind": "youtube#video",
                            "id": VIDEO_ID,
                            "statistics": {
                                "viewCount": "1234",
                                "likeCount": "56",
                                "favoriteCount": "0",
                                "commentCount": "7",
                            },
                        }
                    ],
                },
            )
        )
        (metrics,) = YouTubeConnector(youtube).fetch_metrics([VIDEO_ID])
    assert dict(stats.calls[0].request.url.params) == {"part": "statistics", "id": VIDEO_ID}
    assert (metrics.likes, metrics.replies, metrics.impressions) == (56, 7, 1234)
    assert metrics.extra == {"views": 1234, "favorites": 0}


def test_a_short_uploads_like_a_video_and_links_to_shorts(
    youtube: Channel, clip: MediaItem
) -> None:
    with respx.mock() as router:
        router.post(UPLOAD).mock(return_value=httpx.Response(200, headers={"Location": SESSION}))
        router.put(UPLOAD).mock(
            side_effect=[incomplete(3), incomplete(7), httpx.Response(200, json=video_resource())]
        )
        ref = YouTubeConnector(youtube).publish(
            OutgoingPost(text="#Shorts pour", idempotency_key="s", placement="shorts", media=[clip])
        )
    assert ref.url == f"https://www.youtube.com/shorts/{VIDEO_ID}"


def test_a_first_comment_is_the_channels_own_top_level_comment_made_once(
    youtube: Channel,
) -> None:
    video = PublishedRef(VIDEO_ID, f"https://www.youtube.com/watch?v={VIDEO_ID}")
    thread = {
        "kind": "youtube#commentThread",
        "id": "UgxFirst",
        "snippet": {
            "channelId": CHANNEL_ID,
            "videoId": VIDEO_ID,
            "topLevelComment": {
                "kind": "youtube#comment",
                "id": "UgxFirst",
                "snippet": {
                    "channelId": CHANNEL_ID,
                    "videoId": VIDEO_ID,
                    "textOriginal": "Recipe: https://acme.example/cold-brew",
                    "authorChannelId": {"value": CHANNEL_ID},
                    "publishedAt": "2026-11-27T10:00:00Z",
                },
            },
            "canReply": True,
            "totalReplyCount": 0,
            "isPublic": True,
        },
    }
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{Y}/commentThreads").mock(
            return_value=httpx.Response(200, json=thread)
        )
        connector = YouTubeConnector(youtube)
        ref = connector.comment_on_own_post(video, "Recipe: https://acme.example/cold-brew", "v1")
        again = connector.comment_on_own_post(video, "Recipe: https://acme.example/cold-brew", "v1")
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.url.params["part"] == "snippet"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "snippet": {
            "channelId": CHANNEL_ID,
            "videoId": VIDEO_ID,
            "topLevelComment": {
                "snippet": {"textOriginal": "Recipe: https://acme.example/cold-brew"}
            },
        }
    }
    assert ref.external_id == again.external_id == "UgxFirst"
    assert ref.url == f"https://www.youtube.com/watch?v={VIDEO_ID}&lc=UgxFirst"


def test_a_video_comment_whose_answer_was_lost_is_found_not_sent_again(youtube: Channel) -> None:
    video = PublishedRef(VIDEO_ID, "")
    later = (timezone.now() + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    threads = {
        "kind": "youtube#commentThreadListResponse",
        "items": [
            {
                "id": "UgxTheirs",
                "snippet": {
                    "videoId": VIDEO_ID,
                    "topLevelComment": {
                        "id": "UgxTheirs",
                        "snippet": {
                            "textOriginal": "#coldbrew",
                            "authorChannelId": {"value": "UCbean"},
                            "publishedAt": later,
                        },
                    },
                },
            },
            {
                "id": "UgxOurs",
                "snippet": {
                    "videoId": VIDEO_ID,
                    "topLevelComment": {
                        "id": "UgxOurs",
                        "snippet": {
                            "textOriginal": "#coldbrew",
                            "authorChannelId": {"value": CHANNEL_ID},
                            "publishedAt": later,
                        },
                    },
                },
            },
        ],
    }
    with respx.mock() as router:
        send = router.post(f"{Y}/commentThreads").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{Y}/commentThreads").mock(
            return_value=httpx.Response(200, json=threads)
        )
        connector = YouTubeConnector(youtube)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(video, "#coldbrew", "v2")
        found = connector.comment_on_own_post(video, "#coldbrew", "v2")
    assert send.call_count == 1
    params = look.calls[0].request.url.params
    assert (params["videoId"], params["order"], params["part"]) == (VIDEO_ID, "time", "snippet")
    assert found.external_id == "UgxOurs"


def test_delete_comment_deletes_our_own_and_rejects_someone_elses(youtube: Channel) -> None:
    theirs = InboundItem(
        "UgzSpam0000",
        "comment",
        "cheap subs at bit.ly/x",
        "UCspam",
        "@spammer",
        timezone.now(),
        raw={"authorChannelId": {"value": "UCspam"}, "videoId": VIDEO_ID},
    )
    ours = InboundItem(
        "UgzOurs0000",
        "comment",
        "Wrong link, sorry",
        youtube.external_id,
        "@us",
        timezone.now(),
        raw={"authorChannelId": {"value": youtube.external_id}, "videoId": VIDEO_ID},
    )
    with respx.mock(assert_all_called=True) as router:
        # comments.setModerationStatus and comments.delete both answer 204 No Content.
        moderate = router.post(f"{Y}/comments/setModerationStatus").mock(
            return_value=httpx.Response(204)
        )
        remove = router.delete(f"{Y}/comments").mock(return_value=httpx.Response(204))
        connector = YouTubeConnector(youtube)
        connector.delete_comment(theirs)
        connector.delete_comment(ours)
    assert dict(moderate.calls[0].request.url.params) == {
        "id": "UgzSpam0000",
        "moderationStatus": "rejected",
    }
    assert moderate.call_count == 1
    assert dict(remove.calls[0].request.url.params) == {"id": "UgzOurs0000"}
    assert remove.call_count == 1


# --- An answer sent twice answers once (send_reply is acks_late, retried and swept) --------------

THREAD = "UgzDE2tasfmrYLyNkGt4AaABAg"


def top_comment() -> InboundItem:
    return InboundItem(
        THREAD,
        "comment",
        "Which grinder is that?",
        "UCtea",
        "@tea_person",
        timezone.now(),
        raw={"videoId": VIDEO_ID},
    )


def inserted(comment_id: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "kind": "youtube#comment",
            "etag": "hS4hB0hKz7xv3Dk0ikxwn0ZvnHo",
            "id": comment_id,
            "snippet": {"parentId": THREAD, "textOriginal": "A Comandante!"},
        },
    )


def replies(*comments: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "kind": "youtube#commentListResponse",
            "etag": "8cR6cJ3lC2rTz1nB0yM2Y1yK8h4",
            "pageInfo": {"totalResults": len(comments), "resultsPerPage": 100},
            "items": list(comments),
        },
    )


def reply_comment(comment_id: str, author: str, made: datetime) -> dict[str, Any]:
    return {
        "kind": "youtube#comment",
        "etag": "Xp0cJ3lC2rTz1nB0yM2Y1yK8h4",
        "id": comment_id,
        "snippet": {
            "channelId": CHANNEL_ID,
            "textDisplay": "A Comandante!",
            "textOriginal": "A Comandante!",
            "parentId": THREAD,
            "authorChannelId": {"value": author},
            "publishedAt": made.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updatedAt": made.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def test_an_answer_is_sent_once_and_a_resend_after_its_answer_posts_nothing(
    youtube: Channel,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        insert = router.post(f"{Y}/comments").mock(return_value=inserted(f"{THREAD}.9iPXNew1"))
        look = router.get(f"{Y}/comments")
        first = YouTubeConnector(youtube).reply(top_comment(), "A Comandante!")
        again = YouTubeConnector(youtube).reply(top_comment(), "A Comandante!")
    assert insert.call_count == 1 and look.call_count == 0
    assert first.external_id == again.external_id == f"{THREAD}.9iPXNew1"


def test_an_answer_whose_insert_timed_out_is_found_among_the_threads_replies(
    youtube: Channel,
) -> None:
    soon = timezone.now() + timedelta(seconds=3)
    with respx.mock() as router:
        insert = router.post(f"{Y}/comments").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{Y}/comments").mock(
            return_value=replies(
                reply_comment(f"{THREAD}.9iPXOther", "UCtea", soon),
                reply_comment(f"{THREAD}.9iPXNew2", CHANNEL_ID, soon),
            )
        )
        with pytest.raises(OutcomeUnknown):
            YouTubeConnector(youtube).reply(top_comment(), "A Comandante!")
        found = YouTubeConnector(youtube).reply(top_comment(), "A Comandante!")
    assert insert.call_count == 1 and look.call_count == 1
    assert found.external_id == f"{THREAD}.9iPXNew2"
    params = look.calls[0].request.url.params
    assert (params["parentId"], params["part"]) == (THREAD, "snippet")


def test_an_answer_that_never_arrived_is_posted_once_more(youtube: Channel) -> None:
    with respx.mock() as router:
        insert = router.post(f"{Y}/comments").mock(
            side_effect=[httpx.ReadTimeout("slow"), inserted(f"{THREAD}.9iPXNew3")]
        )
        router.get(f"{Y}/comments").mock(
            # The channel said the same last week: not this attempt.
            return_value=replies(
                reply_comment(f"{THREAD}.9iPXOld", CHANNEL_ID, timezone.now() - timedelta(days=7))
            )
        )
        with pytest.raises(OutcomeUnknown):
            YouTubeConnector(youtube).reply(top_comment(), "A Comandante!")
        sent = YouTubeConnector(youtube).reply(top_comment(), "A Comandante!")
    assert insert.call_count == 2 and sent.external_id == f"{THREAD}.9iPXNew3"
