"""A Facebook Page's inbox end to end: a poll lands a comment on the Page's post, a reply under
it and a Messenger message; the inbox reads them into conversations; the agent's answers, a
hide and a delete go out through the tasks as the Graph API expects them. Bodies follow Meta's
documentation:

- Comments (GET /{object-id}/comments, filter=stream with parent; POST /{comment-id}/comments;
  POST /{comment-id} is_hidden; DELETE /{comment-id}):
  https://developers.facebook.com/docs/graph-api/reference/object/comments/,
  https://developers.facebook.com/docs/pages-api/comments-mentions
- Page conversations (messages{id,message,from,created_time}):
  https://developers.facebook.com/docs/messenger-platform/conversations
- Send API (recipient, messaging_type RESPONSE, message -> recipient_id, message_id):
  https://developers.facebook.com/docs/messenger-platform/reference/send-api/
- A comment's attachment (story attachment: type, media{image{src}}, target, url):
  https://developers.facebook.com/docs/graph-api/reference/comment/; a conversation message's
  attachments (mime_type, name, image_data{url, preview_url ...}):
  https://developers.facebook.com/docs/graph-api/reference/message/attachments/
- Messenger webhooks (message.attachments[].type and payload.url):
  https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages;
  the Page feed webhook carries a comment's `photo` or `video` address:
  https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#feed
- User Profile API (GET /{psid}?fields=name): https://developers.facebook.com/docs/messenger-platform/identity/user-profile
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import respx
from django.test import Client

from greenroom.conftest import World
from greenroom.core.models import Channel
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Conversation, DeliveryStatus, Direction, Message
from greenroom.networks.connections.actions import do_record_connection
from greenroom.networks.connections.polling import poll_channel
from greenroom.networks.meta.connector import FacebookConnector
from greenroom.networks.meta.tests.conftest import FB
from greenroom.networks.meta.tests.test_facebook_threads import PAGE, form
from greenroom.networks.meta.tests.test_webhooks_connect import signed

POST = "1122_5566"
COMMENT_PHOTO = "https://scontent.xx.fbcdn.net/v/t39.30808-6/sunday_hours.jpg"
RECEIPT = "https://scontent.xx.fbcdn.net/v/t1.15752-9/receipt_7700.jpg"

POSTS = {
    "data": [
        {
            "id": POST,
            "comments": {
                "data": [
                    {
                        "id": "5566_1",
                        "message": "Open on Sunday?",
                        "from": {"id": "900", "name": "Kim Ji-woo"},
                        "created_time": "2026-11-20T09:00:00+0000",
                        "attachment": {
                            "media": {"image": {"height": 720, "src": COMMENT_PHOTO, "width": 960}},
                            "target": {
                                "id": "10158",
                                "url": "https://www.facebook.com/photo.php?fbid=10158",
                            },
                            "type": "photo",
                            "url": "https://www.facebook.com/photo.php?fbid=10158",
                        },
                    },
                    {
                        "id": "5566_2",
                        "message": "Same question, and until when?",
                        "from": {"id": "901", "name": "Lee Min"},
                        "created_time": "2026-11-20T09:05:00+0000",
                        "parent": {"id": "5566_1"},
                    },
                ],
                "paging": {"cursors": {"before": "QVFIUj", "after": "QVFIUk"}},
            },
        }
    ]
}

CONVERSATIONS = {
    "data": [
        {
            "id": "t_10158",
            "messages": {
                "data": [
                    {
                        "id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM",
                        "message": "안녕하세요, 주문 확인 부탁드려요",
                        "from": {"id": "7700", "name": "Park Min", "email": "7700@facebook.com"},
                        "created_time": "2026-11-20T09:30:00+0000",
                        "attachments": {
                            "data": [
                                {
                                    "id": "1548573058664396",
                                    "mime_type": "image/jpeg",
                                    "name": "image-7700.jpg",
                                    "size": 48211,
                                    "image_data": {
                                        "width": 720,
                                        "height": 960,
                                        "max_width": 720,
                                        "max_height": 960,
                                        "url": RECEIPT,
                                        "preview_url": RECEIPT,
                                        "image_type": 1,
                                        "render_as_sticker": False,
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        }
    ]
}


def test_comments_and_messenger_reach_the_inbox_and_are_answered_hidden_and_deleted(
    facebook: Channel, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    do_record_connection(facebook, service_url="", account_id=PAGE, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        posts = router.get(f"{FB}/{PAGE}/posts").mock(return_value=httpx.Response(200, json=POSTS))
        router.get(f"{FB}/{PAGE}/conversations").mock(
            return_value=httpx.Response(200, json=CONVERSATIONS)
        )
        polled = poll_channel(facebook)
    assert polled is not None and (polled.created, polled.error) == (3, "")
    # Replies under a comment come only with filter=stream (toplevel is the default); the
    # author's name and the attachment are asked for by name.
    fields = posts.calls[0].request.url.params["fields"]
    assert "comments.filter(stream)" in fields
    assert "from{id,name}" in fields and ",attachment}" in fields

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 3, 2)

    thread = Conversation.objects.get(channel=facebook, kind="comment")
    assert thread.post_external_id == POST
    inbound = list(thread.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [(m.external_id, m.author_handle, m.author_name, m.in_reply_to) for m in inbound] == [
        ("5566_1", "900", "Kim Ji-woo", POST),
        ("5566_2", "901", "Lee Min", "5566_1"),
    ]
    assert inbound[0].text == "Open on Sunday?"
    # The comment's photo is listed under it; the reply carries none.
    assert inbound[0].attachment_links == [{"type": "image", "url": COMMENT_PHOTO, "alt": ""}]
    assert inbound[1].attachment_links == []
    assert inbound[0].sent_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    dm = Conversation.objects.get(channel=facebook, kind="dm")
    received = dm.messages.get(direction=Direction.INBOUND)
    assert (received.author_handle, received.author_name, received.text) == (
        "7700",
        "Park Min",
        "안녕하세요, 주문 확인 부탁드려요",
    )
    assert received.sent_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert received.attachment_links == [{"type": "image", "url": RECEIPT, "alt": ""}]

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(thread, "Open 10 to 4 on Sundays.", acting_user=world.alice)
        dm_answer = actions.do_reply(dm, "주문이 내일 발송됩니다.", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        # Facebook threads comments one level deep: the answer to a reply goes under the
        # comment it answers, as the Page's own app does.
        comment = router.post(f"{FB}/5566_1/comments").mock(
            return_value=httpx.Response(200, json={"id": "5566_9"})
        )
        send = router.post(f"{FB}/{PAGE}/messages").mock(
            return_value=httpx.Response(
                200, json={"recipient_id": "7700", "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEN"}
            )
        )
        assert tasks.send_reply(answer.pk) == "sent"
        assert tasks.send_reply(dm_answer.pk) == "sent"
    assert form(comment.calls[0].request) == {"message": "Open 10 to 4 on Sundays."}
    assert {
        k: json.loads(v) if k != "messaging_type" else v
        for k, v in form(send.calls[0].request).items()
    } == {
        "recipient": {"id": "7700"},
        "messaging_type": "RESPONSE",
        "message": {"text": "주문이 내일 발송됩니다."},
    }
    answer.refresh_from_db()
    dm_answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, "5566_9")
    assert (dm_answer.status, dm_answer.external_id) == (
        DeliveryStatus.SENT,
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEN",
    )

    reply = Message.objects.get(channel=facebook, external_id="5566_2")
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_hide_message(reply, acting_user=world.alice)
        actions.do_delete_message(reply, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        hide = router.post(f"{FB}/5566_2").mock(
            return_value=httpx.Response(200, json={"success": True})
        )
        delete = router.delete(f"{FB}/5566_2").mock(
            return_value=httpx.Response(200, json={"success": True})
        )
        assert tasks.hide_message(reply.pk) == "hidden"
        assert tasks.delete_message(reply.pk) == "deleted"
    assert form(hide.calls[0].request) == {"is_hidden": "true"}
    assert delete.call_count == 1


def test_a_comment_delivered_by_webhook_is_answered_under_itself(
    facebook: Channel, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """The feed webhook names the post as the parent of a comment on the post (Meta's example
    payload: parent_id == post_id); the answer goes under the comment, not on the post."""
    payload = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": 1763629200,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": "900", "name": "Kim Ji-woo"},
                            "post": {"status_type": "added_photos", "is_published": True},
                            "message": "Do you ship to Busan?",
                            "photo": COMMENT_PHOTO,
                            "post_id": POST,
                            "comment_id": "5566_7",
                            "created_time": 1763629200,
                            "item": "comment",
                            "parent_id": POST,
                            "verb": "add",
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    response = Client().post(
        f"/hooks/facebook/{world.acme.pk}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed(body),
    )
    assert response.status_code == 200
    assert actions.do_process_inbound().unreadable == 0
    thread = Conversation.objects.get(channel=facebook)
    assert (thread.kind, thread.post_external_id) == ("comment", POST)
    received = thread.messages.get()
    assert (received.author_handle, received.author_name, received.text) == (
        "900",
        "Kim Ji-woo",
        "Do you ship to Busan?",
    )
    assert received.sent_at == datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
    assert received.attachment_links == [{"type": "image", "url": COMMENT_PHOTO, "alt": ""}]

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(thread, "Yes, in two days.", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        comment = router.post(f"{FB}/5566_7/comments").mock(
            return_value=httpx.Response(200, json={"id": "5566_8"})
        )
        assert tasks.send_reply(answer.pk) == "sent"
    assert form(comment.calls[0].request) == {"message": "Yes, in two days."}
    answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, "5566_8")


def test_a_messenger_conversation_pushed_then_polled_stays_one_conversation(
    facebook: Channel, world: World
) -> None:
    """Webhooks carry no conversation id, polls do (t_...): both thread a Page's conversation
    by the person's page-scoped id, so the agent sees one conversation, not two."""
    pushed = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": 1763627000000,
                "messaging": [
                    {
                        "sender": {"id": "7700"},
                        "recipient": {"id": PAGE},
                        "timestamp": 1763627000000,
                        "message": {
                            "mid": "m_first_by_webhook",
                            "text": "혹시 영업 중인가요?",
                            "attachments": [
                                {"type": "image", "payload": {"url": RECEIPT}},
                                {
                                    "type": "audio",
                                    "payload": {
                                        "url": "https://cdn.fbsbx.com/v/t59.3654-21/voice.mp4"
                                    },
                                },
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(pushed).encode()
    with respx.mock(assert_all_called=True) as router:
        # The webhook names the sender by page-scoped id only: the User Profile API names them.
        profile = router.get(f"{FB}/7700").mock(
            return_value=httpx.Response(200, json={"name": "박민", "id": "7700"})
        )
        response = Client().post(
            f"/hooks/facebook/{world.acme.pk}/",
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signed(body),
        )
    assert response.status_code == 200
    assert profile.calls[0].request.url.params["fields"] == "name"
    do_record_connection(facebook, service_url="", account_id=PAGE, acting_user=world.alice)
    with respx.mock() as router:
        router.get(f"{FB}/{PAGE}/posts").mock(return_value=httpx.Response(200, json={"data": []}))
        router.get(f"{FB}/{PAGE}/conversations").mock(
            return_value=httpx.Response(200, json=CONVERSATIONS)
        )
        poll_channel(facebook)
    assert actions.do_process_inbound().unreadable == 0
    (conversation,) = Conversation.objects.filter(channel=facebook, kind="dm")
    assert sorted(conversation.messages.values_list("external_id", flat=True)) == [
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM",
        "m_first_by_webhook",
    ]
    assert conversation.messages_in == 2
    pushed_message = conversation.messages.get(external_id="m_first_by_webhook")
    # The id stays the key of the person (the polled message, named by Meta, joined it).
    assert (pushed_message.author_handle, pushed_message.author_name) == ("7700", "박민")
    assert pushed_message.attachment_links == [
        {"type": "image", "url": RECEIPT, "alt": ""},
        {"type": "audio", "url": "https://cdn.fbsbx.com/v/t59.3654-21/voice.mp4", "alt": ""},
    ]


def test_polled_messages_without_a_name_ask_the_profile_once_per_person(facebook: Channel) -> None:
    """A conversation message's `from` may carry only the id (and email): the sender is named
    through the User Profile API, once for all of their messages in the poll."""
    messages = [
        {
            "id": f"m_7701_{n}",
            "message": f"message {n}",
            "from": {"id": "7701", "email": "7701@facebook.com"},
            "created_time": f"2026-11-20T10:0{n}:00+0000",
        }
        for n in range(3)
    ]
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{PAGE}/posts").mock(return_value=httpx.Response(200, json={"data": []}))
        router.get(f"{FB}/{PAGE}/conversations").mock(
            return_value=httpx.Response(
                200, json={"data": [{"id": "t_7701", "messages": {"data": messages}}]}
            )
        )
        profile = router.get(f"{FB}/7701").mock(
            return_value=httpx.Response(200, json={"name": "Choi Yuna", "id": "7701"})
        )
        page = FacebookConnector(facebook).fetch_inbox(None)
    assert profile.call_count == 1
    assert [(i.author_handle, i.author_name) for i in page.items] == [("7701", "Choi Yuna")] * 3
