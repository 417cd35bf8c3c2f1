"""A reply `send_reply` sends twice reaches the customer once, on a network without idempotency
keys (X, its v2 API answered from respx as in greenroom/networks/x/tests): after a timeout
where X did create the reply (the retry finds it), and after a worker died between X's answer
and the commit (the stuck-reply sweep sends it again)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import Channel
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import DeliveryStatus, Message
from greenroom.inbox.tests.conftest import conversation_of, item, land
from greenroom.networks import network_api as api

USER = "2244994945"
MENTION = "1584588843218980864"
A = "https://api.x.com/2"


@pytest.fixture
def x_channel(world: World, settings: Any) -> Channel:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "x"]
    channel = core_actions.do_create_channel(
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
            access_token="VGhpcyBpcyBhbiBleGFtcGxlIGFjY2Vzcw",
            expires_at=timezone.now() + timedelta(hours=2),
        ),
        acting_user=world.alice,
    )
    return channel


def written_reply(world: World, channel: Channel) -> Message:
    land(channel, item(MENTION, "@AcmeCoffee are you open today?", kind="mention", author="emma"))
    conversation = conversation_of(channel, MENTION)
    # Inside the test transaction the on-commit send never runs: the test sends it itself.
    reply = actions.do_reply(conversation, "Open till 6!", acting_user=world.bianca)
    assert reply.status == DeliveryStatus.SENDING
    return reply


def created(post_id: str) -> httpx.Response:
    data = {"id": post_id, "text": "@emma Open till 6!", "edit_history_tweet_ids": [post_id]}
    return httpx.Response(201, json={"data": data})


def test_a_reply_whose_post_timed_out_but_reached_x_is_found_by_the_retry_not_posted_again(
    world: World, x_channel: Channel
) -> None:
    reply = written_reply(world, x_channel)
    with respx.mock() as router:
        post = router.post(f"{A}/tweets").mock(side_effect=httpx.ReadTimeout("slow"))
        timeline = router.get(f"{A}/users/{USER}/tweets").mock(
            return_value=httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "id": "1880000000000000042",
                            "text": "@emma Open till 6!",
                            "created_at": "2099-01-01T00:00:00.000Z",
                            "referenced_tweets": [{"type": "replied_to", "id": MENTION}],
                            "edit_history_tweet_ids": ["1880000000000000042"],
                        }
                    ],
                    "meta": {"result_count": 1},
                },
            )
        )
        # The timeout queues a retry (run at once: Celery is eager in tests); the sweep's
        # later copy of the task finds the reply sent.
        assert tasks.send_reply(reply.pk) == "retry"
        assert tasks.send_reply(reply.pk) == "skipped"
    reply.refresh_from_db()
    assert post.call_count == 1 and timeline.call_count == 1
    assert json.loads(post.calls[0].request.content)["reply"] == {"in_reply_to_tweet_id": MENTION}
    assert reply.status == DeliveryStatus.SENT
    assert reply.external_id == "1880000000000000042"


def test_a_reply_whose_worker_died_after_x_answered_is_marked_sent_without_a_second_post(
    world: World, x_channel: Channel, monkeypatch: Any
) -> None:
    reply = written_reply(world, x_channel)
    mark_sent = actions.do_mark_reply_sent

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("worker killed before the commit")

    with respx.mock() as router:
        post = router.post(f"{A}/tweets").mock(return_value=created("1880000000000000043"))
        monkeypatch.setattr(actions, "do_mark_reply_sent", killed)
        with pytest.raises(SystemExit):
            tasks.send_reply(reply.pk)
        monkeypatch.setattr(actions, "do_mark_reply_sent", mark_sent)
        Message.objects.filter(pk=reply.pk).update(
            created_at=timezone.now() - tasks.STUCK_AFTER - timedelta(minutes=1)
        )
        assert tasks.resend_stuck_replies() == 1
    reply.refresh_from_db()
    assert post.call_count == 1
    assert reply.status == DeliveryStatus.SENT
    assert reply.external_id == "1880000000000000043"


def test_a_dm_answer_goes_to_the_conversation_it_came_from(
    world: World, x_channel: Channel
) -> None:
    land(
        x_channel,
        item("dm-event-1", "Is my order shipped?", kind="dm", author="emma", thread_id="123-456"),
    )
    conversation = conversation_of(x_channel, "dm-event-1")
    reply = actions.do_reply(conversation, "It ships today.", acting_user=world.bianca)
    with respx.mock() as router:
        sent = router.post(f"{A}/dm_conversations/123-456/messages").mock(
            return_value=httpx.Response(
                201, json={"data": {"dm_conversation_id": "123-456", "dm_event_id": "1582"}}
            )
        )
        assert tasks.send_reply(reply.pk) == "sent"
    assert sent.call_count == 1
    assert json.loads(sent.calls[0].request.content) == {"text": "It ships today."}
    reply.refresh_from_db()
    assert (reply.status, reply.external_id) == (DeliveryStatus.SENT, "dm:1582")
