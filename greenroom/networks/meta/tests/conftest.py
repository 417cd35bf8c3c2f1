"""Channels connected to Facebook, Instagram and Threads with tokens in the vault, for respx
tests (no network is reachable from here: every request is answered from Meta's documentation)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import Channel
from greenroom.networks import network_api as api
from greenroom.networks.meta import graph

PAGE_TOKEN = "EAAGm0PX4ZCpsBAPageTokenSecretValue123"
THREADS_TOKEN = "THQVJYbnNecretThreadsLongLivedToken456"
APP_SECRET = "meta-app-secret-0123456789abcdef"
V = graph.graph_version()
FB = f"https://graph.facebook.com/{V}"
TH = "https://graph.threads.net/v1.0"


@pytest.fixture(autouse=True)
def meta_enabled(settings: Any, monkeypatch: Any) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "facebook", "instagram", "threads"]
    settings.PUBLIC_MEDIA_URL = "https://cdn.example.com/media/"
    monkeypatch.setattr(graph, "sleep", lambda seconds: None)
    # Attempt records live in the shared cache; channel ids repeat between tests.
    cache.clear()


def connect(world: World, kind: str, external_id: str, token: str) -> Channel:
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind=kind,
        handle=f"acme.{kind}",
        external_id=external_id,
        owner=world.alice,
        backup=world.adam,
        acting_user=world.alice,
    )
    api.do_store_tokens(
        channel,
        api.StoredTokens(
            access_token=token, scopes=("pages_manage_posts",), extra={"page_id": "1122"}
        ),
        acting_user=world.alice,
    )
    for name, value in (("client_id", "1234567890"), ("client_secret", APP_SECRET)):
        api.do_set_app_credentials(world.acme, kind, acting_user=world.alice, **{name: value})
    return channel


@pytest.fixture
def instagram(world: World) -> Channel:
    return connect(world, "instagram", "17841405822304914", PAGE_TOKEN)


@pytest.fixture
def facebook(world: World) -> Channel:
    return connect(world, "facebook", "1122", PAGE_TOKEN)


@pytest.fixture
def threads(world: World) -> Channel:
    return connect(world, "threads", "1234567", THREADS_TOKEN)
