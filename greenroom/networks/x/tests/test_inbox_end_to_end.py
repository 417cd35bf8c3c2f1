"""X's inbox end to end: a poll lands a mention (a reply to the account's post), a reply to that
mention and a DM; the inbox reads them into conversations; the agent's answers and a hide go
out through the tasks as X expects them. Response bodies follow docs.x.com:

- Mentions timeline (referenced_tweets, includes.users): https://docs.x.com/x-api/users/get-mentions
- DM events (expansions=sender_id, includes.users): https://docs.x.com/x-api/direct-messages/get-dm-events
- Replies (POST /2/tweets reply.in_reply_to_tweet_id): https://docs.x.com/x-api/posts/creation-of-a-post
- DM in a conversation (POST /2/dm_conversations/:id/messages, dm_event_id):
  https://docs.x.com/x-api/direct-messages/send-a-new-message-to-a-dm-conversation
- Hide replies (PUT /2/tweets/:id/hidden): https://docs.x.com/x-api/posts/hide-reply
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
from greenroom.networks.x.tests.test_x import USER, A, channel, x_sign  # noqa: F401

POST = "1584500000000000001"  # the account's own post
MENTION = "1584588843218980864"
ANSWER = "1584588843218990000"  # someone answering the mention
# One-to-one conversation ids are "{smaller_user_id}-{larger_user_id}" (docs.x.com, Direct
# Messages lookup integration guide): the account 2244994945 and Ada 1582103724607971328.
DM_CONVERSATION = "2244994945-1582103724607971328"

MENTIONS = {
    "data": [
        {
            "author_id": "6253282",
            "created_at": "2022-10-24T19:02:43.000Z",
            "id": MENTION,
            "text": "@AcmeCoffee open today?",
            "conversation_id": POST,
            "in_reply_to_user_id": USER,
            "referenced_tweets": [{"type": "replied_to", "id": POST}],
            "edit_history_tweet_ids": [MENTION],
        },
        {
            "author_id": "783214",
            "created_at": "2022-10-24T19:05:00.000Z",
            "id": ANSWER,
            "text": "@TwitterAPI @AcmeCoffee yes until six",
            "conversation_id": POST,
            "in_reply_to_user_id": "6253282",
            "referenced_tweets": [{"type": "replied_to", "id": MENTION}],
            "edit_history_tweet_ids": [ANSWER],
        },
    ],
    "includes": {
        "users": [
            {"id": "6253282", "name": "Twitter API", "username": "TwitterAPI"},
            {"id": "783214", "name": "X", "username": "X"},
        ]
    },
    "meta": {"newest_id": ANSWER, "oldest_id": MENTION, "result_count": 2},
}

DMS = {
    "data": [
        {
            "id": "1582838223305555972",
            "text": "Hello, is my order on its way?",
            "event_type": "MessageCreate",
            "dm_conversation_id": DM_CONVERSATION,
            "created_at": "2022-10-19T20:58:00.000Z",
            "sender_id": "1582103724607971328",
        }
    ],
    "includes": {
        "users": [{"id": "1582103724607971328", "name": "Ada Lovelace", "username": "ada_l"}]
    },
    "meta": {"result_count": 1},
}


def test_mentions_and_dms_reach_the_inbox_and_are_answered_and_hidden(
    channel: Channel,  # noqa: F811
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    do_record_connection(channel, service_url="", account_id=USER, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        mentions = router.get(f"{A}/users/{USER}/mentions").mock(
            return_value=httpx.Response(200, json=MENTIONS)
        )
        dms = router.get(f"{A}/dm_events").mock(return_value=httpx.Response(200, json=DMS))
        polled = poll_channel(channel)
    assert polled is not None and (polled.created, polled.error) == (3, "")
    assert "referenced_tweets" in mentions.calls[0].request.url.params["tweet.fields"]
    assert dms.calls[0].request.url.params["expansions"] == "sender_id"

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 3, 2)

    mention = Conversation.objects.get(channel=channel, kind="mention")
    assert mention.post_external_id == POST
    inbound = list(mention.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [(m.external_id, m.author_handle, m.author_name, m.text) for m in inbound] == [
        (MENTION, "TwitterAPI", "Twitter API", "@AcmeCoffee open today?"),
        (ANSWER, "X", "X", "@TwitterAPI @AcmeCoffee yes until six"),
    ]
    assert inbound[0].sent_at == datetime(2022, 10, 24, 19, 2, 43, tzinfo=UTC)
    assert inbound[1].in_reply_to == MENTION

    dm = Conversation.objects.get(channel=channel, kind="dm")
    received = dm.messages.get(direction=Direction.INBOUND)
    assert (received.author_handle, received.author_name, received.text) == (
        "ada_l",
        "Ada Lovelace",
        "Hello, is my order on its way?",
    )
    assert received.sent_at == datetime(2022, 10, 19, 20, 58, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(mention, "Open until six today!", acting_user=world.alice)
        dm_answer = actions.do_reply(dm, "It ships tomorrow.", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        post = router.post(f"{A}/tweets").mock(
            return_value=httpx.Response(
                201,
                json={
                    "data": {
                        "id": "1584599999999999999",
                        "text": "Open until six today!",
                        "edit_history_tweet_ids": ["1584599999999999999"],
                    }
                },
            )
        )
        send_dm = router.post(f"{A}/dm_conversations/{DM_CONVERSATION}/messages").mock(
            return_value=httpx.Response(
                201,
                json={
                    "data": {
                        "dm_conversation_id": DM_CONVERSATION,
                        "dm_event_id": "1582838223305559999",
                    }
                },
            )
        )
        assert tasks.send_reply(answer.pk) == "sent"
        assert tasks.send_reply(dm_answer.pk) == "sent"
    # The reply answers the newest message of the conversation: the answer to the mention.
    assert json.loads(post.calls[0].request.content) == {
        "text": "Open until six today!",
        "reply": {"in_reply_to_tweet_id": ANSWER},
    }
    assert json.loads(send_dm.calls[0].request.content) == {"text": "It ships tomorrow."}
    answer.refresh_from_db()
    dm_answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, "1584599999999999999")
    assert (dm_answer.status, dm_answer.external_id) == (
        DeliveryStatus.SENT,
        "dm:1582838223305559999",
    )

    comment = Message.objects.get(channel=channel, external_id=ANSWER)
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_hide_message(comment, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        hide = router.put(f"{A}/tweets/{ANSWER}/hidden").mock(
            return_value=httpx.Response(200, json={"data": {"hidden": True}})
        )
        assert tasks.hide_message(comment.pk) == "hidden"
    assert json.loads(hide.calls[0].request.content) == {"hidden": True}

    # X lets no account delete other people's replies: the refusal is recorded, not lost.
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_delete_message(comment, acting_user=world.alice)
    assert tasks.delete_message(comment.pk) == "failed"
    comment.refresh_from_db()
    assert comment.deleted_at is None and "Hide the reply instead" in comment.error


def test_a_dm_delivered_by_webhook_shows_its_sender_and_is_answered_to_them(
    channel: Channel,  # noqa: F811
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Account Activity DM events carry the sender's id; their name and @username come in the
    payload's "users". The answer goes to the one-to-one conversation with the sender's id."""
    payload = {
        "for_user_id": USER,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": "954491830116155396",
                "created_timestamp": "1516403560557",
                "message_create": {
                    "target": {"recipient_id": USER},
                    "sender_id": "3001969357",
                    "message_data": {"text": "Hello World!", "entities": {}},
                },
            }
        ],
        "users": {
            "3001969357": {
                "id": "3001969357",
                "created_timestamp": "1422556069340",
                "name": "Jordan Brinks",
                "screen_name": "furiousf7",
            },
            USER: {"id": USER, "name": "Acme Coffee", "screen_name": "AcmeCoffee"},
        },
    }
    body = json.dumps(payload).encode()
    response = Client().post(
        f"/hooks/x/{world.acme.pk}/",
        body,
        content_type="application/json",
        HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_sign(body),
    )
    assert response.json()["stored"] == 1
    assert actions.do_process_inbound().unreadable == 0
    dm = Conversation.objects.get(channel=channel, kind="dm")
    received = dm.messages.get()
    assert (received.author_handle, received.author_name, received.text) == (
        "furiousf7",
        "Jordan Brinks",
        "Hello World!",
    )
    assert received.sent_at == datetime(2018, 1, 19, 23, 12, 40, 557000, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(dm, "Hi Jordan!", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        send = router.post(f"{A}/dm_conversations/with/3001969357/messages").mock(
            return_value=httpx.Response(
                201,
                json={
                    "data": {
                        "dm_conversation_id": "3001969357-2244994945",
                        "dm_event_id": "1582838223305559998",
                    }
                },
            )
        )
        assert tasks.send_reply(answer.pk) == "sent"
    assert json.loads(send.calls[0].request.content) == {"text": "Hi Jordan!"}
    answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, "dm:1582838223305559998")


ADA = "1582103724607971328"
JORDAN = "3001969357"
PEOPLE = {
    ADA: ("ada_l", "Ada Lovelace"),
    JORDAN: ("furiousf7", "Jordan Brinks"),
}


def webhook_dm(world: World, event_id: str, sender: str, text: str, millis: int) -> None:
    """An Account Activity DM event: sender and recipient ids, no conversation id."""
    handle, name = PEOPLE[sender]
    payload = {
        "for_user_id": USER,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": event_id,
                "created_timestamp": str(millis),
                "message_create": {
                    "target": {"recipient_id": USER},
                    "sender_id": sender,
                    "message_data": {"text": text, "entities": {}},
                },
            }
        ],
        "users": {
            sender: {"id": sender, "name": name, "screen_name": handle},
            USER: {"id": USER, "name": "Acme Coffee", "screen_name": "AcmeCoffee"},
        },
    }
    body = json.dumps(payload).encode()
    response = Client().post(
        f"/hooks/x/{world.acme.pk}/",
        body,
        content_type="application/json",
        HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_sign(body),
    )
    assert response.json()["stored"] == 1


