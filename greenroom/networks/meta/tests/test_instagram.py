"""Instagram through the Graph API (Instagram API with Facebook Login), against request and
response pairs from Meta's documentation:

- Content publishing guide (containers, carousels, Reels, Stories, media_publish, status_code):
  https://developers.facebook.com/docs/instagram-platform/content-publishing
- IG Container reference (status_code FINISHED / IN_PROGRESS / ERROR / EXPIRED / PUBLISHED):
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
- IG User media reference (image_url, video_url, media_type, is_carousel_item, children, alt_text):
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
- Error codes (36003 / 2207009 aspect ratio, with its error_user_msg; 190 token; 4 throttling):
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes
- Rate limiting (X-Business-Use-Case-Usage, estimated_time_to_regain_access in minutes):
  https://developers.facebook.com/docs/graph-api/overview/rate-limiting
- Comment moderation (replies, hide; POST /{ig-media-id}/comments with message -> {"id"}, GET
  /{ig-media-id}/comments with id,text,timestamp,username,from):
  https://developers.facebook.com/docs/instagram-platform/comment-moderation,
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments
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
from django.utils import timezone

from greenroom.core.models import Channel, ChannelStatus
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.meta.connector import InstagramConnector
from greenroom.networks.meta.tests.conftest import FB, PAGE_TOKEN

IG = "17841405822304914"
CONTAINER = "17889455560051444"
MEDIA = "17920238422030506"
IMAGE = MediaItem(path="posts/latte.jpg", mime_type="image/jpeg", alt_text="A latte")
VIDEO = MediaItem(path="posts/pour.mp4", mime_type="video/mp4")


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=data)


def routes_for_publish(router: respx.MockRouter) -> dict[str, respx.Route]:
    return {
        "create": router.post(f"{FB}/{IG}/media").mock(return_value=ok({"id": CONTAINER})),
        "status": router.get(f"{FB}/{CONTAINER}").mock(
            side_effect=[
                ok({"status_code": "IN_PROGRESS", "id": CONTAINER}),
                ok({"status_code": "FINISHED", "id": CONTAINER}),
            ]
        ),
        "publish": router.post(f"{FB}/{IG}/media_publish").mock(return_value=ok({"id": MEDIA})),
        "permalink": router.get(f"{FB}/{MEDIA}").mock(
            return_value=ok({"permalink": "https://www.instagram.com/p/C1aBcDeF/", "id": MEDIA})
        ),
    }


def test_a_feed_image_is_published_through_a_container(instagram: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        routes = routes_for_publish(router)
        ref = InstagramConnector(instagram).publish(
            OutgoingPost(text="Oat latte is back ☕", idempotency_key="k1", media=[IMAGE])
        )
    assert ref.external_id == MEDIA
    assert ref.url == "https://www.instagram.com/p/C1aBcDeF/"
    create = routes["create"].calls[0].request
    assert create.method == "POST"
    assert create.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert PAGE_TOKEN not in str(create.url)
    assert form(create) == {
        "image_url": "https://cdn.example.com/media/posts/latte.jpg",
        "alt_text": "A latte",
        "caption": "Oat latte is back ☕",
    }
    assert routes["status"].calls[0].request.url.params["fields"] == "status_code,status"
    assert routes["status"].call_count == 2  # polled until FINISHED
    assert form(routes["publish"].calls[0].request) == {"creation_id": CONTAINER}
    assert routes["permalink"].calls[0].request.url.params["fields"] == "permalink"


def test_a_carousel_makes_children_then_a_parent(instagram: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        create = router.post(f"{FB}/{IG}/media").mock(
            side_effect=[ok({"id": "c1"}), ok({"id": "c2"}), ok({"id": CONTAINER})]
        )
        router.get(f"{FB}/c1").mock(return_value=ok({"status_code": "FINISHED"}))
        router.get(f"{FB}/c2").mock(return_value=ok({"status_code": "FINISHED"}))
        router.get(f"{FB}/{CONTAINER}").mock(return_value=ok({"status_code": "FINISHED"}))
        router.post(f"{FB}/{IG}/media_publish").mock(return_value=ok({"id": MEDIA}))
        router.get(f"{FB}/{MEDIA}").mock(return_value=ok({"permalink": "https://ig/p/1"}))
        InstagramConnector(instagram).publish(
            OutgoingPost(
                text="Two cups", idempotency_key="k2", placement="carousel", media=[IMAGE, VIDEO]
            )
        )
    bodies = [form(call.request) for call in create.calls]
    assert bodies[0] == {
        "is_carousel_item": "true",
        "image_url": "https://cdn.example.com/media/posts/latte.jpg",
    }
    assert bodies[1] == {
        "is_carousel_item": "true",
        "media_type": "VIDEO",
        "video_url": "https://cdn.example.com/media/posts/pour.mp4",
    }
    assert bodies[2] == {"media_type": "CAROUSEL", "children": "c1,c2", "caption": "Two cups"}


@pytest.mark.parametrize(
    ("placement", "media", "expected"),
    [
        (
            "reels",
            VIDEO,
            {
                "media_type": "REELS",
                "video_url": "https://cdn.example.com/media/posts/pour.mp4",
                "caption": "Pour",
            },
        ),
        (
            "stories",
            IMAGE,
            {"media_type": "STORIES", "image_url": "https://cdn.example.com/media/posts/latte.jpg"},
        ),
    ],
)
def test_reels_and_stories_use_their_media_type(
    instagram: Channel, placement: str, media: MediaItem, expected: dict[str, str]
) -> None:
    with respx.mock() as router:
        routes = routes_for_publish(router)
        InstagramConnector(instagram).publish(
            OutgoingPost(text="Pour", idempotency_key=placement, placement=placement, media=[media])
        )
    assert form(routes["create"].calls[0].request) == expected


def test_an_aspect_ratio_error_says_which_shapes_fit(instagram: Channel) -> None:
    error = {
        "error": {
            "message": "The aspect ratio is not supported.",
            "type": "OAuthException",
            "code": 36003,
            "error_subcode": 2207009,
            "is_transient": False,
            "error_user_title": "Unsupported Aspect Ratio",
            "error_user_msg": "The submitted image with aspect ratio ('2', '1') cannot be "
            "published. Please submit an image with a valid aspect ratio.",
            "fbtrace_id": "AbCdEf",
        }
    }
    with respx.mock() as router:
        router.post(f"{FB}/{IG}/media").mock(return_value=httpx.Response(400, json=error))
        with pytest.raises(ConnectorError) as caught:
            InstagramConnector(instagram).publish(
                OutgoingPost(text="Wide", idempotency_key="k3", media=[IMAGE])
            )
    assert caught.value.permanent
    assert caught.value.code == "36003/2207009"
    assert caught.value.message == (
        "Instagram: aspect ratio 2:1 is outside 4:5 to 1.91:1 - pick the 4:5 rendition."
    )


def test_an_expired_token_asks_the_owner_to_reconnect(instagram: Channel, caplog) -> None:
    error = {
        "error": {
            "message": "Error validating access token: Session has expired on Tuesday.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "H2il2t5bn4e",
        }
    }
    caplog.set_level(logging.DEBUG)
    with respx.mock() as router:
        router.post(f"{FB}/{IG}/media").mock(return_value=httpx.Response(400, json=error))
        with pytest.raises(ConnectorError) as caught:
            InstagramConnector(instagram).publish(
                OutgoingPost(text="Hi", idempotency_key="k4", media=[IMAGE])
            )
    assert caught.value.permanent
    assert caught.value.code == "reconnect_needed"
    assert "reconnect" in caught.value.message
    instagram.refresh_from_db()
    assert instagram.status == ChannelStatus.NEEDS_RECONNECT
    assert PAGE_TOKEN not in caplog.text
    assert PAGE_TOKEN not in caught.value.message


def test_throttling_waits_as_long_as_meta_says(instagram: Channel) -> None:
    usage = {IG: [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    with respx.mock() as router:
        router.post(f"{FB}/{IG}/media").mock(
            return_value=httpx.Response(
                400,
                json={"error": {"message": "(#4) Application request limit reached", "code": 4}},
                headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            )
        )
        with pytest.raises(ConnectorError) as caught:
            InstagramConnector(instagram).publish(
                OutgoingPost(text="Hi", idempotency_key="k5", media=[IMAGE])
            )
    assert not caught.value.permanent
    assert caught.value.retry_after == 7 * 60


def test_an_unknown_outcome_is_found_and_never_published_twice(instagram: Channel) -> None:
    post = OutgoingPost(text="Only once", idempotency_key="k6", media=[IMAGE])
    with respx.mock() as router:
        create = router.post(f"{FB}/{IG}/media").mock(return_value=ok({"id": CONTAINER}))
        router.get(f"{FB}/{CONTAINER}").mock(return_value=ok({"status_code": "FINISHED"}))
        router.post(f"{FB}/{IG}/media_publish").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(OutcomeUnknown):
            InstagramConnector(instagram).publish(post)
        # Meta did publish it: it is the newest media, with the same caption.
        recent = router.get(f"{FB}/{IG}/media").mock(
            return_value=ok(
                {
                    "data": [
                        {
                            "id": MEDIA,
                            "caption": "Only once",
                            "timestamp": "2099-01-01T00:00:00+0000",
                            "permalink": "https://www.instagram.com/p/Once/",
                        }
                    ]
                }
            )
        )
        found = InstagramConnector(instagram).find_published("k6")
    assert found is not None and found.external_id == MEDIA
    assert found.url == "https://www.instagram.com/p/Once/"
    assert recent.calls[0].request.url.params["fields"] == "id,caption,timestamp,permalink"
    assert create.call_count == 1


def test_a_retry_after_a_lost_publish_reuses_the_finished_container(instagram: Channel) -> None:
    post = OutgoingPost(text="Again", idempotency_key="k7", media=[IMAGE])
    with respx.mock() as router:
        create = router.post(f"{FB}/{IG}/media").mock(return_value=ok({"id": CONTAINER}))
        router.get(f"{FB}/{CONTAINER}").mock(return_value=ok({"status_code": "FINISHED"}))
        publish = router.post(f"{FB}/{IG}/media_publish").mock(
            side_effect=[httpx.Response(500, json={"error": {"code": 2}}), ok({"id": MEDIA})]
        )
        router.get(f"{FB}/{MEDIA}").mock(return_value=ok({"permalink": "https://ig/p/2"}))
        with pytest.raises(ConnectorError) as caught:
            InstagramConnector(instagram).publish(post)
        assert not caught.value.permanent
        ref = InstagramConnector(instagram).publish(post)
    assert ref.external_id == MEDIA
    assert create.call_count == 1
    assert publish.call_count == 2


def test_find_published_says_not_found_without_a_record(instagram: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        anything = router.route()
        assert InstagramConnector(instagram).find_published("never-sent") is None
    assert anything.call_count == 0


def test_comments_since_the_cursor_become_inbox_items(instagram: Channel) -> None:
    media = {
        "data": [
            {
                "id": "17895695668004550",
                "comments": {
                    "data": [
                        {
                            "id": "17858893269000001",
                            "text": "Love this <script>",
                            "timestamp": "2026-11-28T10:00:00+0000",
                            "username": "jay",
                            "from": {"id": "1788", "username": "jay"},
                        },
                        {
                            "id": "17858893269000002",
                            "text": "Thanks!",
                            "timestamp": "2026-11-28T10:05:00+0000",
                            "username": "acme.instagram",
                            "from": {"id": IG, "username": "acme.instagram"},
                        },
                        {
                            "id": "17858893269000000",
                            "text": "old",
                            "timestamp": "2026-11-27T10:00:00+0000",
                            "username": "kim",
                        },
                    ]
                },
            }
        ]
    }
    with respx.mock() as router:
        route = router.get(f"{FB}/{IG}/media").mock(return_value=ok(media))
        page = InstagramConnector(instagram).fetch_inbox("2026-11-28T00:00:00+00:00")
    assert [i.external_id for i in page.items] == ["17858893269000001"]
    item = page.items[0]
    assert item.text == "Love this <script>"
    assert item.author_handle == "jay"
    assert item.in_reply_to == "17895695668004550"
    assert page.cursor == "2026-11-28T10:00:00+00:00"
    assert "comments.limit(50)" in route.calls[0].request.url.params["fields"]


def test_reply_and_hide_a_comment(instagram: Channel) -> None:
    item = InboundItem(
        external_id="17858893269000001",
        kind="comment",
        text="Love this",
        author_handle="jay",
        author_name="jay",
        created_at=timezone.now(),
    )
    with respx.mock(assert_all_called=True) as router:
        reply = router.post(f"{FB}/17858893269000001/replies").mock(
            return_value=ok({"id": "17873440459141021"})
        )
        hide = router.post(f"{FB}/17858893269000001").mock(return_value=ok({"success": True}))
        ref = InstagramConnector(instagram).reply(item, "Thank you!")
        InstagramConnector(instagram).hide(item)
    assert ref.external_id == "17873440459141021"
    assert form(reply.calls[0].request) == {"message": "Thank you!"}
    assert form(hide.calls[0].request) == {"hide": "true"}


def test_metrics_read_fields_and_insights(instagram: Channel) -> None:
    with respx.mock() as router:
        router.get(f"{FB}/{MEDIA}").mock(return_value=ok({"like_count": 12, "comments_count": 3}))
        insights = router.get(f"{FB}/{MEDIA}/insights").mock(
            return_value=ok(
                {
                    "data": [
                        {"name": "views", "period": "lifetime", "values": [{"value": 560}]},
                        {"name": "reach", "period": "lifetime", "values": [{"value": 410}]},
                        {"name": "saved", "period": "lifetime", "values": [{"value": 9}]},
                        {"name": "shares", "period": "lifetime", "values": [{"value": 4}]},
                    ]
                }
            )
        )
        (metrics,) = InstagramConnector(instagram).fetch_metrics([MEDIA])
    assert (metrics.likes, metrics.replies, metrics.reposts, metrics.impressions) == (12, 3, 4, 560)
    assert metrics.extra == {"reach": 410, "saved": 9}
    assert insights.calls[0].request.url.params["metric"] == "views,reach,saved,shares"


def test_deleting_a_post_is_refused_in_plain_words(instagram: Channel) -> None:
    with pytest.raises(ConnectorError) as caught:
        InstagramConnector(instagram).delete(MEDIA)
    assert "Instagram app" in caught.value.message


def test_a_first_comment_goes_under_the_accounts_own_media_once(instagram: Channel) -> None:
    post = PublishedRef(MEDIA, "https://www.instagram.com/p/Once/")
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{FB}/{MEDIA}/comments").mock(
            return_value=ok({"id": "17870913679156914"})
        )
        connector = InstagramConnector(instagram)
        first = connector.comment_on_own_post(post, "#latte #오늘의커피", "v1:first-comment")
        again = connector.comment_on_own_post(post, "#latte #오늘의커피", "v1:first-comment")
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert form(request) == {"message": "#latte #오늘의커피"}
    assert first.external_id == again.external_id == "17870913679156914"


def test_a_media_comment_whose_answer_was_lost_is_found_not_sent_again(
    instagram: Channel,
) -> None:
    post = PublishedRef(MEDIA, "")
    later = (timezone.now() + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    comments = {
        "data": [
            {
                "id": "17858893269000009",
                "text": "#latte",
                "timestamp": "2020-01-01T00:00:00+0000",
                "username": "acme.instagram",
            },
            {"id": "17858893269000010", "text": "#latte", "timestamp": later, "username": "jay"},
            {
                "id": "17870913679156914",
                "text": "#latte",
                "timestamp": later,
                "username": "acme.instagram",
                "from": {"id": IG, "username": "acme.instagram"},
            },
        ]
    }
    with respx.mock() as router:
        send = router.post(f"{FB}/{MEDIA}/comments").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{FB}/{MEDIA}/comments").mock(return_value=ok(comments))
        connector = InstagramConnector(instagram)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(post, "#latte", "v2:first-comment")
        found = connector.comment_on_own_post(post, "#latte", "v2:first-comment")
    # The older comment with the same words came before this attempt; jay's is not ours.
    assert found.external_id == "17870913679156914"
    assert send.call_count == 1
    assert look.calls[0].request.url.params["fields"] == "id,text,timestamp,username,from"


def test_delete_a_comment_on_the_accounts_media(instagram: Channel) -> None:
    item = InboundItem(
        external_id="17858893269000001",
        kind="comment",
        text="Buy followers at bit.ly/x",
        author_handle="spam",
        author_name="spam",
        created_at=timezone.now(),
    )
    # DELETE /{ig-comment-id}; Graph answers {"success": true}.
    with respx.mock(assert_all_called=True) as router:
        delete = router.delete(f"{FB}/17858893269000001").mock(return_value=ok({"success": True}))
        InstagramConnector(instagram).delete_comment(item)
    assert delete.call_count == 1
    assert delete.calls[0].request.content == b""


# --- An inbox answer sent twice answers once (send_reply is acks_late, retried and swept) --------

COMMENT = "17858893269000001"


def ig_comment() -> InboundItem:
    return InboundItem(COMMENT, "comment", "Love this", "jay", "jay", timezone.now())


def ig_dm() -> InboundItem:
    return InboundItem(
        "aWdfZAG06MTpJR01lc3NhZA", "dm", "Open?", "1254459154682919", "", timezone.now()
    )


def ig_time(seconds: int) -> str:
    return (timezone.now() + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def ig_replies(*rows: dict[str, Any]) -> httpx.Response:
    return ok({"data": list(rows)})


def test_an_instagram_reply_is_sent_once_and_a_resend_posts_nothing(instagram: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        send = router.post(f"{FB}/{COMMENT}/replies").mock(
            return_value=ok({"id": "17873440459141021"})
        )
        look = router.get(f"{FB}/{COMMENT}/replies")
        first = InstagramConnector(instagram).reply(ig_comment(), "Thank you!")
        again = InstagramConnector(instagram).reply(ig_comment(), "Thank you!")
    assert send.call_count == 1 and look.call_count == 0
    assert first.external_id == again.external_id == "17873440459141021"


def test_an_instagram_reply_that_timed_out_is_found_among_the_replies(
    instagram: Channel,
) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/{COMMENT}/replies").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{FB}/{COMMENT}/replies").mock(
            return_value=ig_replies(
                {
                    "id": "17873440459141022",
                    "text": "Thank you!",
                    "timestamp": ig_time(1),
                    "username": "someone_else",
                    "from": {"id": "17841400000000000", "username": "someone_else"},
                },
                {
                    "id": "17873440459141023",
                    "text": "Thank you!",
                    "timestamp": ig_time(2),
                    "username": "acme.instagram",
                    "from": {"id": IG, "username": "acme.instagram"},
                },
            )
        )
        with pytest.raises(OutcomeUnknown):
            InstagramConnector(instagram).reply(ig_comment(), "Thank you!")
        found = InstagramConnector(instagram).reply(ig_comment(), "Thank you!")
    assert send.call_count == 1 and look.call_count == 1
    assert found.external_id == "17873440459141023"
    assert look.calls[0].request.url.params["fields"] == "id,text,timestamp,username,from"


def test_an_instagram_reply_that_never_arrived_is_posted_once_more(instagram: Channel) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/{COMMENT}/replies").mock(
            side_effect=[httpx.ReadTimeout("slow"), ok({"id": "17873440459141024"})]
        )
        router.get(f"{FB}/{COMMENT}/replies").mock(return_value=ig_replies())
        with pytest.raises(OutcomeUnknown):
            InstagramConnector(instagram).reply(ig_comment(), "Thank you!")
        sent = InstagramConnector(instagram).reply(ig_comment(), "Thank you!")
    assert send.call_count == 2 and sent.external_id == "17873440459141024"


def ig_conversation(*messages: dict[str, Any]) -> httpx.Response:
    return ok({"data": [{"messages": {"data": list(messages)}, "id": "aWdfZAG06MTpJR01lc3"}]})


def test_an_instagram_dm_is_sent_once_and_a_resend_sends_nothing(instagram: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        send = router.post(f"{FB}/1122/messages").mock(
            return_value=ok({"recipient_id": "1254459154682919", "message_id": "aWdfZAG1"})
        )
        look = router.get(f"{FB}/1122/conversations")
        first = InstagramConnector(instagram).reply(ig_dm(), "Yes, till 6")
        again = InstagramConnector(instagram).reply(ig_dm(), "Yes, till 6")
    assert send.call_count == 1 and look.call_count == 0
    assert json.loads(form(send.calls[0].request)["message"]) == {"text": "Yes, till 6"}
    assert first.external_id == again.external_id == "aWdfZAG1"


def test_an_instagram_dm_that_timed_out_is_found_in_the_conversation(
    instagram: Channel,
) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/1122/messages").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{FB}/1122/conversations").mock(
            return_value=ig_conversation(
                {
                    "id": "aWdfZAG2",
                    "message": "Yes, till 6",
                    "from": {"username": "acme.instagram", "id": IG},
                    "created_time": ig_time(2),
                }
            )
        )
        with pytest.raises(OutcomeUnknown):
            InstagramConnector(instagram).reply(ig_dm(), "Yes, till 6")
        found = InstagramConnector(instagram).reply(ig_dm(), "Yes, till 6")
    assert send.call_count == 1 and found.external_id == "aWdfZAG2"
    params = look.calls[0].request.url.params
    assert (params["platform"], params["user_id"]) == ("instagram", "1254459154682919")


def test_an_instagram_dm_that_never_arrived_is_sent_once_more(instagram: Channel) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/1122/messages").mock(
            side_effect=[
                httpx.ReadTimeout("slow"),
                ok({"recipient_id": "1254459154682919", "message_id": "aWdfZAG3"}),
            ]
        )
        router.get(f"{FB}/1122/conversations").mock(
            return_value=ig_conversation(
                {
                    "id": "aWdfZAG0",
                    "message": "Yes, till 6",
                    "from": {"username": "jay", "id": "1254459154682919"},
                    "created_time": ig_time(2),
                }
            )
        )
        with pytest.raises(OutcomeUnknown):
            InstagramConnector(instagram).reply(ig_dm(), "Yes, till 6")
        sent = InstagramConnector(instagram).reply(ig_dm(), "Yes, till 6")
    assert send.call_count == 2 and sent.external_id == "aWdfZAG3"
