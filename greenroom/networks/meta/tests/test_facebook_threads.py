"""Facebook Pages and Threads, against request and response pairs from Meta's documentation:

- Pages API posts (POST /{page-id}/feed -> {"id": "{page-id}_{post-id}"}, /photos with url and
  published=false, attached_media, DELETE): https://developers.facebook.com/docs/pages-api/posts
- Page photos (-> {"id", "post_id"}): https://developers.facebook.com/docs/graph-api/reference/page/photos/
- Reels Publishing API (upload_phase start/finish, rupload.facebook.com with file_url, status
  video_status): https://developers.facebook.com/docs/video-api/guides/reels-publishing
- Comments (POST /{object-id}/comments with message -> {"id"}; GET /{object-id}/comments with
  fields, order=reverse_chronological; is_hidden): https://developers.facebook.com/docs/pages-api/comments-mentions,
  https://developers.facebook.com/docs/graph-api/reference/object/comments/
- Threads posts (media_type TEXT/IMAGE/VIDEO/CAROUSEL, is_carousel_item, threads_publish):
  https://developers.facebook.com/docs/threads/posts
- Threads reply management (reply_to_id, manage_reply hide; GET /{threads-user-id}/replies lists
  the profile's own replies): https://developers.facebook.com/docs/threads/reply-management
- Threads insights (views, likes, replies, reposts, quotes): https://developers.facebook.com/docs/threads/insights
- Threads long-lived tokens (th_refresh_token): https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.utils import timezone

from greenroom.core import vault
from greenroom.core.models import Channel
from greenroom.networks import network_api as api
from greenroom.networks.base import (
    InboundItem,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.meta.connector import FacebookConnector, ThreadsConnector
from greenroom.networks.meta.tests.conftest import FB, PAGE_TOKEN, TH, THREADS_TOKEN

PAGE = "1122"
USER = "1234567"
IMAGE = MediaItem(path="a.jpg", mime_type="image/jpeg", alt_text="Cup")
IMAGE2 = MediaItem(path="b.jpg", mime_type="image/jpeg")
VIDEO = MediaItem(path="reel.mp4", mime_type="video/mp4")


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=data)


def comment(external_id: str) -> InboundItem:
    return InboundItem(
        external_id=external_id,
        kind="comment",
        text="hi",
        author_handle="9",
        author_name="Jay",
        created_at=timezone.now(),
    )


# --- Facebook ------------------------------------------------------------------------------------


def test_a_text_post_goes_to_the_page_feed(facebook: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        feed = router.post(f"{FB}/{PAGE}/feed").mock(return_value=ok({"id": "1122_5566"}))
        router.get(f"{FB}/1122_5566").mock(
            return_value=ok({"permalink_url": "https://www.facebook.com/1122/posts/5566"})
        )
        ref = FacebookConnector(facebook).publish(OutgoingPost(text="Hello", idempotency_key="f"))
    assert feed.calls[0].request.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert ref.external_id == "1122_5566"
    assert ref.url == "https://www.facebook.com/1122/posts/5566"


def test_text_only_posts_use_feed_and_several_photos_are_attached(facebook: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        photos = router.post(f"{FB}/{PAGE}/photos").mock(
            side_effect=[ok({"id": "p1"}), ok({"id": "p2"})]
        )
        feed = router.post(f"{FB}/{PAGE}/feed").mock(return_value=ok({"id": "1122_7788"}))
        router.get(f"{FB}/1122_7788").mock(return_value=ok({"permalink_url": "https://fb/7788"}))
        ref = FacebookConnector(facebook).publish(
            OutgoingPost(text="Two", idempotency_key="f1", media=[IMAGE, IMAGE2])
        )
    assert form(photos.calls[0].request) == {
        "url": "https://cdn.example.com/media/a.jpg",
        "published": "false",
    }
    assert form(feed.calls[0].request) == {
        "message": "Two",
        "attached_media[0]": json.dumps({"media_fbid": "p1"}),
        "attached_media[1]": json.dumps({"media_fbid": "p2"}),
    }
    assert ref.external_id == "1122_7788"


def test_one_photo_goes_to_photos_with_its_caption(facebook: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        photos = router.post(f"{FB}/{PAGE}/photos").mock(
            return_value=ok({"id": "991", "post_id": "1122_991"})
        )
        router.get(f"{FB}/1122_991").mock(return_value=ok({"permalink_url": "https://fb/991"}))
        ref = FacebookConnector(facebook).publish(
            OutgoingPost(text="Cup", idempotency_key="f2", media=[IMAGE])
        )
    assert form(photos.calls[0].request) == {
        "url": "https://cdn.example.com/media/a.jpg",
        "message": "Cup",
    }
    assert ref.external_id == "1122_991"


def test_a_reel_is_started_uploaded_from_its_url_and_finished(facebook: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        reels = router.post(f"{FB}/{PAGE}/video_reels").mock(
            side_effect=[
                ok(
                    {
                        "video_id": "4455",
                        "upload_url": "https://rupload.facebook.com/video-upload/v23.0/4455",
                    }
                ),
                ok({"success": True}),
            ]
        )
        upload = router.post("https://rupload.facebook.com/video-upload/v23.0/4455").mock(
            return_value=ok({"success": True})
        )
        router.get(f"{FB}/4455").mock(
            side_effect=[
                ok({"status": {"video_status": "processing"}}),
                ok({"status": {"video_status": "ready"}}),
            ]
        )
        ref = FacebookConnector(facebook).publish(
            OutgoingPost(text="Pour", idempotency_key="f3", placement="reels", media=[VIDEO])
        )
    assert form(reels.calls[0].request) == {"upload_phase": "start"}
    sent = upload.calls[0].request
    assert sent.headers["Authorization"] == f"OAuth {PAGE_TOKEN}"
    assert sent.headers["file_url"] == "https://cdn.example.com/media/reel.mp4"
    assert form(reels.calls[1].request) == {
        "upload_phase": "finish",
        "video_id": "4455",
        "video_state": "PUBLISHED",
        "description": "Pour",
    }
    assert ref.external_id == "4455"


def test_page_comments_and_messages_become_inbox_items(facebook: Channel) -> None:
    posts = {
        "data": [
            {
                "id": "1122_5566",
                "comments": {
                    "data": [
                        {
                            "id": "5566_1",
                            "message": "Open on Sunday?",
                            "from": {"id": "900", "name": "Kim"},
                            "created_time": "2026-11-28T09:00:00+0000",
                        },
                        {
                            "id": "5566_2",
                            "message": "Yes!",
                            "from": {"id": PAGE, "name": "Acme"},
                            "created_time": "2026-11-28T09:01:00+0000",
                        },
                    ]
                },
            }
        ]
    }
    conversations = {
        "data": [
            {
                "id": "t_1",
                "messages": {
                    "data": [
                        {
                            "id": "m_1",
                            "message": "안녕하세요",
                            "from": {"id": "77", "name": "Min"},
                            "created_time": "2026-11-28T09:30:00+0000",
                        }
                    ]
                },
            }
        ]
    }
    with respx.mock() as router:
        router.get(f"{FB}/{PAGE}/posts").mock(return_value=ok(posts))
        router.get(f"{FB}/{PAGE}/conversations").mock(return_value=ok(conversations))
        page = FacebookConnector(facebook).fetch_inbox(None)
    assert [(i.external_id, i.kind) for i in page.items] == [("5566_1", "comment"), ("m_1", "dm")]
    assert page.items[1].text == "안녕하세요"


def test_reply_hide_and_delete_on_a_page(facebook: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        reply = router.post(f"{FB}/5566_1/comments").mock(return_value=ok({"id": "5566_9"}))
        hide = router.post(f"{FB}/5566_1").mock(return_value=ok({"success": True}))
        delete = router.delete(f"{FB}/1122_5566").mock(return_value=ok({"success": True}))
        connector = FacebookConnector(facebook)
        assert connector.reply(comment("5566_1"), "See you").external_id == "5566_9"
        connector.hide(comment("5566_1"))
        connector.delete("1122_5566")
    assert form(reply.calls[0].request) == {"message": "See you"}
    assert form(hide.calls[0].request) == {"is_hidden": "true"}
    assert delete.call_count == 1


def test_page_metrics_are_read_in_one_batch(facebook: Channel) -> None:
    with respx.mock() as router:
        route = router.get(f"{FB}/").mock(
            return_value=ok(
                {
                    "1122_1": {
                        "reactions": {"data": [], "summary": {"total_count": 40}},
                        "comments": {"data": [], "summary": {"total_count": 5}},
                        "shares": {"count": 2},
                        "id": "1122_1",
                    },
                    "1122_2": {"id": "1122_2"},
                }
            )
        )
        metrics = FacebookConnector(facebook).fetch_metrics(["1122_1", "1122_2"])
    assert route.calls[0].request.url.params["ids"] == "1122_1,1122_2"
    assert [(m.likes, m.replies, m.reposts) for m in metrics] == [(40, 5, 2), (0, 0, 0)]


# --- Threads -------------------------------------------------------------------------------------


def threads_publish_routes(
    router: respx.MockRouter, container: str = "c9"
) -> dict[str, respx.Route]:
    return {
        "create": router.post(f"{TH}/{USER}/threads").mock(return_value=ok({"id": container})),
        "status": router.get(f"{TH}/{container}").mock(
            return_value=ok({"status": "FINISHED", "id": container})
        ),
        "publish": router.post(f"{TH}/{USER}/threads_publish").mock(
            return_value=ok({"id": "1801"})
        ),
        "link": router.get(f"{TH}/1801").mock(
            return_value=ok({"permalink": "https://www.threads.net/@acme/post/Pp", "id": "1801"})
        ),
    }


def test_a_threads_text_post(threads: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        routes = threads_publish_routes(router)
        ref = ThreadsConnector(threads).publish(OutgoingPost(text="Hello 👋", idempotency_key="t"))
    create = routes["create"].calls[0].request
    assert create.headers["Authorization"] == f"Bearer {THREADS_TOKEN}"
    assert form(create) == {"media_type": "TEXT", "text": "Hello 👋"}
    assert routes["status"].calls[0].request.url.params["fields"] == "status,error_message"
    assert form(routes["publish"].calls[0].request) == {"creation_id": "c9"}
    assert ref.url == "https://www.threads.net/@acme/post/Pp"


def test_a_threads_carousel(threads: Channel) -> None:
    with respx.mock() as router:
        create = router.post(f"{TH}/{USER}/threads").mock(
            side_effect=[ok({"id": "i1"}), ok({"id": "i2"}), ok({"id": "c9"})]
        )
        for child in ("i1", "i2", "c9"):
            router.get(f"{TH}/{child}").mock(return_value=ok({"status": "FINISHED"}))
        router.post(f"{TH}/{USER}/threads_publish").mock(return_value=ok({"id": "1801"}))
        router.get(f"{TH}/1801").mock(return_value=ok({"permalink": "https://threads/p"}))
        ThreadsConnector(threads).publish(
            OutgoingPost(text="Both", idempotency_key="t2", media=[IMAGE, VIDEO])
        )
    bodies = [form(c.request) for c in create.calls]
    assert bodies[0] == {
        "is_carousel_item": "true",
        "media_type": "IMAGE",
        "image_url": "https://cdn.example.com/media/a.jpg",
        "alt_text": "Cup",
    }
    assert bodies[1]["media_type"] == "VIDEO"
    assert bodies[2] == {"media_type": "CAROUSEL", "children": "i1,i2", "text": "Both"}


def test_a_threads_reply_hide_and_delete(threads: Channel) -> None:
    with respx.mock() as router:
        routes = threads_publish_routes(router)
        hide = router.post(f"{TH}/555/manage_reply").mock(return_value=ok({"success": True}))
        delete = router.delete(f"{TH}/1801").mock(return_value=ok({"success": True}))
        connector = ThreadsConnector(threads)
        connector.reply(comment("555"), "Thanks")
        connector.hide(comment("555"))
        connector.delete("1801")
    assert form(routes["create"].calls[0].request) == {
        "media_type": "TEXT",
        "text": "Thanks",
        "reply_to_id": "555",
    }
    assert form(hide.calls[0].request) == {"hide": "true"}
    assert delete.call_count == 1


def test_threads_metrics_from_insights(threads: Channel) -> None:
    data = {
        "data": [
            {"name": "views", "period": "lifetime", "values": [{"value": 900}]},
            {"name": "likes", "period": "lifetime", "values": [{"value": 31}]},
            {"name": "replies", "period": "lifetime", "values": [{"value": 4}]},
            {"name": "reposts", "period": "lifetime", "values": [{"value": 2}]},
            {"name": "quotes", "period": "lifetime", "values": [{"value": 1}]},
        ]
    }
    with respx.mock() as router:
        route = router.get(f"{TH}/1801/insights").mock(return_value=ok(data))
        (m,) = ThreadsConnector(threads).fetch_metrics(["1801"])
    assert route.calls[0].request.url.params["metric"] == "views,likes,replies,reposts,quotes"
    assert (m.impressions, m.likes, m.replies, m.reposts, m.extra) == (900, 31, 4, 2, {"quotes": 1})


def test_a_threads_token_near_expiry_is_refreshed(threads: Channel) -> None:
    api.do_store_tokens(
        threads,
        api.StoredTokens(access_token=THREADS_TOKEN, expires_at=timezone.now() + timedelta(days=2)),
        acting_user=None,
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://graph.threads.net/refresh_access_token").mock(
            return_value=ok(
                {"access_token": "THQVJnewLongLived", "token_type": "bearer", "expires_in": 5183944}
            )
        )
        fresh = ThreadsConnector(threads).refresh_token()
    assert route.calls[0].request.url.params["grant_type"] == "th_refresh_token"
    assert fresh is not None and fresh.access_token == "THQVJnewLongLived"
    threads.refresh_from_db()
    assert threads.credentials is not None
    stored = api.decode_tokens(vault.reveal(threads.credentials))
    assert stored.access_token == "THQVJnewLongLived"
    assert stored.expires_at is not None and stored.expires_at > timezone.now() + timedelta(days=50)


# --- First comments ------------------------------------------------------------------------------


def test_a_first_comment_goes_under_the_page_post_as_the_page_once(facebook: Channel) -> None:
    post = PublishedRef("1122_5566", "https://www.facebook.com/1122/posts/5566")
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{FB}/1122_5566/comments").mock(return_value=ok({"id": "5566_42"}))
        connector = FacebookConnector(facebook)
        first = connector.comment_on_own_post(post, "#coldbrew https://acme.example/b", "v1:fc")
        again = connector.comment_on_own_post(post, "#coldbrew https://acme.example/b", "v1:fc")
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert form(request) == {"message": "#coldbrew https://acme.example/b"}
    assert first.external_id == again.external_id == "5566_42"


def test_a_page_comment_whose_answer_was_lost_is_found_not_sent_again(facebook: Channel) -> None:
    post = PublishedRef("1122_5566", "")
    later = (timezone.now() + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    comments = {
        "data": [
            # Someone else wrote the same words: not ours.
            {"id": "5566_7", "message": "#coldbrew", "from": {"id": "900"}, "created_time": later},
            {
                "id": "5566_42",
                "message": "#coldbrew",
                "from": {"id": PAGE, "name": "Acme"},
                "created_time": later,
            },
        ]
    }
    with respx.mock() as router:
        send = router.post(f"{FB}/1122_5566/comments").mock(
            side_effect=httpx.ReadTimeout("no answer")
        )
        look = router.get(f"{FB}/1122_5566/comments").mock(return_value=ok(comments))
        connector = FacebookConnector(facebook)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(post, "#coldbrew", "v2:fc")
        found = connector.comment_on_own_post(post, "#coldbrew", "v2:fc")
    assert send.call_count == 1
    assert found.external_id == "5566_42"
    params = look.calls[0].request.url.params
    assert params["fields"] == "id,message,from,created_time"
    assert params["order"] == "reverse_chronological"


def test_a_page_comment_that_never_arrived_is_sent_again(facebook: Channel) -> None:
    post = PublishedRef("1122_5566", "")
    with respx.mock() as router:
        send = router.post(f"{FB}/1122_5566/comments").mock(
            side_effect=[httpx.ReadTimeout("no answer"), ok({"id": "5566_43"})]
        )
        router.get(f"{FB}/1122_5566/comments").mock(return_value=ok({"data": []}))
        connector = FacebookConnector(facebook)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(post, "#coldbrew", "v3:fc")
        ref = connector.comment_on_own_post(post, "#coldbrew", "v3:fc")
    assert send.call_count == 2 and ref.external_id == "5566_43"


def test_a_threads_first_comment_is_a_reply_to_the_profiles_own_post(threads: Channel) -> None:
    post = PublishedRef("1700", "https://www.threads.net/@acme/post/P0")
    with respx.mock(assert_all_called=True) as router:
        routes = threads_publish_routes(router)
        connector = ThreadsConnector(threads)
        ref = connector.comment_on_own_post(post, "Link in here: https://acme.example", "v4:fc")
        again = connector.comment_on_own_post(post, "Link in here: https://acme.example", "v4:fc")
    assert form(routes["create"].calls[0].request) == {
        "media_type": "TEXT",
        "text": "Link in here: https://acme.example",
        "reply_to_id": "1700",
    }
    assert form(routes["publish"].calls[0].request) == {"creation_id": "c9"}
    assert routes["create"].call_count == 1 and routes["publish"].call_count == 1
    assert ref.external_id == again.external_id == "1801"


def test_a_threads_reply_whose_publish_answer_was_lost_is_found_among_the_replies(
    threads: Channel,
) -> None:
    post = PublishedRef("1700", "")
    later = (timezone.now() + timedelta(seconds=5)).isoformat()
    with respx.mock() as router:
        create = router.post(f"{TH}/{USER}/threads").mock(return_value=ok({"id": "c9"}))
        router.get(f"{TH}/c9").mock(
            side_effect=[ok({"status": "FINISHED"}), ok({"status": "PUBLISHED"})]
        )
        publish = router.post(f"{TH}/{USER}/threads_publish").mock(
            side_effect=httpx.ReadTimeout("no answer")
        )
        replies = router.get(f"{TH}/{USER}/replies").mock(
            return_value=ok(
                {
                    "data": [
                        {
                            "id": "1802",
                            "text": "#coldbrew",
                            "timestamp": later,
                            "permalink": "https://www.threads.net/@acme/post/P2",
                        }
                    ]
                }
            )
        )
        connector = ThreadsConnector(threads)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(post, "#coldbrew", "v5:fc")
        found = connector.comment_on_own_post(post, "#coldbrew", "v5:fc")
    assert create.call_count == 1 and publish.call_count == 1
    assert replies.calls[0].request.url.params["fields"] == "id,text,timestamp,permalink"
    assert found.external_id == "1802"
    assert found.url == "https://www.threads.net/@acme/post/P2"


def test_a_page_deletes_a_comment_on_its_post(facebook: Channel) -> None:
    # DELETE /{comment-id} with the Page token; Graph answers {"success": true}.
    with respx.mock(assert_all_called=True) as router:
        delete = router.delete(f"{FB}/5566_1").mock(return_value=ok({"success": True}))
        FacebookConnector(facebook).delete_comment(comment("5566_1"))
    request = delete.calls[0].request
    assert request.method == "DELETE"
    assert request.url.path.endswith("/5566_1")
    assert request.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"


# --- An inbox answer sent twice answers once (send_reply is acks_late, retried and swept) --------


def message(external_id: str = "m_in1") -> InboundItem:
    return InboundItem(
        external_id=external_id,
        kind="dm",
        text="Are you open?",
        author_handle="6789012345",
        author_name="Jay",
        created_at=timezone.now(),
        thread_id="t_100",
    )


def page_comments(*rows: dict[str, Any]) -> httpx.Response:
    return ok({"data": list(rows), "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}})


def conversation(*messages: dict[str, Any]) -> httpx.Response:
    return ok({"data": [{"messages": {"data": list(messages)}, "id": "t_100"}]})


def fb_time(seconds: int) -> str:
    return (timezone.now() + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def test_a_page_reply_is_sent_once_and_a_resend_after_its_answer_posts_nothing(
    facebook: Channel,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        send = router.post(f"{FB}/5566_1/comments").mock(return_value=ok({"id": "5566_9"}))
        look = router.get(f"{FB}/5566_1/comments")
        first = FacebookConnector(facebook).reply(comment("5566_1"), "See you at 9")
        again = FacebookConnector(facebook).reply(comment("5566_1"), "See you at 9")
    assert send.call_count == 1 and look.call_count == 0
    assert form(send.calls[0].request) == {"message": "See you at 9"}
    assert first.external_id == again.external_id == "5566_9"


def test_a_page_reply_whose_answer_timed_out_is_found_not_posted_again(
    facebook: Channel,
) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/5566_1/comments").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{FB}/5566_1/comments").mock(
            return_value=page_comments(
                # The customer quoting us is not our answer.
                {
                    "id": "5566_8",
                    "message": "See you at 9",
                    "from": {"id": "900"},
                    "created_time": fb_time(3),
                },
                {
                    "id": "5566_10",
                    "message": "See you at 9",
                    "from": {"id": PAGE, "name": "Acme"},
                    "created_time": fb_time(2),
                },
            )
        )
        with pytest.raises(OutcomeUnknown):
            FacebookConnector(facebook).reply(comment("5566_1"), "See you at 9")
        found = FacebookConnector(facebook).reply(comment("5566_1"), "See you at 9")
    assert send.call_count == 1 and look.call_count == 1
    assert found.external_id == "5566_10"
    assert look.calls[0].request.url.params["fields"] == "id,message,from,created_time"


def test_a_page_reply_that_never_arrived_is_posted_once_more(facebook: Channel) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/5566_1/comments").mock(
            side_effect=[httpx.ReadTimeout("slow"), ok({"id": "5566_11"})]
        )
        look = router.get(f"{FB}/5566_1/comments").mock(
            return_value=page_comments(
                # The Page said the same a day ago: not this attempt.
                {
                    "id": "5566_2",
                    "message": "See you at 9",
                    "from": {"id": PAGE, "name": "Acme"},
                    "created_time": fb_time(-86400),
                }
            )
        )
        with pytest.raises(OutcomeUnknown):
            FacebookConnector(facebook).reply(comment("5566_1"), "See you at 9")
        sent = FacebookConnector(facebook).reply(comment("5566_1"), "See you at 9")
    assert send.call_count == 2 and look.call_count == 1
    assert sent.external_id == "5566_11"


def test_a_messenger_answer_is_sent_once_and_a_resend_sends_nothing(facebook: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        send = router.post(f"{FB}/{PAGE}/messages").mock(
            return_value=ok({"recipient_id": "6789012345", "message_id": "m_out1"})
        )
        look = router.get(f"{FB}/{PAGE}/conversations")
        first = FacebookConnector(facebook).reply(message(), "Yes, till 6")
        again = FacebookConnector(facebook).reply(message(), "Yes, till 6")
    assert send.call_count == 1 and look.call_count == 0
    body = form(send.calls[0].request)
    assert json.loads(body["recipient"]) == {"id": "6789012345"}
    assert json.loads(body["message"]) == {"text": "Yes, till 6"}
    assert body["messaging_type"] == "RESPONSE"
    assert first.external_id == again.external_id == "m_out1"


def test_a_messenger_answer_that_timed_out_is_found_in_the_conversation(
    facebook: Channel,
) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/{PAGE}/messages").mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(f"{FB}/{PAGE}/conversations").mock(
            return_value=conversation(
                {
                    "id": "m_out2",
                    "message": "Yes, till 6",
                    "from": {"name": "Acme", "id": PAGE},
                    "created_time": fb_time(2),
                },
                {
                    "id": "m_in1",
                    "message": "Are you open?",
                    "from": {"name": "Jay", "id": "6789012345"},
                    "created_time": fb_time(-60),
                },
            )
        )
        with pytest.raises(OutcomeUnknown):
            FacebookConnector(facebook).reply(message(), "Yes, till 6")
        found = FacebookConnector(facebook).reply(message(), "Yes, till 6")
    assert send.call_count == 1 and look.call_count == 1
    assert found.external_id == "m_out2"
    assert look.calls[0].request.url.params["user_id"] == "6789012345"


def test_a_messenger_answer_that_never_arrived_is_sent_once_more(facebook: Channel) -> None:
    with respx.mock() as router:
        send = router.post(f"{FB}/{PAGE}/messages").mock(
            side_effect=[
                httpx.ReadTimeout("slow"),
                ok({"recipient_id": "6789012345", "message_id": "m_out3"}),
            ]
        )
        router.get(f"{FB}/{PAGE}/conversations").mock(
            return_value=conversation(
                {
                    "id": "m_in1",
                    "message": "Yes, till 6",
                    "from": {"name": "Jay", "id": "6789012345"},
                    "created_time": fb_time(2),
                }
            )
        )
        with pytest.raises(OutcomeUnknown):
            FacebookConnector(facebook).reply(message(), "Yes, till 6")
        sent = FacebookConnector(facebook).reply(message(), "Yes, till 6")
    assert send.call_count == 2 and sent.external_id == "m_out3"


def test_a_threads_answer_sent_twice_is_published_once(threads: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        routes = threads_publish_routes(router)
        first = ThreadsConnector(threads).reply(comment("555"), "Thanks!")
        again = ThreadsConnector(threads).reply(comment("555"), "Thanks!")
    assert form(routes["create"].calls[0].request) == {
        "media_type": "TEXT",
        "text": "Thanks!",
        "reply_to_id": "555",
    }
    assert routes["create"].call_count == 1 and routes["publish"].call_count == 1
    assert first.external_id == again.external_id == "1801"
