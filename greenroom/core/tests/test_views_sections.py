"""The product's sections: each opens only for the roles it is for (a 404 for everyone else)."""

from __future__ import annotations

import pytest
from django.test import Client

from greenroom.conftest import World

SECTIONS = ["publishing", "inbox", "crisis", "governance", "team", "analytics"]

# Written out by hand so a change to who sees what shows up here.
OPENS_FOR: dict[str, set[str]] = {
    "publishing": {"alice", "adam", "bianca", "paul", "carl", "april"},
    "inbox": {"alice", "adam", "bianca", "agnes"},
    "crisis": {"alice", "adam", "bianca", "paul", "april", "agnes"},
    "governance": {"alice", "adam", "bianca", "otto"},
    "team": {"alice", "adam", "bianca", "otto"},
    "analytics": {"alice", "adam", "bianca", "paul", "anna", "otto"},
}
ACME_PEOPLE = ["alice", "adam", "bianca", "paul", "carl", "april", "agnes", "anna", "otto"]


@pytest.mark.parametrize("section", SECTIONS)
def test_it_sends_strangers_to_sign_in(client: Client, db: None, section: str) -> None:
    response = client.get(f"/{section}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("person", [*ACME_PEOPLE, "charlie"])
def test_each_section_opens_only_for_its_roles(
    client: Client, world: World, section: str, person: str
) -> None:
    client.force_login(world.people[person])
    response = client.get(f"/{section}/")
    expected = 200 if person in OPENS_FOR[section] else 404
    assert response.status_code == expected
    if expected == 200:
        nav = [item["key"] for item in response.context["shell_nav"]]
        assert section in nav
        assert 'aria-current="page"' in response.content.decode()
    else:
        home = client.get("/")
        assert section not in [item["key"] for item in home.context["shell_nav"]]


@pytest.mark.parametrize(
    ("section", "promise"),
    [
        ("publishing", "publish exactly once"),
        ("inbox", "SLA clock"),
        ("crisis", "pauses scheduled publishing"),
        ("analytics", "plain-language summaries"),
    ],
)
def test_empty_sections_say_what_will_be_there(
    client: Client, world: World, section: str, promise: str
) -> None:
    client.force_login(world.alice)
    assert promise in client.get(f"/{section}/").content.decode()


def test_publishing_lists_the_channels_one_can_draft_for(client: Client, world: World) -> None:
    client.force_login(world.bianca)
    page = client.get("/publishing/").content.decode()
    assert "@acmecoffee" in page
    assert "acmetea.bsky.social" not in page
    assert "@globex" not in page


def test_analytics_counts_channels_per_network(client: Client, world: World) -> None:
    client.force_login(world.anna)
    response = client.get("/analytics/")
    assert {row["kind"]: row["count"] for row in response.context["by_network"]} == {
        "x": 1,
        "instagram": 1,
        "bluesky": 1,
    }


def test_a_channel_grant_opens_the_section_it_needs(client: Client, world: World) -> None:
    from greenroom.core import actions

    # Anna (analyst) gets engage on one channel: the inbox opens for her.
    actions.do_grant_channel_permission(
        world.coffee_x, world.anna, "engage", acting_user=world.alice
    )
    client.force_login(world.anna)
    assert client.get("/inbox/").status_code == 200
