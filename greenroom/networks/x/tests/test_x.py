"""X (v2 API), against request and response pairs from X's documentation on docs.x.com:

- Chunked media upload (INIT / APPEND / FINALIZE / STATUS on /2/media/upload, the INIT answer
  {"data": {"id", "media_key", "expires_after_secs"}}, processing_info states):
  https://docs.x.com/x-api/media/quickstart/media-upload-chunked
- Media metadata (alt text): https://docs.x.com/x-api/media/metadata-create
- Create a post (POST /2/tweets, 201 {"data": {"id", "text", "edit_history_tweet_ids"}}):
  https://docs.x.com/x-api/posts/creation-of-a-post
- Mentions timeline (includes.users, meta.newest_id): https://docs.x.com/x-api/users/get-mentions
- DM events: https://docs.x.com/x-api/direct-messages/get-dm-events
- Hide replies (PUT /2/tweets/:id/hidden): https://docs.x.com/x-api/posts/hide-reply
- Replies (reply.in_reply_to_tweet_id on POST /2/tweets) and the user's posts timeline
  (GET /2/users/:id/tweets, replies included): https://docs.x.com/x-api/posts/creation-of-a-post,
  https://docs.x.com/x-api/users/get-posts
- Public metrics: https://docs.x.com/x-api/fundamentals/metrics
- Rate limits (429, x-rate-limit-reset) and error objects (RFC 7807 problems):
  https://docs.x.com/x-api/fundamentals/rate-limits, https://docs.x.com/x-api/fundamentals/response-codes-and-errors
- OAuth 2.0 with PKCE (Basic auth for confidential clients, refresh_token grant):
  https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
- Account Activity webhooks (CRC, x-twitter-webhooks-signature): https://docs.x.com/x-api/webhooks/introduction
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import Channel, ChannelStatus
from greenroom.inbox import actions as inbox_actions
from greenroom.inbox.models import Message
from greenroom.networks import network_api as api
from greenroom.networks.actions import do_ingest_inbound
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.models import InboundEvent
from greenroom.networks.x import connector as x

TOKEN = "VGhpcyBpcyBhbiBleGFtcGxlIGFjY2Vzcw"
REFRESH = "bWRWa3gzdnk3WHRGU1o0bmRRcTJ5VUxWX1p"
CLIENT_SECRET = "x-client-secret-abcdefghijklmnop"
CONSUMER_SECRET = "x-consumer-secret-qrstuvwxyz012345"
USER = "2244994945"
MEDIA_ID = "1880028106020515840"
A = "https://api.x.com/2"


@pytest.fixture
def channel(world: World, settings: Any, tmp_path: Any, monkeypatch: Any) -> Channel:
    settings.GREENROOM_NETWORKS = ["sandbox", "x"]
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(x, "sleep", lambda seconds: None)
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="x",
        handle="@AcmeCoffee",
        external_id=USER,
        owner=world.alice,
        acting_user=world.alice,
    )
    api.do_store_tokens(
        channel,
        api.StoredTokens(
            access_token=TOKEN,
            refresh_token=REFRESH,
            expires_at=timezone.now() + timedelta(hours=2),
            scopes=("tweet.write", "offline.access"),
        ),
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme,
        "x",
        acting_user=world.alice,
        client_id="cl13nt1d",
        client_secret=CLIENT_SECRET,
        consumer_secret=CONSUMER_SECRET,
    )
    return channel


def multipart(request: httpx.Request) -> dict[str, bytes]:
    pattern = (
        rb'name="([^"]+)"(?:; filename="[^"]*")?\r\n(?:Content-Type: [^\r]+\r\n)?\r\n(.*?)\r\n--'
    )
    return {k.decode(): v for k, v in re.findall(pattern, request.content, re.S)}


def ok(data: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def test_a_video_is_uploaded_in_chunks_then_posted(channel: Channel, monkeypatch: Any) -> None:
    monkeypatch.setattr(x, "CHUNK_BYTES", 4)
    default_storage.save("v/clip.mp4", ContentFile(b"0123456789"))
    item = MediaItem(path="v/clip.mp4", mime_type="video/mp4", alt_text="Pouring")
    with respx.mock(assert_all_called=True) as router:
        upload = router.post(f"{A}/media/upload").mock(
            side_effect=[
                ok(
                    {
                        "data": {
                            "id": MEDIA_ID,
                            "media_key": f"13_{MEDIA_ID}",
                            "expires_after_secs": 1295999,
                        }
                    }
                ),
                httpx.Response(204),
                httpx.Response(204),
                httpx.Response(204),
                ok(
                    {
                        "data": {
                            "id": MEDIA_ID,
                            "media_key": f"13_{MEDIA_ID}",
                            "size": 10,
                            "expires_after_secs": 86400,
                            "processing_info": {"state": "pending", "check_after_secs": 1},
                        }
                    }
                ),
            ]
        )
        status = router.get(f"{A}/media/upload").mock(
            side_effect=[
                ok(
                    {
                        "data": {
                            "id": MEDIA_ID,
                            "processing_info": {
                                "state": "in_progress",
                                "check_after_secs": 1,
                                "progress_percent": 40,
                            },
                        }
                    }
                ),
                ok(
                    {
                        "data": {
                            "id": MEDIA_ID,
                            "processing_info": {"state": "succeeded", "progress_percent": 100},
                        }
                    }
                ),
            ]
        )
        metadata = router.post(f"{A}/media/metadata").mock(
            return_value=ok({"data": {"associated_metadata": True}})
        )
        tweets = router.post(f"{A}/tweets").mock(
            return_value=ok(
                {
                    "data": {
                        "id": "1445880548472328192",
                        "text": "New pour",
                        "edit_history_tweet_ids": ["1445880548472328192"],
                    }
                },
                201,
            )
        )
        ref = x.XConnector(channel).publish(
            OutgoingPost(text="New pour", idempotency_key="k", media=[item])
        )
    assert ref.external_id == "1445880548472328192"
    assert ref.url == "https://x.com/AcmeCoffee/status/1445880548472328192"
    calls = [multipart(c.request) for c in upload.calls]
    assert calls[0] == {
        "command": b"INIT",
        "media_type": b"video/mp4",
        "total_bytes": b"10",
        "media_category": b"tweet_video",
    }
    assert [c["segment_index"] for c in calls[1:4]] == [b"0", b"1", b"2"]
    assert b"".join(c["media"] for c in calls[1:4]) == b"0123456789"
    assert calls[4] == {"command": b"FINALIZE", "media_id": MEDIA_ID.encode()}
    assert status.calls[0].request.url.params["command"] == "STATUS"
    assert json.loads(metadata.calls[0].request.content) == {
        "id": MEDIA_ID,
        "metadata": {"alt_text": {"text": "Pouring"}},
    }
    sent = tweets.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(sent.content) == {"text": "New pour", "media": {"media_ids": [MEDIA_ID]}}


def test_a_failed_media_processing_says_why(channel: Channel) -> None:
    default_storage.save("v/bad.mp4", ContentFile(b"xx"))
    with respx.mock() as router:
        router.post(f"{A}/media/upload").mock(
            side_effect=[
                ok({"data": {"id": MEDIA_ID}}),
                httpx.Response(204),
                ok(
                    {
                        "data": {
                            "id": MEDIA_ID,
                            "processing_info": {
                                "state": "failed",
                                "error": {
                                    "code": 1,
                                    "name": "InvalidMedia",
                                    "message": "Unsupported video format",
                                },
                            },
                        }
                    }
                ),
            ]
        )
        with pytest.raises(ConnectorError) as caught:
            x.XConnector(channel).publish(
                OutgoingPost(
                    text="t", idempotency_key="k", media=[MediaItem("v/bad.mp4", "video/mp4")]
                )
            )
    assert caught.value.permanent
    assert "Unsupported video format" in caught.value.message


def test_rate_limits_wait_until_x_resets(channel: Channel) -> None:
    reset = int(time.time()) + 600
    with respx.mock() as router:
        router.post(f"{A}/tweets").mock(
            return_value=httpx.Response(
                429,
                json={
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "type": "about:blank",
                    "status": 429,
                },
                headers={
                    "x-rate-limit-limit": "200",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(reset),
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            x.XConnector(channel).publish(OutgoingPost(text="t", idempotency_key="k"))
    assert not caught.value.permanent
    assert caught.value.retry_after is not None and 590 <= caught.value.retry_after <= 600


def test_a_duplicate_post_is_refused_in_plain_words(channel: Channel) -> None:
    with respx.mock() as router:
        router.post(f"{A}/tweets").mock(
            return_value=httpx.Response(
                403,
                json={
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            x.XConnector(channel).publish(OutgoingPost(text="same", idempotency_key="k"))
    assert caught.value.permanent and caught.value.code == "duplicate"
    assert "identical" in caught.value.message


def test_a_refused_token_is_refreshed_once_then_the_post_goes_out(channel: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        tweets = router.post(f"{A}/tweets").mock(
            side_effect=[
                httpx.Response(
                    401,
                    json={
                        "title": "Unauthorized",
                        "type": "about:blank",
                        "status": 401,
                        "detail": "Unauthorized",
                    },
                ),
                ok({"data": {"id": "1", "text": "t"}}, 201),
            ]
        )
        token = router.post(f"{A}/oauth2/token").mock(
            return_value=ok(
                {
                    "token_type": "bearer",
                    "expires_in": 7200,
                    "access_token": "bmV3LWFjY2Vzcy10b2tlbi12YWx1ZQ",
                    "scope": "tweet.write offline.access",
                    "refresh_token": "bmV3LXJlZnJlc2gtdG9rZW4tdmFsdWU",
                }
            )
        )
        x.XConnector(channel).publish(OutgoingPost(text="t", idempotency_key="k"))
    sent = token.calls[0].request
    assert (
        sent.headers["Authorization"]
        == "Basic " + base64.b64encode(f"cl13nt1d:{CLIENT_SECRET}".encode()).decode()
    )
    assert parse_qs(sent.content.decode())["grant_type"] == ["refresh_token"]
    assert parse_qs(sent.content.decode())["refresh_token"] == [REFRESH]
    assert (
        tweets.calls[1].request.headers["Authorization"] == "Bearer bmV3LWFjY2Vzcy10b2tlbi12YWx1ZQ"
    )


def test_a_revoked_connection_flags_the_channel(channel: Channel, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    with respx.mock() as router:
        router.post(f"{A}/tweets").mock(
            return_value=httpx.Response(
                401, json={"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}
            )
        )
        router.post(f"{A}/oauth2/token").mock(
            return_value=httpx.Response(
                400,
                json={
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            x.XConnector(channel).publish(OutgoingPost(text="t", idempotency_key="k"))
    assert caught.value.permanent and caught.value.code == "reconnect_needed"
    assert "reconnect" in caught.value.message
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret not in caught.value.message


def test_an_unknown_outcome_is_found_among_recent_posts(channel: Channel) -> None:
    post = OutgoingPost(text="Read more https://acme.example/menu", idempotency_key="u1")
    with respx.mock() as router:
        create = router.post(f"{A}/tweets").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ConnectorError):
            x.XConnector(channel).publish(post)
        timeline = router.get(f"{A}/users/{USER}/tweets").mock(
            return_value=ok(
                {
                    "data": [
                        {
                            "id": "99",
                            "text": "Read more https://t.co/abc123",
                            "created_at": "2099-01-01T00:00:00.000Z",
                            "edit_history_tweet_ids": ["99"],
                        }
                    ],
                    "meta": {"result_count": 1},
                }
            )
        )
        found = x.XConnector(channel).find_published("u1")
        assert x.XConnector(channel).find_published("never") is None
    assert found is not None and found.external_id == "99"
    assert timeline.calls[0].request.url.params["tweet.fields"] == "created_at"
    assert create.call_count == 1


def test_mentions_and_dms_since_the_cursor(channel: Channel) -> None:
    mentions = {
        "data": [
            {
                "author_id": "6253282",
                "created_at": "2022-10-24T19:02:43.000Z",
                "id": "1584588843218980864",
                "text": "@AcmeCoffee open today?",
                "conversation_id": "1584588843218980864",
                "edit_history_tweet_ids": ["1584588843218980864"],
            }
        ],
        "includes": {"users": [{"id": "6253282", "name": "Twitter API", "username": "TwitterAPI"}]},
        "meta": {
            "newest_id": "1584588843218980864",
            "oldest_id": "1584588843218980864",
            "result_count": 1,
        },
    }
    dms = {
        "data": [
            {
                "id": "1582838223305555972",
                "text": "Hello",
                "event_type": "MessageCreate",
                "dm_conversation_id": "1582103724607971328-2244994945",
                "created_at": "2022-10-19T20:58:00.000Z",
                "sender_id": "1582103724607971328",
            },
            {
                "id": "1582838223305555000",
                "text": "older",
                "event_type": "MessageCreate",
                "dm_conversation_id": "c",
                "created_at": "2022-10-18T20:58:00.000Z",
                "sender_id": "7",
            },
        ]
    }
    with respx.mock() as router:
        m = router.get(f"{A}/users/{USER}/mentions").mock(return_value=ok(mentions))
        router.get(f"{A}/dm_events").mock(return_value=ok(dms))
        page = x.XConnector(channel).fetch_inbox(
            json.dumps({"mentions": "1584588843218980000", "dm": "1582838223305555500"})
        )
    assert m.calls[0].request.url.params["since_id"] == "1584588843218980000"
    assert [(i.kind, i.external_id) for i in page.items] == [
        ("dm", "dm:1582838223305555972"),
        ("mention", "1584588843218980864"),
    ]
    assert page.items[1].author_handle == "TwitterAPI"
    assert json.loads(page.cursor or "") == {
        "mentions": "1584588843218980864",
        "dm": 1582838223305555972,
    }


def test_hide_reply_dm_and_metrics(channel: Channel) -> None:
    mention = InboundItem("1584588843218980864", "mention", "hi", "TwitterAPI", "", timezone.now())
    dm = InboundItem(
        "dm:1", "dm", "hi", "15821", "", timezone.now(), thread_id="1582103724607971328-2244994945"
    )
    with respx.mock(assert_all_called=True) as router:
        hidden = router.put(f"{A}/tweets/1584588843218980864/hidden").mock(
            return_value=ok({"data": {"hidden": True}})
        )
        send_dm = router.post(f"{A}/dm_conversations/1582103724607971328-2244994945/messages").mock(
            return_value=ok(
                {
                    "data": {
                        "dm_conversation_id": "1582103724607971328-2244994945",
                        "dm_event_id": "1582838223305555973",
                    }
                },
                201,
            )
        )
        metrics = router.get(f"{A}/tweets").mock(
            return_value=ok(
                {
                    "data": [
                        {
                            "id": "1",
                            "text": "t",
                            "public_metrics": {
                                "retweet_count": 2,
                                "reply_count": 3,
                                "like_count": 40,
                                "quote_count": 1,
                                "bookmark_count": 5,
                                "impression_count": 1200,
                            },
                        }
                    ]
                }
            )
        )
        connector = x.XConnector(channel)
        connector.hide(mention)
        assert connector.reply(dm, "Thanks!").external_id == "dm:1582838223305555973"
        (m,) = connector.fetch_metrics(["1"])
    assert json.loads(hidden.calls[0].request.content) == {"hidden": True}
    assert json.loads(send_dm.calls[0].request.content) == {"text": "Thanks!"}
    assert metrics.calls[0].request.url.params["tweet.fields"] == "public_metrics"
    assert (m.likes, m.reposts, m.replies, m.impressions, m.extra) == (
        40,
        2,
        3,
        1200,
        {"quotes": 1, "bookmarks": 5},
    )


def x_sign(body: bytes, secret: str = CONSUMER_SECRET) -> str:
    return (
        "sha256="
        + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    )


def test_the_crc_challenge_is_answered(channel: Channel, world: World) -> None:
    response = Client().get(f"/hooks/x/{world.acme.pk}/", {"crc_token": "challenge_string"})
    assert response.status_code == 200
    assert response.json() == {"response_token": x_sign(b"challenge_string")}
    assert CONSUMER_SECRET not in response.content.decode()


def test_signed_activity_is_stored_once_and_bad_signatures_are_refused(
    channel: Channel, world: World
) -> None:
    payload = {
        "for_user_id": USER,
        "tweet_create_events": [
            {
                "created_at": "Wed Oct 10 20:19:24 +0000 2018",
                "id_str": "1050118621198921728",
                "text": "@AcmeCoffee hello",
                "user": {"id_str": "6253282", "name": "Twitter API", "screen_name": "TwitterAPI"},
            },
            {
                "created_at": "Wed Oct 10 20:20:24 +0000 2018",
                "id_str": "1050118621198921729",
                "text": "our own",
                "user": {"id_str": USER, "screen_name": "AcmeCoffee"},
            },
        ],
        "direct_message_events": [
            {
                "type": "message_create",
                "id": "954491830116155396",
                "created_timestamp": "1516403560557",
                "message_create": {
                    "target": {"recipient_id": USER},
                    "sender_id": "3001969357",
                    "message_data": {"text": "Hello World!"},
                },
            }
        ],
    }
    body = json.dumps(payload).encode()
    url = f"/hooks/x/{world.acme.pk}/"
    client = Client()
    bad = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_sign(body, "wrong"),
    )
    assert bad.status_code == 401
    assert not InboundEvent.objects.exists()
    first = client.post(
        url, body, content_type="application/json", HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_sign(body)
    )
    again = client.post(
        url, body, content_type="application/json", HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_sign(body)
    )
    assert (first.json()["stored"], again.json()["stored"]) == (2, 0)
    assert sorted(InboundEvent.objects.values_list("external_id", flat=True)) == [
        "1050118621198921728",
        "dm:954491830116155396",
    ]
    # And the inbox reads them: X's own JSON is kept under "network".
    assert inbox_actions.do_process_inbound().unreadable == 0
    mention = Message.objects.get(channel=channel, external_id="1050118621198921728")
    assert (mention.text, mention.conversation.kind) == ("@AcmeCoffee hello", "mention")
    assert mention.raw["network"]["id_str"] == "1050118621198921728"
    dm = Message.objects.get(channel=channel, external_id="dm:954491830116155396")
    assert (dm.text, dm.author_handle, dm.conversation.kind) == ("Hello World!", "3001969357", "dm")


def test_a_first_comment_is_a_reply_to_the_accounts_own_post_sent_once(channel: Channel) -> None:
    post = PublishedRef(
        "1880000000000000001", "https://x.com/AcmeCoffee/status/1880000000000000001"
    )
    with respx.mock(assert_all_called=True) as router:
        create = router.post(f"{A}/tweets").mock(
            return_value=ok(
                {
                    "data": {
                        "id": "1880000000000000002",
                        "text": "#coldbrew https://t.co/x1",
                        "edit_history_tweet_ids": ["1880000000000000002"],
                    }
                },
                status=201,
            )
        )
        connector = x.XConnector(channel)
        ref = connector.comment_on_own_post(post, "#coldbrew https://acme.example", "v1:fc")
        again = connector.comment_on_own_post(post, "#coldbrew https://acme.example", "v1:fc")
    assert create.call_count == 1
    request = create.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "text": "#coldbrew https://acme.example",
        "reply": {"in_reply_to_tweet_id": "1880000000000000001"},
    }
    assert ref.external_id == again.external_id == "1880000000000000002"
    assert ref.url == "https://x.com/AcmeCoffee/status/1880000000000000002"


def test_a_reply_whose_answer_was_lost_is_found_not_posted_twice(channel: Channel) -> None:
    post = PublishedRef("1880000000000000001", "")
    with respx.mock() as router:
        create = router.post(f"{A}/tweets").mock(side_effect=httpx.ReadTimeout("slow"))
        timeline = router.get(f"{A}/users/{USER}/tweets").mock(
            return_value=ok(
                {
                    "data": [
                        {
                            "id": "1880000000000000003",
                            "text": "@AcmeCoffee #coldbrew https://t.co/x1",
                            "created_at": "2099-01-01T00:00:00.000Z",
                        },
                        {
                            "id": "1880000000000000002",
                            "text": "#coldbrew https://t.co/x1",
                            "created_at": "2099-01-01T00:00:00.000Z",
                        },
                    ],
                    "meta": {"result_count": 2},
                }
            )
        )
        connector = x.XConnector(channel)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(post, "#coldbrew https://acme.example", "v2:fc")
        found = connector.comment_on_own_post(post, "#coldbrew https://acme.example", "v2:fc")
    assert create.call_count == 1 and timeline.call_count == 1
    assert found.external_id == "1880000000000000002"


# --- A reply sent twice answers once (send_reply is acks_late, retried and swept) ----------------

MENTION_ID = "1584588843218980864"
CONVERSATION = "1582103724607971328-2244994945"


def mention() -> InboundItem:
    return InboundItem(MENTION_ID, "mention", "@AcmeCoffee open?", "TwitterAPI", "", timezone.now())


def dm_item() -> InboundItem:
    return InboundItem(
        "dm:1582838223305555970", "dm", "hi", "15821", "", timezone.now(), thread_id=CONVERSATION
    )


def created_post(post_id: str, text: str) -> httpx.Response:
    return ok({"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}, 201)


def created_dm(event_id: str) -> httpx.Response:
    return ok({"data": {"dm_conversation_id": CONVERSATION, "dm_event_id": event_id}}, 201)


def own_replies(*tweets: dict[str, Any]) -> httpx.Response:
    return ok({"data": list(tweets), "meta": {"result_count": len(tweets)}})


def reply_tweet(tweet_id: str, text: str, parent: str, made: str) -> dict[str, Any]:
    return {
        "id": tweet_id,
        "text": text,
        "created_at": made,
        "referenced_tweets": [{"type": "replied_to", "id": parent}],
        "edit_history_tweet_ids": [tweet_id],
    }


def test_a_reply_is_sent_once_and_a_resend_after_its_answer_posts_nothing(
    channel: Channel,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        create = router.post(f"{A}/tweets").mock(
            return_value=created_post("1880000000000000010", "@TwitterAPI Open till 6!")
        )
        timeline = router.get(f"{A}/users/{USER}/tweets")
        first = x.XConnector(channel).reply(mention(), "Open till 6!")
        again = x.XConnector(channel).reply(mention(), "Open till 6!")
    assert create.call_count == 1 and timeline.call_count == 0
    assert json.loads(create.calls[0].request.content) == {
        "text": "Open till 6!",
        "reply": {"in_reply_to_tweet_id": MENTION_ID},
    }
    assert first == again
    assert first.external_id == "1880000000000000010"


def test_a_reply_whose_answer_timed_out_is_found_on_x_not_posted_again(channel: Channel) -> None:
    with respx.mock() as router:
        create = router.post(f"{A}/tweets").mock(side_effect=httpx.ReadTimeout("slow"))
        timeline = router.get(f"{A}/users/{USER}/tweets").mock(
            return_value=own_replies(
                # X shows the answered account's handle in front, and links as t.co.
                reply_tweet(
                    "1880000000000000011",
                    "@TwitterAPI Open till 6! https://t.co/m3nu",
                    MENTION_ID,
                    "2099-01-01T00:00:00.000Z",
                )
            )
        )
        with pytest.raises(OutcomeUnknown):
            x.XConnector(channel).reply(mention(), "Open till 6! https://acme.example/menu")
        found = x.XConnector(channel).reply(mention(), "Open till 6! https://acme.example/menu")
        again = x.XConnector(channel).reply(mention(), "Open till 6! https://acme.example/menu")
    assert create.call_count == 1 and timeline.call_count == 1
    assert found.external_id == again.external_id == "1880000000000000011"
    params = timeline.calls[0].request.url.params
    assert params["tweet.fields"] == "created_at,referenced_tweets"
    assert params["start_time"].endswith("Z")


def test_a_reply_whose_answer_timed_out_and_never_arrived_is_posted_once_more(
    channel: Channel,
) -> None:
    with respx.mock() as router:
        create = router.post(f"{A}/tweets").mock(
            side_effect=[
                httpx.ReadTimeout("slow"),
                created_post("1880000000000000013", "@TwitterAPI Open till 6!"),
            ]
        )
        timeline = router.get(f"{A}/users/{USER}/tweets").mock(
            return_value=own_replies(
                # The same words to someone else, and to this mention long before: not ours.
                reply_tweet("1880000000000000012", "Open till 6!", "1", "2099-01-01T00:00:00.000Z"),
                reply_tweet(
                    "1700000000000000000", "Open till 6!", MENTION_ID, "2020-01-01T00:00:00.000Z"
                ),
            )
        )
        with pytest.raises(OutcomeUnknown):
            x.XConnector(channel).reply(mention(), "Open till 6!")
        sent = x.XConnector(channel).reply(mention(), "Open till 6!")
    assert create.call_count == 2 and timeline.call_count == 1
    assert sent.external_id == "1880000000000000013"


def test_a_refused_reply_is_sent_normally_on_the_retry(channel: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        create = router.post(f"{A}/tweets").mock(
            side_effect=[
                httpx.Response(
                    429,
                    headers={"x-rate-limit-reset": str(int(time.time()) + 60)},
                    json={
                        "title": "Too Many Requests",
                        "detail": "Too Many Requests",
                        "type": "about:blank",
                        "status": 429,
                    },
                ),
                created_post("1880000000000000014", "@TwitterAPI Open till 6!"),
            ]
        )
        timeline = router.get(f"{A}/users/{USER}/tweets")
        with pytest.raises(ConnectorError) as refused:
            x.XConnector(channel).reply(mention(), "Open till 6!")
        sent = x.XConnector(channel).reply(mention(), "Open till 6!")
    assert not refused.value.permanent
    assert create.call_count == 2 and timeline.call_count == 0
    assert sent.external_id == "1880000000000000014"


def test_a_dm_is_sent_once_and_a_resend_after_its_answer_sends_nothing(channel: Channel) -> None:
    with respx.mock(assert_all_called=False) as router:
        send = router.post(f"{A}/dm_conversations/{CONVERSATION}/messages").mock(
            return_value=created_dm("1582838223305555973")
        )
        events = router.get(f"{A}/dm_conversations/{CONVERSATION}/dm_events")
        first = x.XConnector(channel).reply(dm_item(), "Thanks!")
        again = x.XConnector(channel).reply(dm_item(), "Thanks!")
    assert send.call_count == 1 and events.call_count == 0
    assert json.loads(send.calls[0].request.content) == {"text": "Thanks!"}
    assert first.external_id == again.external_id == "dm:1582838223305555973"


def dm_events(*events: dict[str, Any]) -> httpx.Response:
    return ok({"data": list(events), "meta": {"result_count": len(events)}})


def dm_event(event_id: str, text: str, sender: str, made: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "event_type": "MessageCreate",
        "text": text,
        "sender_id": sender,
        "created_at": made,
    }


def test_a_dm_whose_answer_timed_out_is_found_in_the_conversation(channel: Channel) -> None:
    with respx.mock() as router:
        send = router.post(f"{A}/dm_conversations/{CONVERSATION}/messages").mock(
            side_effect=httpx.ReadTimeout("slow")
        )
        events = router.get(f"{A}/dm_conversations/{CONVERSATION}/dm_events").mock(
            return_value=dm_events(
                dm_event("1582838223305555974", "Thanks!", USER, "2099-01-01T00:00:00.000Z"),
                dm_event("1582838223305555970", "hi", "15821", "2099-01-01T00:00:00.000Z"),
            )
        )
        with pytest.raises(OutcomeUnknown):
            x.XConnector(channel).reply(dm_item(), "Thanks!")
        found = x.XConnector(channel).reply(dm_item(), "Thanks!")
    assert send.call_count == 1 and events.call_count == 1
    assert found.external_id == "dm:1582838223305555974"
    assert events.calls[0].request.url.params["event_types"] == "MessageCreate"


def test_a_dm_whose_answer_timed_out_and_never_arrived_is_sent_once_more(
    channel: Channel,
) -> None:
    with respx.mock() as router:
        send = router.post(f"{A}/dm_conversations/{CONVERSATION}/messages").mock(
            side_effect=[httpx.ReadTimeout("slow"), created_dm("1582838223305555975")]
        )
        events = router.get(f"{A}/dm_conversations/{CONVERSATION}/dm_events").mock(
            return_value=dm_events(
                # The customer writing the same words, and our same words a year ago.
                dm_event("1582838223305555971", "Thanks!", "15821", "2099-01-01T00:00:00.000Z"),
                dm_event("1482838223305555971", "Thanks!", USER, "2020-01-01T00:00:00.000Z"),
            )
        )
        with pytest.raises(OutcomeUnknown):
            x.XConnector(channel).reply(dm_item(), "Thanks!")
        sent = x.XConnector(channel).reply(dm_item(), "Thanks!")
    assert send.call_count == 2 and events.call_count == 1
    assert sent.external_id == "dm:1582838223305555975"


def test_a_dm_without_its_conversation_id_goes_to_the_one_to_one_conversation_once(
    channel: Channel,
) -> None:
    item = InboundItem("dm:1582838223305555976", "dm", "hi", "15821", "", timezone.now())
    with respx.mock() as router:
        send = router.post(f"{A}/dm_conversations/with/15821/messages").mock(
            side_effect=httpx.ReadTimeout("slow")
        )
        events = router.get(f"{A}/dm_conversations/with/15821/dm_events").mock(
            return_value=dm_events(
                dm_event("1582838223305555977", "Thanks!", USER, "2099-01-01T00:00:00.000Z")
            )
        )
        with pytest.raises(OutcomeUnknown):
            x.XConnector(channel).reply(item, "Thanks!")
        found = x.XConnector(channel).reply(item, "Thanks!")
    assert send.call_count == 1 and events.call_count == 1
    assert found.external_id == "dm:1582838223305555977"


def test_a_mentions_photos_reach_the_conversation(channel: Channel) -> None:
    # GET /2/users/:id/mentions with expansions=attachments.media_keys: the post names its
    # media keys, `includes.media` describes them (a video has only its preview image).
    tweet = {
        "id": "1880000000000000077",
        "text": "@AcmeCoffee the lid arrived cracked",
        "author_id": "6253282",
        "created_at": "2026-11-20T09:00:00.000Z",
        "attachments": {"media_keys": ["3_1880000000000000070", "7_1880000000000000071"]},
    }
    media = {
        "3_1880000000000000070": {
            "media_key": "3_1880000000000000070",
            "type": "photo",
            "url": "https://pbs.twimg.com/media/FhLid.jpg",
            "alt_text": "A cracked lid",
        },
        "7_1880000000000000071": {
            "media_key": "7_1880000000000000071",
            "type": "video",
            "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/FhVid.jpg",
        },
    }
    found = x.tweet_item(tweet, {"username": "TwitterAPI", "name": "Twitter API"}, media)
    assert found is not None
    do_ingest_inbound(channel, [found], source="poll")
    assert inbox_actions.do_process_inbound().unreadable == 0
    message = Message.objects.get(channel=channel, external_id="1880000000000000077")
    assert message.attachment_links == [
        {"type": "photo", "url": "https://pbs.twimg.com/media/FhLid.jpg", "alt": "A cracked lid"},
        {
            "type": "video",
            "url": "https://pbs.twimg.com/ext_tw_video_thumb/FhVid.jpg",
            "alt": "",
        },
    ]