def polled_dm(event_id: str, sender: str, text: str, at: str, conversation: str) -> dict[str, Any]:
    """A GET /2/dm_events MessageCreate event, with X's conversation id."""
    return {
        "id": event_id,
        "text": text,
        "event_type": "MessageCreate",
        "dm_conversation_id": conversation,
        "created_at": at,
        "sender_id": sender,
    }


def poll_dms(channel: Channel, *events: dict[str, Any]) -> int:  # noqa: F811
    senders = {str(e["sender_id"]) for e in events}
    page = {
        "data": list(events),
        "includes": {
            "users": [
                {"id": s, "username": PEOPLE[s][0], "name": PEOPLE[s][1]} for s in sorted(senders)
            ]
        },
        "meta": {"result_count": len(events)},
    }
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{A}/users/{USER}/mentions").mock(
            return_value=httpx.Response(200, json={"meta": {"result_count": 0}})
        )
        router.get(f"{A}/dm_events").mock(return_value=httpx.Response(200, json=page))
        polled = poll_channel(channel)
    assert polled is not None and polled.error == ""
    return polled.created


def dm_threads(channel: Channel) -> list[list[tuple[str, str]]]:  # noqa: F811
    """Each DM conversation's inbound messages as (handle, text), oldest first."""
    return [
        [
            (m.author_handle, m.text)
            for m in conversation.messages.filter(direction=Direction.INBOUND).order_by("sent_at")
        ]
        for conversation in Conversation.objects.filter(channel=channel, kind="dm").order_by("pk")
    ]


