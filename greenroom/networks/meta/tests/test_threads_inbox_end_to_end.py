"""A Threads profile's inbox end to end: a poll lands a reply to the profile's post, a reply to
that reply and a mention; the inbox reads them into conversations; the agent's answer (a reply
post: container with reply_to_id, then threads_publish) and a hide go out through the tasks as
the Threads API expects them. Bodies follow Meta's documentation:

- Replies and conversations (GET /{media-id}/conversation: every reply at any depth, with
  replied_to and root_post): https://developers.facebook.com/docs/threads/retrieve-and-manage-replies/replies-and-conversations
- Mentions (GET /{threads-user-id}/mentions): https://developers.facebook.com/docs/threads/threads-mentions
- Reply management (reply_to_id; POST /{reply-id}/manage_reply hide=true):
  https://developers.facebook.com/docs/threads/reply-management
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from greenroom.conftest import World
from greenroom.core.models import Channel
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Conversation, DeliveryStatus, Direction, Message
from greenroom.networks.connections.actions import do_record_connection
from greenroom.networks.connections.polling import poll_channel
from greenroom.networks.meta.tests.conftest import TH
from greenroom.networks.meta.tests.test_facebook_threads import USER, form, threads_publish_routes

POST = "18050206876707110"
REPLY = "18066543267604123"
NESTED = "18066543267604456"
MENTION = "18071234567890123"
FIELDS = "id,text,username,timestamp,permalink,replied_to,root_post,media_type,media_url"
PHOTO = "https://scontent.cdninstagram.com/v/t51.2885-15/winter_blend.jpg"


def row(media_id: str, username: str, text: str, at: str, **more: Any) -> dict[str, Any]:
    return {
        "id": media_id,
        "text": text,
        "username": username,
        "timestamp": at,
        "permalink": f"https://www.threads.net/@{username}/post/{media_id[-6:]}",
        **more,
    }


def test_replies_and_mentions_reach_the_inbox_and_are_answered_and_hidden(
    threads: Channel, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    do_record_connection(threads, service_url="", account_id=USER, acting_user=world.alice)
    conversation = {
        "data": [
            row(
                NESTED,
                "minji",
                "@jay same here",
                "2026-11-20T11:10:00+0000",
                # A reply with a photo: media_type IMAGE and its media_url.
                media_type="IMAGE",
                media_url=PHOTO,
                replied_to={"id": REPLY},
                root_post={"id": POST, "owner_id": USER, "username": "acme.threads"},
            ),
            row(
                REPLY,
                "jay",
                "When does the winter blend come out?",
                "2026-11-20T11:00:00+0000",
                media_type="TEXT_POST",
                replied_to={"id": POST},
                root_post={"id": POST, "owner_id": USER, "username": "acme.threads"},
            ),
        ],
        "paging": {"cursors": {"before": "BEFORE", "after": "AFTER"}},
    }
    mentions = {
        "data": [
            row(
                MENTION,
                "sora",
                "Best flat white in town @acme.threads",
                "2026-11-20T12:00:00+0000",
                root_post={"id": MENTION, "owner_id": "9876", "username": "sora"},
            )
        ]
    }
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{TH}/{USER}/threads").mock(
            return_value=httpx.Response(200, json={"data": [{"id": POST}]})
        )
        listed = router.get(f"{TH}/{POST}/conversation").mock(
            return_value=httpx.Response(200, json=conversation)
        )
        router.get(f"{TH}/{USER}/mentions").mock(return_value=httpx.Response(200, json=mentions))
        polled = poll_channel(threads)
    assert polled is not None and (polled.created, polled.error) == (3, "")
    assert listed.calls[0].request.url.params["fields"] == FIELDS

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 3, 2)

    thread = Conversation.objects.get(channel=threads, kind="comment")
    assert thread.post_external_id == POST
    inbound = list(thread.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [(m.external_id, m.author_handle, m.in_reply_to, m.text) for m in inbound] == [
        (REPLY, "jay", POST, "When does the winter blend come out?"),
        (NESTED, "minji", REPLY, "@jay same here"),
    ]
    assert inbound[0].sent_at == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    # The photo of the reply is listed under it; a text reply carries nothing.
    assert inbound[1].attachment_links == [{"type": "image", "url": PHOTO, "alt": ""}]
    assert inbound[0].attachments == []

    mention = Conversation.objects.get(channel=threads, kind="mention")
    said = mention.messages.get(direction=Direction.INBOUND)
    assert (said.external_id, said.author_handle, said.author_name, said.text) == (
        MENTION,
        "sora",
        "sora",
        "Best flat white in town @acme.threads",
    )
    assert said.sent_at == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(thread, "Next Monday!", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        routes = threads_publish_routes(router)
        assert tasks.send_reply(answer.pk) == "sent"
    assert form(routes["create"].calls[0].request) == {
        "media_type": "TEXT",
        "text": "Next Monday!",
        "reply_to_id": NESTED,
    }
    assert form(routes["publish"].calls[0].request) == {"creation_id": "c9"}
    answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, "1801")

    nested = Message.objects.get(channel=threads, external_id=NESTED)
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_hide_message(nested, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        hide = router.post(f"{TH}/{NESTED}/manage_reply").mock(
            return_value=httpx.Response(200, json={"success": True})
        )
        assert tasks.hide_message(nested.pk) == "hidden"
    assert form(hide.calls[0].request) == {"hide": "true"}

    # Threads lets no app delete other people's replies: the refusal is recorded.
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_delete_message(nested, acting_user=world.alice)
    assert tasks.delete_message(nested.pk) == "failed"
    nested.refresh_from_db()
    assert nested.deleted_at is None and "Hide the reply" in nested.error
