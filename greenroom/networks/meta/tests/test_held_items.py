"""Webhook items Meta could not complete in the webhook's time are held, asked about again by a
worker and landed (`networks/held.py`): with their sender's name when Meta answers later, as
they came when it never does, never twice and never lost. Error bodies follow Meta's Graph API
error reference (code 4: application request limit reached; code 2: temporary service issue):
https://developers.facebook.com/docs/graph-api/guides/error-handling/
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import respx
from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import Channel
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation
from greenroom.networks import held
from greenroom.networks.actions import do_lease_held
from greenroom.networks.meta.tests.conftest import FB
from greenroom.networks.meta.tests.test_instagram import IG
from greenroom.networks.meta.tests.test_instagram_dms_and_mentions import JAY, deliver, dm
from greenroom.networks.models import HeldInbound, InboundEvent

THROTTLED = {
    "error": {
        "message": "(#4) Application request limit reached",
        "type": "OAuthException",
        "is_transient": True,
        "code": 4,
        "fbtrace_id": "AbCdEfGh",
    }
}
DOWN = {
    "error": {
        "message": "An unexpected error has occurred. Please retry your request later.",
        "type": "OAuthException",
        "is_transient": True,
        "code": 2,
        "fbtrace_id": "AbCdEfGi",
    }
}


def one_dm(mid: str = "aWdfZAK1", text: str = "Where is my order?") -> dict[str, object]:
    return {
        "object": "instagram",
        "entry": [
            {"id": IG, "time": 1763633400, "messaging": [dm(mid, JAY, 1763633400000, text=text)]}
        ],
    }


def due_now() -> None:
    """The held items' next try has come (the clock moved on)."""
    HeldInbound.objects.update(retry_at=timezone.now() - timedelta(seconds=1))


def test_meta_throttling_throughout_lands_the_message_as_it_came_after_the_last_try(
    instagram: Channel, world: World
) -> None:
    with respx.mock(assert_all_called=True) as router:
        lookups = router.get(f"{FB}/{JAY}").mock(return_value=httpx.Response(400, json=THROTTLED))
        answer = deliver(world, one_dm())
        assert (answer["stored"], answer["held"]) == (0, 1)

        # First worker try at once: Meta still throttles. Next try in 30 s, then in 2 min.
        for wait in (timedelta(seconds=30), timedelta(minutes=2)):
            before = timezone.now()
            assert held.complete_held() == 0
            kept = HeldInbound.objects.get()
            assert before + wait <= kept.retry_at <= timezone.now() + wait
            # Not due yet: nothing is asked.
            calls = lookups.call_count
            assert held.complete_held() == 0 and lookups.call_count == calls
            due_now()

        # The third try fails too: the message lands as the webhook gave it, under the id.
        assert held.complete_held() == 1
    assert lookups.call_count == 4  # the webhook's, then one per worker try
    assert not HeldInbound.objects.exists()
    actions.do_process_inbound()
    conversation = Conversation.objects.get(channel=instagram, kind="dm")
    said = conversation.messages.get()
    assert (said.author_handle, said.author_name, said.text) == (JAY, "", "Where is my order?")


def test_meta_recovering_between_tries_names_the_sender(instagram: Channel, world: World) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(
            side_effect=[
                httpx.Response(500, json=DOWN),  # the webhook's lookup
                httpx.Response(400, json=THROTTLED),  # the worker's first try
                httpx.Response(200, json={"name": "Jay Kim", "id": JAY}),
            ]
        )
        assert deliver(world, one_dm())["held"] == 1
        assert held.complete_held() == 0
        due_now()
        assert held.complete_held() == 1
    event = InboundEvent.objects.get(channel=instagram)
    assert event.payload["author"] == {"handle": JAY, "name": "Jay Kim"}
    assert event.payload["network"]["message"]["text"] == "Where is my order?"


def test_a_worker_killed_while_asking_leaves_the_item_due_again(
    instagram: Channel, world: World
) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(return_value=httpx.Response(400, json=THROTTLED))
        assert deliver(world, one_dm())["held"] == 1

    # A worker takes the item, then dies before it lands it.
    (taken,) = do_lease_held(timezone.now(), limit=held.BATCH, lease=held.LEASE)
    assert taken.attempts == 1
    # Leased: no other worker asks about it meanwhile.
    with respx.mock(assert_all_called=False) as router:
        asked = router.get(url__startswith=FB)
        assert held.complete_held() == 0 and asked.call_count == 0

    # Once the lease has passed, the next run asks and lands it.
    HeldInbound.objects.update(retry_at=timezone.now() - timedelta(seconds=1))
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(
            return_value=httpx.Response(200, json={"name": "Jay Kim", "id": JAY})
        )
        assert held.complete_held() == 1
    assert InboundEvent.objects.get(channel=instagram).payload["author"]["name"] == "Jay Kim"


def test_replays_are_neither_held_twice_nor_asked_about_once_landed(
    instagram: Channel, world: World
) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(return_value=httpx.Response(400, json=THROTTLED))
        assert deliver(world, one_dm())["held"] == 1
        # Meta delivers the same message again (it waited too long for the first answer).
        again = deliver(world, one_dm())
    assert (again["stored"], again["held"], again["duplicate"]) == (0, 0, 1)
    assert HeldInbound.objects.count() == 1

    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(
            return_value=httpx.Response(200, json={"name": "Jay Kim", "id": JAY})
        )
        assert held.complete_held() == 1

    # Once landed, a replay costs no lookup at all and lands nothing new.
    with respx.mock(assert_all_called=False) as router:
        asked = router.get(url__startswith=FB)
        late = deliver(world, one_dm())
    assert asked.call_count == 0
    assert (late["stored"], late["held"], late["duplicate"]) == (0, 0, 1)
    assert InboundEvent.objects.filter(channel=instagram).count() == 1


def test_a_deleted_channel_takes_its_held_items_with_it(instagram: Channel, world: World) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(return_value=httpx.Response(400, json=THROTTLED))
        assert deliver(world, one_dm())["held"] == 1
    instagram.delete()
    assert not HeldInbound.objects.exists()
    assert held.complete_held() == 0


def test_the_inbox_tells_those_who_answer_the_channel_that_messages_are_on_their_way(
    instagram: Channel, world: World
) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{FB}/{JAY}").mock(return_value=httpx.Response(400, json=THROTTLED))
        assert deliver(world, one_dm())["held"] == 1
    waiting = "One message is waiting for the network to tell who sent it"
    client = Client()
    client.force_login(world.bianca)  # engages on Coffee, the channel's brand
    assert waiting in client.get("/inbox/").content.decode()
    client.force_login(world.agnes)  # engages on Tea only: not hers to wait for
    assert waiting not in client.get("/inbox/").content.decode()
    world.bianca.language = "ko"
    world.bianca.save(update_fields=["language"])
    client.force_login(world.bianca)
    assert "메시지 1개가 보낸 사람이나 내용을" in client.get("/inbox/").content.decode()
