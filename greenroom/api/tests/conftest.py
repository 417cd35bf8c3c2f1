"""API test helpers: a read+write token for every persona and a client that sends it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import ApiToken

ACME_PEOPLE = ["alice", "adam", "bianca", "paul", "carl", "april", "agnes", "anna", "otto"]


def make_token(
    world: World, name: str, scopes: tuple[str, ...] = ("read", "write"), org: Any = None, **kw: Any
) -> tuple[ApiToken, str]:
    person = world.people[name]
    org = org or (world.globex if name == "gina" else world.acme)
    return actions.do_create_api_token(
        person, org, name=f"{name}'s script", scopes=scopes, acting_user=person, **kw
    )


def bearer(plaintext: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def call(client: Client, method: str, path: str, body: Any = None) -> Any:
    """One API request; bodies go as JSON, GET parameters as the query string."""
    if method == "GET":
        return client.get(path, body or {})
    return getattr(client, method.lower())(
        path, body if body is not None else {}, content_type="application/json"
    )


@pytest.fixture
def tokens(world: World) -> dict[str, tuple[ApiToken, str]]:
    """A read+write token for each member of Acme, and for gina in Globex."""
    return {name: make_token(world, name) for name in [*ACME_PEOPLE, "gina"]}


@pytest.fixture
def as_alice(tokens: dict[str, tuple[ApiToken, str]]) -> Client:
    return bearer(tokens["alice"][1])
