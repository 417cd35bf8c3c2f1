"""Connecting a YouTube channel, with requests and answers from Google's documentation:

- OAuth 2.0 for web server applications (access_type=offline, prompt=consent, PKCE
  code_challenge / code_verifier, the token answer with refresh_token):
  https://developers.google.com/identity/protocols/oauth2/web-server
- channels.list with mine=true (id, snippet.customUrl, contentDetails.relatedPlaylists.uploads):
  https://developers.google.com/youtube/v3/docs/channels/list
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from django.test import Client

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import PASSWORD, World
from greenroom.core import actions, vault
from greenroom.core.models import Channel
from greenroom.networks import network_api as api
from greenroom.networks.youtube.tests.conftest import (
    CHANNEL_ID,
    CLIENT_SECRET,
    GOOGLE_TOKEN,
    UPLOADS,
    Y,
)

ACCESS = "ya29.a0AfH6SMC-granted-access-token-value"
REFRESH = "1//0gdJ1lK-granted-refresh-token-value"


def start_connecting(world: World, client: Client) -> tuple[Channel, dict[str, str]]:
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="youtube",
        handle="@acmecoffee",
        owner=world.alice,
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme,
        "youtube",
        acting_user=world.alice,
        client_id="1234567890-abc.apps.googleusercontent.com",
        client_secret=CLIENT_SECRET,
    )
    client.login(username="alice", password=PASSWORD)
    start = client.get(f"/hooks/youtube/connect/{channel.pk}/")
    assert start.status_code == 302
    consent = urlsplit(start["Location"])
    assert f"{consent.netloc}{consent.path}" == "accounts.google.com/o/oauth2/v2/auth"
    return channel, {k: v[0] for k, v in parse_qs(consent.query).items()}


def test_connecting_keeps_the_channel_id_uploads_and_tokens_out_of_sight(
    world: World, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client()
    channel, query = start_connecting(world, client)
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256"
    assert "https://www.googleapis.com/auth/youtube.force-ssl" in query["scope"].split(" ")
    with respx.mock(assert_all_called=True) as router:
        token = router.post(GOOGLE_TOKEN).mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": ACCESS,
                    "expires_in": 3599,
                    "refresh_token": REFRESH,
                    "scope": "https://www.googleapis.com/auth/youtube.upload "
                    "https://www.googleapis.com/auth/youtube.force-ssl",
                    "token_type": "Bearer",
                },
            )
        )
        mine = router.get(f"{Y}/channels").mock(
            return_value=httpx.Response(
                200,
                json={
                    "kind": "youtube#channelListResponse",
                    "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
                    "items": [
                        {
                            "kind": "youtube#channel",
                            "id": CHANNEL_ID,
                            "snippet": {"title": "Acme Coffee", "customUrl": "@acmecoffee"},
                            "contentDetails": {
                                "relatedPlaylists": {"likes": "", "uploads": UPLOADS}
                            },
                        }
                    ],
                },
            )
        )
        done = client.get(
            "/hooks/youtube/oauth/callback/", {"code": "4/P7q7W91", "state": query["state"]}
        )
    assert done.status_code == 302
    form = parse_qs(token.calls[0].request.content.decode())
    verifier = form["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == query["code_challenge"]
    assert dict(mine.calls[0].request.url.params) == {
        "part": "id,snippet,contentDetails",
        "mine": "true",
    }
    assert mine.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    channel.refresh_from_db()
    assert channel.external_id == CHANNEL_ID
    assert channel.credentials is not None and channel.credentials.expires_at is not None
    stored = api.decode_tokens(vault.reveal(channel.credentials))
    assert (stored.refresh_token, stored.extra["uploads"]) == (REFRESH, UPLOADS)
    assert "https://www.googleapis.com/auth/youtube.upload" in stored.scopes
    page = client.get(f"/governance/channels/{channel.pk}/").content.decode()
    _, api_token = make_token(world, "alice")
    api_json = bearer(api_token).get(f"/api/channels/{channel.pk}").content.decode()
    for secret in (ACCESS, REFRESH, CLIENT_SECRET):
        assert secret not in page
        assert secret not in api_json
        assert secret not in caplog.text
        assert secret not in done.content.decode()


def test_a_grant_without_a_refresh_token_is_refused_with_what_to_do(world: World) -> None:
    client = Client()
    channel, query = start_connecting(world, client)
    with respx.mock() as router:
        router.post(GOOGLE_TOKEN).mock(
            return_value=httpx.Response(
                200, json={"access_token": ACCESS, "expires_in": 3599, "token_type": "Bearer"}
            )
        )
        done = client.get(
            "/hooks/youtube/oauth/callback/",
            {"code": "4/P7q7W91", "state": query["state"]},
            follow=True,
        )
    channel.refresh_from_db()
    assert channel.credentials is None
    assert "Third-party access" in done.content.decode()
