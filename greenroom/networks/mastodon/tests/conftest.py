from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from mastodon import Mastodon

from greenroom.conftest import World
from greenroom.core.actions import do_create_channel
from greenroom.core.models import Channel
from greenroom.networks.base import TokenSet
from greenroom.networks.connections.testing import peer_url, unique_name
from greenroom.networks.mastodon.actions import do_connect_mastodon_channel


@dataclass
class MastodonAccount:
    username: str
    token: str
    api: Mastodon
    id: str


def make_account(server: str) -> MastodonAccount:
    """A fresh account on the mock server, signed up the way Mastodon's API allows."""
    client_id, client_secret = Mastodon.create_app(
        "greenroom-tests", scopes=["read", "write"], api_base_url=server
    )
    registrar = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server)
    username = unique_name("u")
    token = registrar.create_account(
        username, "a long password", f"{username}@example.com", agreement=True, locale="en"
    )
    api = Mastodon(access_token=token, api_base_url=server)
    return MastodonAccount(username, token, api, str(api.account_verify_credentials()["id"]))


@pytest.fixture
def mastodon_server() -> str:
    return peer_url("GREENROOM_MASTODON_URL", "mastodon-mock")


@pytest.fixture
def mastodon_channel(
    world: World, mastodon_server: str, settings: Any
) -> Callable[[], tuple[Channel, MastodonAccount]]:
    """A Coffee channel connected to a new account on the mock (token as OAuth would grant)."""
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "mastodon"]

    def connect() -> tuple[Channel, MastodonAccount]:
        account = make_account(mastodon_server)
        channel = do_create_channel(
            world.acme,
            brand=world.coffee,
            kind="mastodon",
            handle=f"@{account.username}@127.0.0.1",
            acting_user=world.alice,
        )
        do_connect_mastodon_channel(
            channel,
            instance_url=mastodon_server,
            tokens=TokenSet(access_token=account.token),
            acting_user=world.alice,
        )
        channel.refresh_from_db()
        return channel, account

    return connect