def test_a_webhook_dm_and_the_polled_dms_of_its_conversation_are_one_conversation(
    channel: Channel,  # noqa: F811
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    do_record_connection(channel, service_url="", account_id=USER, acting_user=world.alice)
    webhook_dm(world, "1582838223305555970", ADA, "Is my order on its way?", 1666213000000)
    assert actions.do_process_inbound().unreadable == 0
    # The poll brings the webhook's event again (a duplicate, not a second message) and
    # Ada's next message, with X's conversation id.
    created = poll_dms(
        channel,
        polled_dm(
            "1582838223305555970",
            ADA,
            "Is my order on its way?",
            "2022-10-19T20:56:40.000Z",
            DM_CONVERSATION,
        ),
        polled_dm(
            "1582838223305555972",
            ADA,
            "It is order 1042.",
            "2022-10-19T20:58:00.000Z",
            DM_CONVERSATION,
        ),
    )
    assert created == 1
    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 1, 0)
    assert dm_threads(channel) == [
        [("ada_l", "Is my order on its way?"), ("ada_l", "It is order 1042.")]
    ]

    # The answer goes to X's own id for the conversation, read from the polled event.
    dm = Conversation.objects.get(channel=channel, kind="dm")
    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(dm, "It ships tomorrow.", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{A}/dm_conversations/{DM_CONVERSATION}/messages").mock(
            return_value=httpx.Response(
                201,
                json={
                    "data": {
                        "dm_conversation_id": DM_CONVERSATION,
                        "dm_event_id": "1582838223305559999",
                    }
                },
            )
        )
        assert tasks.send_reply(answer.pk) == "sent"


def test_polled_dms_then_a_webhook_dm_of_the_same_conversation_are_one_conversation(
    channel: Channel,  # noqa: F811
    world: World,
) -> None:
    do_record_connection(channel, service_url="", account_id=USER, acting_user=world.alice)
    assert (
        poll_dms(
            channel,
            polled_dm(
                "1582838223305555972", ADA, "Hello?", "2022-10-19T20:58:00.000Z", DM_CONVERSATION
            ),
        )
        == 1
    )
    assert actions.do_process_inbound().conversations == 1
    webhook_dm(world, "1582838223305555980", ADA, "Anyone there?", 1666213200000)
    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 1, 0)
    assert dm_threads(channel) == [[("ada_l", "Hello?"), ("ada_l", "Anyone there?")]]


def test_dms_from_two_people_stay_two_conversations_whichever_way_they_arrive(
    channel: Channel,  # noqa: F811
    world: World,
) -> None:
    do_record_connection(channel, service_url="", account_id=USER, acting_user=world.alice)
    webhook_dm(world, "1582838223305555970", ADA, "Ada by webhook", 1666213000000)
    webhook_dm(world, "1582838223305555971", JORDAN, "Jordan by webhook", 1666213010000)
    assert actions.do_process_inbound().conversations == 2
    poll_dms(
        channel,
        polled_dm(
            "1582838223305555975",
            JORDAN,
            "Jordan polled",
            "2022-10-19T21:00:00.000Z",
            f"{USER}-{JORDAN}",
        ),
        # Written the other way round, the same two people's id still finds their thread.
        polled_dm(
            "1582838223305555976",
            ADA,
            "Ada polled",
            "2022-10-19T21:01:00.000Z",
            f"{ADA}-{USER}",
        ),
    )
    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 2, 0)
    assert dm_threads(channel) == [
        [("ada_l", "Ada by webhook"), ("ada_l", "Ada polled")],
        [("furiousf7", "Jordan by webhook"), ("furiousf7", "Jordan polled")],
    ]
