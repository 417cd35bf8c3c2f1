"""A YouTube channel with Google tokens in the vault, for respx tests (no network is reachable
from here: every request is answered from Google's documentation)."""

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

TOKEN = "ya29.a0AfH6SMBx3jV-example-access-token-value"
REFRESH = "1//xEoDL4iW3cxlI7yDbSRFYNG01kVKM2C-259HOF2aQbI"
CLIENT_SECRET = "GOCSPX-google-client-secret-value"
CHANNEL_ID = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
UPLOADS = "UU_x5XG1OV2P6uZZ5FSM9Ttw"
Y = "https://www.googleapis.com/youtube/v3"
UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"


@pytest.fixture(autouse=True)
def youtube_enabled(settings: Any, tmp_path: Any) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "youtube"]
    settings.MEDIA_ROOT = str(tmp_path)
    # Publish attempts live in the shared cache; channel ids repeat between tests.
    cache.clear()


def store_tokens(channel: Channel, world: World, *, expires_in: timedelta) -> None:
    api.do_store_tokens(
        channel,
        api.StoredTokens(
            access_token=TOKEN,
            refresh_token=REFRESH,
            expires_at=timezone.now() + expires_in,
            scopes=("https://www.googleapis.com/auth/youtube.upload",),
            extra={"uploads": UPLOADS},
        ),
        acting_user=world.alice,
    )


@pytest.fixture
def youtube(world: World) -> Channel:
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="youtube",
        handle="@acmecoffee",
        external_id=CHANNEL_ID,
        owner=world.alice,
        backup=world.adam,
        acting_user=world.alice,
    )
    store_tokens(channel, world, expires_in=timedelta(hours=1))
    api.do_set_app_credentials(
        world.acme,
        "youtube",
        acting_user=world.alice,
        client_id="1234567890-abc.apps.googleusercontent.com",
        client_secret=CLIENT_SECRET,
    )
    return channel
