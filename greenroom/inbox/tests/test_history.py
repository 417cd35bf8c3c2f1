"""A conversation's 'earlier conversations': the same person (their contact) for certain, the
same handle on another network only as a maybe."""

from __future__ import annotations

from django.test import Client

from greenroom.conftest import World
from greenroom.inbox.tests.conftest import conversation_of, item, land


def test_history_is_the_persons_and_a_shared_handle_elsewhere_is_a_maybe(
    world: World, client: Client
) -> None:
    land(world.coffee_x, item("h1", "first", author="minji"), item("h2", "second", author="minji"))
    land(world.coffee_instagram, item("h3", "on instagram", author="minji"))
    land(world.coffee_x, item("h4", "someone else", author="jun"))
    client.force_login(world.alice)

    response = client.get(f"/inbox/c/{conversation_of(world.coffee_x, 'h1').pk}/")

    assert response.status_code == 200
    assert [c.pk for c in response.context["history"]] == [conversation_of(world.coffee_x, "h2").pk]
    assert [c.pk for c in response.context["same_handle"]] == [
        conversation_of(world.coffee_instagram, "h3").pk
    ]
    assert "Same handle on other networks" in response.content.decode()
