from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from atproto import Client, models

from greenroom.conftest import World
from greenroom.core.actions import do_create_channel
from greenroom.core.models import Channel
from greenroom.networks.bluesky.actions import do_connect_bluesky_channel
from greenroom.networks.connections.testing import peer_url, unique_name

# The dev-env seeds alice.test, bob.test and carla.test with this password.
PASSWORD = "hunter2"


@dataclass
class PdsAccount:
    handle: str
    did: str
    password: str
    app_password: str
    client: Client


def _login(pds: str, handle: str, password: str) -> Client:
    client = Client(base_url=pds)
    # Without the profile lookup: the AppView indexes a new account a moment later, and the
    # session itself is all the tests need (send_post reads only `me.did`).
    client.login(handle, password, fetch_bsky_profile=False)
    assert client._session is not None
    client.me = models.AppBskyActorDefs.ProfileViewDetailed(
        did=client._session.did, handle=client._session.handle
    )
    return client


def make_account(pds: str, handle: str | None = None) -> PdsAccount:
    """An account on the PDS (created, or signed in to when the handle exists) with a fresh
    app password, as a person would create in Bluesky's settings."""
    handle = handle or f"{unique_name('gr')}.test"
    client = Client(base_url=pds)
    try:
        client.com.atproto.server.create_account(
            models.ComAtprotoServerCreateAccount.Data(
                handle=handle, email=f"{handle}@example.com", password=PASSWORD
            )
        )
    except Exception as exc:
        if "taken" not in str(exc).lower() and "already" not in str(exc).lower():
            raise
    client = _login(pds, handle, PASSWORD)
    app = client.com.atproto.server.create_app_password(
        models.ComAtprotoServerCreateAppPassword.Data(name=unique_name("greenroom-"))
    )
    assert client._session is not None
    return PdsAccount(handle, client._session.did, PASSWORD, app.password, client)


@pytest.fixture
def pds() -> str:
    return peer_url("GREENROOM_BLUESKY_PDS", "the Bluesky dev-env PDS")


@pytest.fixture
def bluesky_channel(
    world: World, pds: str, settings: Any
) -> Callable[..., tuple[Channel, PdsAccount]]:
    """A connected Bluesky channel of Acme Tea on the local PDS (a new account each call)."""
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]

    def connect(handle: str | None = None) -> tuple[Channel, PdsAccount]:
        account = make_account(pds, handle)
        channel = do_create_channel(
            world.acme,
            brand=world.tea,
            kind="bluesky",
            handle=account.handle,
            owner=world.agnes,
            acting_user=world.alice,
        )
        do_connect_bluesky_channel(
            channel,
            identifier=account.handle,
            app_password=account.app_password,
            service_url=pds,
            acting_user=world.alice,
        )
        channel.refresh_from_db()
        return channel, account

    return connect


def wait_for(check: Callable[[], Any], *, seconds: float = 10.0) -> Any:
    """Poll until the AppView has indexed what a test just wrote (it follows the PDS)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)
