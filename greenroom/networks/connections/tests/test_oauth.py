"""The shared OAuth 2 + PKCE connect flow (greenroom/networks/oauth.py), with a network's token
endpoint answered by respx the way RFC 6749 and RFC 7636 describe."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from greenroom.conftest import World
from greenroom.core import vault
from greenroom.core.models import Channel, User
from greenroom.networks import oauth
from greenroom.networks.base import ConnectorError

TOKEN_URL = "https://auth.example/oauth/token"


class FakeProvider:
    network = "examplenet"

    def __init__(self) -> None:
        self.connected_with: list[tuple[Channel, oauth.Grant, Mapping[str, str]]] = []

    def client_for(self, channel: Channel, context: Mapping[str, str]) -> oauth.OAuthClient:
        return oauth.OAuthClient(
            network="Examplenet",
            authorize_url="https://auth.example/oauth/authorize",
            token_url=TOKEN_URL,
            client_id="client-1",
            client_secret="client-secret-abc",
            scopes=("read", "write"),
        )

    def connected(
        self,
        channel: Channel,
        grant: oauth.Grant,
        *,
        context: Mapping[str, str],
        acting_user: User,
    ) -> None:
        self.connected_with.append((channel, grant, context))


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    oauth.register_provider(fake)
    yield fake
    oauth._providers.pop(fake.network, None)


def start(client: Any, channel: Channel) -> dict[str, str]:
    response = client.get(f"/hooks/examplenet/connect/{channel.pk}/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://auth.example/oauth/authorize"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def test_the_authorization_url_carries_state_and_an_s256_challenge(
    world: World, provider: FakeProvider, client: Any
) -> None:
    client.force_login(world.alice)
    query = start(client, world.tea_bluesky)

    assert query["response_type"] == "code"
    assert query["client_id"] == "client-1"
    assert query["scope"] == "read write"
    assert query["redirect_uri"] == "http://testserver/hooks/examplenet/oauth/callback/"
    assert query["code_challenge_method"] == "S256"
    pending = client.session[oauth.SESSION_KEY][query["state"]]
    digest = hashlib.sha256(pending["verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    # The verifier stays on our side.
    assert pending["verifier"] not in str(query)


@respx.mock
def test_the_callback_trades_the_code_with_the_verifier(
    world: World, provider: FakeProvider, client: Any
) -> None:
    client.force_login(world.alice)
    query = start(client, world.tea_bluesky)
    verifier = client.session[oauth.SESSION_KEY][query["state"]]["verifier"]
    token = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "access_token": "at-123456789012345",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": "rt-123456789012345",
                "scope": "read write",
            },
        )
    )

    done = client.get(
        "/hooks/examplenet/oauth/callback/", {"code": "the-code", "state": query["state"]}
    )

    assert done.status_code == 302
    assert done["Location"] == f"/governance/channels/{world.tea_bluesky.pk}/"
    sent = parse_qs(token.calls[0].request.content.decode())
    assert sent == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": ["http://testserver/hooks/examplenet/oauth/callback/"],
        "code_verifier": [verifier],
        "client_id": ["client-1"],
        "client_secret": ["client-secret-abc"],
    }
    [(channel, grant, _context)] = provider.connected_with
    assert channel == world.tea_bluesky
    assert grant.tokens.access_token == "at-123456789012345"
    assert grant.tokens.refresh_token == "rt-123456789012345"
    assert grant.tokens.expires_at is not None
    assert grant.scopes == ("read", "write")
    assert "access_token" not in grant.extra
    # Both tokens are known to the log filter from the moment they arrive.
    assert {"at-123456789012345", "rt-123456789012345"} <= vault.known_plaintexts()
    # A state works once.
    again = client.get(
        "/hooks/examplenet/oauth/callback/", {"code": "the-code", "state": query["state"]}
    )
    assert again["Location"] == "/governance/" and len(provider.connected_with) == 1


@respx.mock
def test_a_refused_code_is_explained_and_nothing_is_stored(
    world: World, provider: FakeProvider, client: Any
) -> None:
    client.force_login(world.alice)
    query = start(client, world.tea_bluesky)
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))

    done = client.get("/hooks/examplenet/oauth/callback/", {"code": "x", "state": query["state"]})

    assert done.status_code == 302
    page = client.get(done["Location"])
    assert "refused to grant access (invalid_grant)" in page.content.decode()
    assert provider.connected_with == []


def test_a_person_who_said_no_is_sent_back_with_nothing_changed(
    world: World, provider: FakeProvider, client: Any
) -> None:
    client.force_login(world.alice)
    query = start(client, world.tea_bluesky)

    done = client.get(
        "/hooks/examplenet/oauth/callback/", {"error": "access_denied", "state": query["state"]}
    )

    assert "did not grant access" in client.get(done["Location"]).content.decode()
    assert provider.connected_with == []


def test_a_forged_state_is_refused(world: World, provider: FakeProvider, client: Any) -> None:
    client.force_login(world.alice)
    start(client, world.tea_bluesky)

    done = client.get("/hooks/examplenet/oauth/callback/", {"code": "x", "state": "forged"})

    assert done["Location"] == "/governance/"
    assert provider.connected_with == []


@pytest.mark.parametrize("person", ["agnes", "gina"])
def test_only_channel_administrators_can_start_connecting(
    world: World, provider: FakeProvider, client: Any, person: str
) -> None:
    client.force_login(world.people[person])

    response = client.get(f"/hooks/examplenet/connect/{world.tea_bluesky.pk}/")

    assert response.status_code == 404


@respx.mock
def test_refresh_keeps_the_old_refresh_token_when_none_comes_back() -> None:
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": "new-access-1234", "expires_in": 60})
    )
    client = FakeProvider().client_for(None, {})  # type: ignore[arg-type]

    grant = oauth.refresh(client, "old-refresh-1234")

    assert grant.tokens.access_token == "new-access-1234"
    assert grant.tokens.refresh_token == "old-refresh-1234"


@respx.mock
def test_an_unreachable_token_endpoint_is_temporary() -> None:
    respx.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("refused"))
    client = FakeProvider().client_for(None, {})  # type: ignore[arg-type]

    with pytest.raises(ConnectorError) as error:
        oauth.refresh(client, "old-refresh-1234")
    assert not error.value.permanent
