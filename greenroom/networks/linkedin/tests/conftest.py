"""A LinkedIn page channel with tokens in the vault, for respx tests (no network is reachable
from here: every request is answered from LinkedIn's documentation)."""

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
from greenroom.networks.linkedin import connector as linkedin

TOKEN = "AQXdSP_W41_UPs5ioT_t8HESyODB4FqbkJ8LrV_5mff4gPODzOYR"
REFRESH = "AQWAft_WjYZKwuWXLC5hQlghgTam-tuT8CvFej9-XxGyqeER_7jTr"
CLIENT_SECRET = "linkedin-client-secret-0123456789"
PAGE = "urn:li:organization:2414183"
A = "https://api.linkedin.com/rest"


@pytest.fixture(autouse=True)
def linkedin_enabled(settings: Any, tmp_path: Any, monkeypatch: Any) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "linkedin"]
    settings.MEDIA_ROOT = str(tmp_path)
    settings.LINKEDIN_API_VERSION = "202610"
    monkeypatch.setattr(linkedin, "sleep", lambda seconds: None)
    # Publish attempts live in the shared cache; channel ids repeat between tests.
    cache.clear()


@pytest.fixture
def page(world: World) -> Channel:
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="linkedin",
        handle="acme-coffee",
        external_id=PAGE,
        owner=world.alice,
        backup=world.adam,
        acting_user=world.alice,
    )
    api.do_store_tokens(
        channel,
        api.StoredTokens(
            access_token=TOKEN,
            refresh_token=REFRESH,
            expires_at=timezone.now() + timedelta(days=60),
            scopes=("w_organization_social", "r_organization_social"),
        ),
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme,
        "linkedin",
        acting_user=world.alice,
        client_id="78abcdefgh12",
        client_secret=CLIENT_SECRET,
    )
    return channel
