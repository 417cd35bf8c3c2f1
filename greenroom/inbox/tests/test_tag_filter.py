"""Conversations found by tag, on both databases (`contains` on a JSON column is PostgreSQL-only:
the queue's tag filter was a 500 on SQLite)."""

from __future__ import annotations

from django.test import Client

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import World
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation
from greenroom.inbox.tests.conftest import conversation_of, item, land


def _tagged(world: World) -> None:
    land(
        world.coffee_x,
        item("t1", "bill?", author="a"),
        item("t2", "hello", author="b"),
        item("t3", "hm", author="c"),
    )
    actions.do_tag(
        [conversation_of(world.coffee_x, "t1")], add=["billing", "vip"], acting_user=world.alice
    )
    # A tag that only contains the wanted one is not it.
    actions.do_tag(
        [conversation_of(world.coffee_x, "t2")], add=["billing-old"], acting_user=world.alice
    )


def test_has_element_finds_exactly_the_tag(world: World) -> None:
    _tagged(world)
    found = Conversation.objects.filter(tags__has_element="billing")
    assert [c.thread_key for c in found] == ["c:t1"]
    assert Conversation.objects.filter(tags__has_element="vip").count() == 1
    assert not Conversation.objects.filter(tags__has_element="bill").exists()
    # Quotes and JSON syntax in the wanted tag are a value, not SQL or JSON.
    assert not Conversation.objects.filter(tags__has_element='billing" OR 1=1 --').exists()


def test_the_queue_page_filters_by_tag(world: World, client: Client) -> None:
    _tagged(world)
    client.force_login(world.alice)
    response = client.get("/inbox/", {"queue": "all", "tag": "billing"})
    assert response.status_code == 200
    shown = {row.pk for row in response.context["rows"]}
    assert shown == {conversation_of(world.coffee_x, "t1").pk}


def test_the_api_filters_by_tag(world: World) -> None:
    _tagged(world)
    api = bearer(make_token(world, "alice")[1])
    response = api.get("/api/inbox/conversations", {"tag": "billing"})
    assert response.status_code == 200, response.content
    ids = [row["id"] for row in response.json()["items"]]
    assert ids == [conversation_of(world.coffee_x, "t1").pk]
