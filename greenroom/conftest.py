"""Shared test personas (compare healthchecks' BaseTestCase).

Acme has two brands. alice owns it; every other role has one named person; bianca manages only the
Coffee brand and agnes engages only on Tea channels; charlie belongs to no organisation. Globex is
another tenant with its own owner gina and its own channel: nothing of it may leak into Acme.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from greenroom.core import actions
from greenroom.core.models import Brand, Channel, Organization, User
from greenroom.core.permissions import Role


def fuzz_examples(count: int) -> int:
    """How many examples a fuzz test draws: `count`, scaled by GREENROOM_FUZZ_SCALE. `make test`
    draws them all; CI (.ci/run) draws half in its SQLite pass and a quarter in its PostgreSQL
    pass to stay within its time budget, and each run draws new ones."""
    scale = float(os.environ.get("GREENROOM_FUZZ_SCALE") or 1)
    return max(5, round(count * scale))


PASSWORD = "correct horse battery staple"


@dataclass
class World:
    acme: Organization
    globex: Organization
    coffee: Brand
    tea: Brand
    coffee_x: Channel
    coffee_instagram: Channel
    tea_bluesky: Channel
    globex_x: Channel
    people: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None


ROLE_OF = {
    "adam": Role.ADMIN,
    "bianca": Role.BRAND_MANAGER,
    "paul": Role.PUBLISHER,
    "carl": Role.CONTRIBUTOR,
    "april": Role.APPROVER,
    "agnes": Role.COMMUNITY_AGENT,
    "anna": Role.ANALYST,
    "otto": Role.AUDITOR,
}


def make_user(username: str) -> User:
    return actions.do_create_user(
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        display_name=username.capitalize(),
        acting_user=None,
    )


def build_world() -> World:
    people = {name: make_user(name) for name in ["alice", *ROLE_OF, "charlie", "gina"]}
    alice = people["alice"]
    acme = actions.do_create_organization(name="Acme", owner=alice, acting_user=alice)
    globex = actions.do_create_organization(name="Globex", owner=people["gina"], acting_user=None)
    coffee = actions.do_create_brand(acme, name="Acme Coffee", acting_user=alice)
    tea = actions.do_create_brand(acme, name="Acme Tea", acting_user=alice)
    for name, role in ROLE_OF.items():
        brands = {"bianca": [coffee], "agnes": [tea]}.get(name, [])
        actions.do_add_member(acme, people[name], role, brands=brands, acting_user=alice)

    def channel(org: Organization, brand: Brand, kind: str, handle: str) -> Channel:
        return actions.do_create_channel(
            org,
            brand=brand,
            kind=kind,
            handle=handle,
            sandboxed=True,
            acting_user=None,
            timezone_name="Asia/Seoul",
        )

    globex_brand = actions.do_create_brand(globex, name="Globex", acting_user=None)
    return World(
        acme=acme,
        globex=globex,
        coffee=coffee,
        tea=tea,
        coffee_x=channel(acme, coffee, "x", "@acmecoffee"),
        coffee_instagram=channel(acme, coffee, "instagram", "acme.coffee"),
        tea_bluesky=channel(acme, tea, "bluesky", "acmetea.bsky.social"),
        globex_x=channel(globex, globex_brand, "x", "@globex"),
        people=people,
    )


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@pytest.fixture(autouse=True)
def _english_and_utc_between_tests() -> Any:
    """A test that signs in a Korean-speaking person leaves Korean active in its thread; the next
    test in the same worker must start from the defaults again."""
    from django.utils import timezone, translation

    yield
    translation.activate("en")
    timezone.deactivate()
