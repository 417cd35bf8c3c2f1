"""The Team page: people with their roles and brands, and teams."""

from __future__ import annotations

from django.test import Client

from greenroom.conftest import World
from greenroom.core import actions


def test_it_sends_strangers_to_sign_in(client: Client, db: None) -> None:
    assert client.get("/team/")["Location"].startswith("/login/")


def test_it_is_a_404_for_people_who_cannot_see_members(client: Client, world: World) -> None:
    for person in ("agnes", "paul", "carl", "charlie"):
        client.force_login(world.people[person])
        assert client.get("/team/").status_code == 404


def test_it_lists_people_roles_brands_and_teams(client: Client, world: World) -> None:
    actions.do_create_team(
        world.acme,
        name="Night shift",
        lead=world.adam,
        members=[world.agnes],
        acting_user=world.alice,
    )
    actions.do_create_team(world.globex, name="Globex care", members=[], acting_user=world.gina)
    client.force_login(world.otto)
    response = client.get("/team/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Brand manager" in page and "Acme Coffee" in page
    assert "Community agent" in page and "Acme Tea" in page
    assert "All brands" in page
    assert "Night shift" in page and "led by Adam" in page
    # Another organisation's people and teams never appear.
    assert "Gina" not in page and "Globex care" not in page
    assert "Charlie" not in page
    assert len(response.context["memberships"]) == 9
