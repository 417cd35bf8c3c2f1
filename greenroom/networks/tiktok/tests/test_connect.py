"""Connecting a TikTok account, with requests and answers from TikTok's documentation:

- Login Kit for Web (authorize URL with client_key, comma-separated scope, state):
  https://developers.tiktok.com/doc/login-kit-web
- Login Kit for Desktop (PKCE: code_challenge is the hex SHA-256 of code_verifier):
  https://developers.tiktok.com/doc/login-kit-desktop
- Manage user access tokens (POST /v2/oauth/token/ with client_key, client_secret, code,
  grant_type, redirect_uri, code_verifier; the answer with open_id, expires_in,
  refresh_expires_in): https://developers.tiktok.com/doc/oauth-user-access-token-management
"""

from __future__ import annotations

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
from greenroom.networks import network_api as api
from greenroom.networks.tiktok.tests.conftest import CLIENT_SECRET, OPEN_ID, T

ACCESS = "act.example12345Example12345Example"
REFRESH = "rft.example12345Example12345Example"


def test_connecting_uses_tiktoks_names_and_keeps_the_tokens_out_of_sight(
    world: World, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="tiktok",
        handle="@acmecoffee",
        owner=world.alice,
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme,
        "tiktok",
        acting_user=world.alice,
        client_id="awx9y3bkzlh2ab1c",
        client_secret=CLIENT_SECRET,
    )
    client = Client()
    client.login(username="alice", password=PASSWORD)
    start = client.get(f"/hooks/tiktok/connect/{channel.pk}/")
    assert start.status_code == 302
    consent = urlsplit(start["Location"])
    query = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert f"{consent.netloc}{consent.path}" == "www.tiktok.com/v2/auth/authorize/"
    assert query["client_key"] == "awx9y3bkzlh2ab1c" and "client_id" not in query
    assert query["scope"] == "user.info.basic,video.publish,video.upload,video.list"
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{T}/oauth/token/").mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": ACCESS,
                    "expires_in": 86400,
                    "open_id": OPEN_ID,
                    "refresh_expires_in": 31536000,
                    "refresh_token": REFRESH,
                    "scope": "user.info.basic,video.publish,video.upload,video.list",
                    "token_type": "Bearer",
                },
            )
        )
        done = client.get(
            "/hooks/tiktok/oauth/callback/", {"code": "CODE123", "state": query["state"]}
        )
    assert done.status_code == 302
    form = {k: v[0] for k, v in parse_qs(token.calls[0].request.content.decode()).items()}
    assert form["client_key"] == "awx9y3bkzlh2ab1c" and form["client_secret"] == CLIENT_SECRET
    assert form["grant_type"] == "authorization_code" and form["code"] == "CODE123"
    # TikTok's PKCE: the challenge sent earlier is the hex SHA-256 of this verifier.
    assert hashlib.sha256(form["code_verifier"].encode()).hexdigest() == query["code_challenge"]
    channel.refresh_from_db()
    assert channel.external_id == OPEN_ID
    assert channel.credentials is not None and channel.credentials.expires_at is not None
    stored = api.decode_tokens(vault.reveal(channel.credentials))
    assert stored.refresh_token == REFRESH and stored.refresh_expires_at is not None
    assert stored.scopes == ("user.info.basic", "video.publish", "video.upload", "video.list")
    page = client.get(f"/governance/channels/{channel.pk}/").content.decode()
    _, api_token = make_token(world, "alice")
    api_json = bearer(api_token).get(f"/api/channels/{channel.pk}").content.decode()
    for secret in (ACCESS, REFRESH, CLIENT_SECRET):
        assert secret not in page
        assert secret not in api_json
        assert secret not in caplog.text
        assert secret not in done.content.decode()
