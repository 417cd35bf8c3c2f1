"""A TikTok channel with tokens in the vault, for respx tests (no network is reachable from
here: every request is answered from TikTok's documentation)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import Channel
from greenroom.networks import network_api as api
from greenroom.networks.tiktok import connector as tiktok

TOKEN = "act.1d1021d2aee3d41fee2d2add43456badMFokOB2FYXzxgaKR4Oh6vVhPmJTY"
REFRESH = "rft.713c2bb2b35a2de3d1bc1a1ef4bc9ab4Z6Lwn5Mtfnd3i2yw0nS4bqAMn1P"
CLIENT_SECRET = "tiktok-client-secret-abcdef0123456"
OPEN_ID = "afd97af1-b87b-48b9-ac98-410aghda5344"
T = "https://open.tiktokapis.com/v2"


@pytest.fixture(autouse=True)
def tiktok_enabled(settings: Any, tmp_path: Any, monkeypatch: Any) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "tiktok"]
    settings.MEDIA_ROOT = str(tmp_path)
    settings.PUBLIC_MEDIA_URL = "https://media.acme.example/m/"
    monkeypatch.setattr(tiktok, "sleep", lambda seconds: None)
    # Publish attempts live in the shared cache; channel ids repeat between tests.
    cache.clear()


def store_tokens(channel: Channel, world: World, *, expires_in: timedelta) -> None:
    api.do_store_tokens(
        channel,
        api.StoredTokens(
            access_token=TOKEN,
            refresh_token=REFRESH,
            expires_at=timezone.now() + expires_in,
            scopes=("video.publish", "video.upload", "video.list"),
            extra={"open_id": OPEN_ID},
        ),
        acting_user=world.alice,
    )


@pytest.fixture
def account(world: World) -> Channel:
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="tiktok",
        handle="@acmecoffee",
        external_id=OPEN_ID,
        owner=world.alice,
        backup=world.adam,
        acting_user=world.alice,
    )
    store_tokens(channel, world, expires_in=timedelta(hours=24))
    api.do_set_app_credentials(
        world.acme,
        "tiktok",
        acting_user=world.alice,
        client_id="awx9y3bkzlh2ab1c",
        client_secret=CLIENT_SECRET,
    )
    return channel
