"""AT Protocol OAuth end to end against the dev-env PDS's own OAuth provider.

Greenroom runs as a loopback client (plain-http BASE_URL). The person's part at the
authorization server (its sign-in and consent page is a JavaScript app) is played with the same
JSON calls that page makes, cookies and CSRF header included; everything Greenroom does is the
real code: resolution, PAR, DPoP with the PDS's nonces, callback, token exchange, DPoP-bound
PDS calls and refresh.
"""

from __future__ import annotations

from dataclasses import replace
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from atproto import AtUri, models
from django.test import Client as WebClient
from django.urls import reverse

from greenroom.conftest import World
from greenroom.core import vault
from greenroom.core.actions import do_create_channel, do_set_channel_credentials
from greenroom.networks.base import OutgoingPost
from greenroom.networks.bluesky.connector import KEY_FIELD, BlueskyConnector
from greenroom.networks.bluesky.session import BlueskyLogin
from greenroom.networks.bluesky.tests.conftest import PASSWORD, make_account

pytestmark = pytest.mark.peer

API = "/@atproto/oauth-provider/~api"


def _cookies(response: httpx.Response, jar: dict[str, str]) -> None:
    # The provider's cookies are Secure; httpx would not send them back over plain http.
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            jar[name] = morsel.value


def sign_in_and_consent(authorize_url: str, handle: str, did: str) -> dict[str, str]:
    """What the person does on the authorization server's page; returns the callback query."""
    parts = urlsplit(authorize_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    jar: dict[str, str] = {}
    with httpx.Client(timeout=30) as http:
        navigate = {
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
            "Sec-Fetch-Site": "cross-site",
        }
        page = http.get(authorize_url, headers={**navigate, "Accept": "text/html"})
        assert page.status_code == 200, page.text[-1500:]
        _cookies(page, jar)

        def api(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(
                f"{origin}{API}{endpoint}",
                json=body,
                headers={
                    "Origin": origin,
                    "Referer": authorize_url,
                    "Sec-Fetch-Mode": "same-origin",
                    "Sec-Fetch-Site": "same-origin",
                    "X-CSRF-Token": jar.get("csrf-token", ""),
                    "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
                },
            )
            _cookies(response, jar)
            assert response.status_code == 200, response.text[:500]
            data: dict[str, Any] = response.json()
            return data

        signed_in = api(
            "/sign-in", {"locale": "en", "username": handle, "password": PASSWORD, "remember": True}
        )
        assert did in str(signed_in["account"])
        consent = api("/consent", {"did": did})
    query = parse_qs(urlsplit(consent["url"]).query)
    return {k: v[0] for k, v in query.items() if k in ("state", "iss", "code", "error")}


@pytest.mark.django_db
def test_oauth_connects_publishes_and_refreshes_against_the_real_pds(
    world: World, pds: str, settings: Any, client: WebClient
) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]
    settings.BASE_URL = "http://localhost:8000"
    plc = urlsplit(pds)
    settings.BLUESKY_PLC_URL = f"{plc.scheme}://{plc.hostname}:{(plc.port or 80) - 1}"
    account = make_account(pds)
    channel = do_create_channel(
        world.acme,
        brand=world.tea,
        kind="bluesky",
        handle=account.handle,
        owner=world.agnes,
        acting_user=world.alice,
    )
    client.force_login(world.alice)

    started = client.post(
        reverse("bluesky:oauth_start", args=[channel.pk]),
        {"handle": account.handle, "service_url": pds},
    )
    assert started.status_code == 302, started
    params = sign_in_and_consent(started["Location"], account.handle, account.did)
    assert "code" in params, params
    finished = client.get(reverse("bluesky:oauth_callback"), params)
    assert finished["Location"] == reverse("channel_detail", args=[channel.pk])

    channel.refresh_from_db()
    assert channel.credentials is not None
    login = BlueskyLogin.decode(vault.reveal(channel.credentials))
    assert login.is_oauth and login.did == account.did and login.app_password == ""

    # A post written through the DPoP-bound token lands in the account's repository.
    connector = BlueskyConnector(channel)
    ref = connector.publish(OutgoingPost(text="Signed in with OAuth", idempotency_key="k-oauth"))
    at = AtUri.from_str(ref.external_id)
    record = account.client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=at.host, collection=at.collection, rkey=at.rkey)
    )
    assert record.value.text == "Signed in with OAuth"
    assert getattr(record.value, KEY_FIELD) == "k-oauth"

    # Refresh with DPoP: a new access token, stored, and it works.
    expired = replace(login, access_expires_at="0")
    do_set_channel_credentials(channel, token=expired.encode(), hint="", acting_user=None)
    channel.refresh_from_db()
    tokens = BlueskyConnector(channel).refresh_token()
    assert tokens is not None and tokens.access_token != login.access_jwt
    channel.refresh_from_db()
    refreshed = BlueskyLogin.decode(vault.reveal(channel.credentials))
    assert refreshed.access_jwt == tokens.access_token
    assert refreshed.refresh_jwt != login.refresh_jwt  # single-use: the new one was kept
    found = BlueskyConnector(channel).find_published("k-oauth")
    assert found is not None and found.external_id == ref.external_id
