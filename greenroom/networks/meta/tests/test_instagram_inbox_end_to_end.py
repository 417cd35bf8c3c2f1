"""An Instagram account's inbox end to end: a poll lands a comment on the account's media and a
reply under it, a signed webhook delivers a DM; the inbox reads them into conversations; the
agent's answers, a hide and a delete go out through the tasks as the Graph API expects them.
Bodies follow Meta's documentation:

- IG Media comments and IG Comment replies (GET /{ig-media-id}/comments, replies field with
  parent_id; POST /{ig-comment-id}/replies -> {"id"}; POST /{ig-comment-id} hide=true; DELETE):
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies,
  https://developers.facebook.com/docs/instagram-platform/comment-moderation
- Instagram messaging webhooks (entry.messaging sender/recipient/timestamp/message.mid) and the
  Send API (POST /{page-id}/messages -> recipient_id, message_id):
  https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/messaging-api
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
from greenroom.networks.meta.tests.conftest import FB
from greenroom.networks.meta.tests.test_instagram import IG, form
from greenroom.networks.meta.tests.test_webhooks_connect import signed

MEDIA = "17895695668004550"
COMMENT = "17870913679156914"
REPLY = "17873440459141021"
IGSID = "1254459154682919"

MEDIA_PAGE = {
    "data": [
        {
            "id": MEDIA,
            "comments": {
                "data": [
                    {
                        "id": COMMENT,
                        "text": "Is the oat latte back?",
                        "timestamp": "2026-11-20T10:00:00+0000",
                        "username": "jay.coffee",
                        "from": {"id": "1788", "username": "jay.coffee"},
                        "replies": {
                            "data": [
                                {
                                    "id": REPLY,
                                    "text": "@jay.coffee I want to know too",
                                    "timestamp": "2026-11-20T10:04:00+0000",
                                    "username": "minji",
                                    "from": {"id": "1789", "username": "minji"},
                                    "parent_id": COMMENT,
                                }
                            ]
                        },
                    }
                ]
            },
        }
    ],
    "paging": {"cursors": {"before": "QVFIUk", "after": "QVFIUl"}},
}

DM_WEBHOOK = {
    "object": "instagram",
    "entry": [
        {
            "time": 1763633400,
            "id": IG,
            "messaging": [
                {
                    "sender": {"id": IGSID},
                    "recipient": {"id": IG},
                    "timestamp": 1763633400000,
                    "message": {"mid": "aWdfZAG06MTpJR01lc3NhZA", "text": "Do you deliver?"},
                }
            ],
        }
    ],
}


def test_comments_and_dms_reach_the_inbox_and_are_answered_hidden_and_deleted(
    instagram: Channel, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    do_record_connection(instagram, service_url="", account_id=IG, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        media = router.get(f"{FB}/{IG}/media").mock(
            return_value=httpx.Response(200, json=MEDIA_PAGE)
        )
        polled = poll_channel(instagram)
    assert polled is not None and (polled.created, polled.error) == (2, "")
    assert "replies{" in media.calls[0].request.url.params["fields"]
    body = json.dumps(DM_WEBHOOK).encode()
    with respx.mock(assert_all_called=True) as router:
        # The DM webhook names the sender by Instagram-scoped id only (User Profile API).
        router.get(f"{FB}/{IGSID}").mock(
            return_value=httpx.Response(
                200, json={"name": "Seo Yeon", "username": "seoyeon.k", "id": IGSID}
            )
        )
        response = Client().post(
            f"/hooks/instagram/{world.acme.pk}/",
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signed(body),
        )
    assert response.status_code == 200 and response.json()["stored"] == 1

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 3, 2)

    thread = Conversation.objects.get(channel=instagram, kind="comment")
    assert thread.post_external_id == MEDIA
    inbound = list(thread.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [(m.external_id, m.author_handle, m.in_reply_to, m.text) for m in inbound] == [
        (COMMENT, "jay.coffee", MEDIA, "Is the oat latte back?"),
        (REPLY, "minji", COMMENT, "@jay.coffee I want to know too"),
    ]
    assert inbound[0].sent_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

    dm = Conversation.objects.get(channel=instagram, kind="dm")
    received = dm.messages.get(direction=Direction.INBOUND)
    assert (received.author_handle, received.author_name, received.text) == (
        IGSID,
        "Seo Yeon",
        "Do you deliver?",
    )
    assert received.sent_at == datetime(2025, 11, 20, 10, 10, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(thread, "Back on Monday!", acting_user=world.alice)
        dm_answer = actions.do_reply(dm, "Yes, in Seoul.", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        reply = router.post(f"{FB}/{REPLY}/replies").mock(
            return_value=httpx.Response(200, json={"id": "17873440459141099"})
        )
        send = router.post(f"{FB}/1122/messages").mock(
            return_value=httpx.Response(200, json={"recipient_id": IGSID, "message_id": "aWdfZAG1"})
        )
        assert tasks.send_reply(answer.pk) == "sent"
        assert tasks.send_reply(dm_answer.pk) == "sent"
    assert form(reply.calls[0].request) == {"message": "Back on Monday!"}
    sent = form(send.calls[0].request)
    assert json.loads(sent["recipient"]) == {"id": IGSID}
    assert json.loads(sent["message"]) == {"text": "Yes, in Seoul."}
    answer.refresh_from_db()
    dm_answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, "17873440459141099")
    assert (dm_answer.status, dm_answer.external_id) == (DeliveryStatus.SENT, "aWdfZAG1")

    comment = Message.objects.get(channel=instagram, external_id=COMMENT)
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_hide_message(comment, acting_user=world.alice)
        actions.do_delete_message(comment, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        hide = router.post(f"{FB}/{COMMENT}").mock(
            return_value=httpx.Response(200, json={"success": True})
        )
        delete = router.delete(f"{FB}/{COMMENT}").mock(
            return_value=httpx.Response(200, json={"success": True})
        )
        assert tasks.hide_message(comment.pk) == "hidden"
        assert tasks.delete_message(comment.pk) == "deleted"
    assert form(hide.calls[0].request) == {"hide": "true"}
    assert delete.call_count == 1
