"""AT Protocol OAuth: resolution, PAR with PKCE and DPoP, callback checks, token exchange,
refresh, and DPoP-bound PDS calls, against request/response shapes from the AT Protocol OAuth
profile (respx). Every DPoP proof sent is decoded and its signature checked with the key it
names."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.test import Client as WebClient
from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import ECKey

from greenroom.conftest import World
from greenroom.core import vault
from greenroom.core.actions import do_create_channel
from greenroom.core.models import AuditEvent, Channel, User
from greenroom.networks.bluesky import oauth
from greenroom.networks.bluesky.connector import BlueskyConnector
from greenroom.networks.bluesky.session import BlueskyLogin

HANDLE = "acmetea.example.com"
DID = "did:plc:acmeteaacmeteaacmetea00"
PDS = "https://pds.example.com"
ISSUER = "https://auth.example.com"
PAR = f"{ISSUER}/oauth/par"
TOKEN = f"{ISSUER}/oauth/token"
AUTHORIZE = f"{ISSUER}/oauth/authorize"
PLC = "https://plc.example.com"
BASE = "https://greenroom.example.org"


def proof_of(request: httpx.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The DPoP proof's header and claims, its signature checked with its own jwk."""
    token = request.headers["DPoP"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"]  # the private part never leaves Greenroom
    decoded = jwt.decode(token, ECKey.import_key(header["jwk"]), algorithms=["ES256"])
    return decoded.header, decoded.claims


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def channel(world: World, settings: Any) -> Channel:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]
    settings.BASE_URL = BASE
    settings.BLUESKY_PLC_URL = PLC
    return do_create_channel(
        world.acme,
        brand=world.tea,
        kind="bluesky",
        handle=HANDLE,
        owner=world.agnes,
        acting_user=world.alice,
    )


def mock_discovery(router: respx.Router) -> None:
    router.get(f"https://{HANDLE}/.well-known/atproto-did").respond(404)
    router.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle", params={"handle": HANDLE}).respond(
        200, json={"did": DID}
    )
    router.get(f"{PLC}/{DID}").respond(
        200,
        json={
            "id": DID,
            "alsoKnownAs": [f"at://{HANDLE}"],
            "service": [
                {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": PDS}
            ],
        },
    )
    router.get(f"{PDS}/.well-known/oauth-protected-resource").respond(
        200, json={"resource": PDS, "authorization_servers": [ISSUER]}
    )
    router.get(f"{ISSUER}/.well-known/oauth-authorization-server").respond(
        200,
        json={
            "issuer": ISSUER,
            "authorization_endpoint": AUTHORIZE,
            "token_endpoint": TOKEN,
            "pushed_authorization_request_endpoint": PAR,
            "require_pushed_authorization_requests": True,
            "dpop_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["atproto", "transition:generic"],
            "authorization_response_iss_parameter_supported": True,
        },
    )


def start_flow(web: WebClient, channel: Channel, router: respx.Router) -> tuple[str, str]:
    """POST the OAuth form; returns (state, code_challenge) from the PAR sent."""
    mock_discovery(router)
    par = router.post(PAR)
    par.side_effect = [
        httpx.Response(
            400,
            json={
                "error": "use_dpop_nonce",
                "error_description": "Authorization server requires nonce in DPoP proof",
            },
            headers={"DPoP-Nonce": "as-nonce-1"},
        ),
        httpx.Response(
            201,
            json={"request_uri": "urn:ietf:params:oauth:request_uri:req-1", "expires_in": 299},
            headers={"DPoP-Nonce": "as-nonce-2"},
        ),
    ]
    response = web.post(
        f"/networks/bluesky/oauth/start/{channel.pk}/", {"handle": HANDLE, "service_url": PDS}
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == AUTHORIZE
    query = parse_qs(location.query)
    assert query["request_uri"] == ["urn:ietf:params:oauth:request_uri:req-1"]
    assert query["client_id"] == [f"{BASE}/networks/bluesky/oauth/client-metadata.json"]

    assert par.call_count == 2
    first, second = (call.request for call in par.calls)
    (h1, c1), (h2, c2) = proof_of(first), proof_of(second)
    assert c1["htm"] == "POST" and c1["htu"] == PAR and "nonce" not in c1 and "ath" not in c1
    assert c2["nonce"] == "as-nonce-1" and c2["htu"] == PAR
    assert c1["jti"] != c2["jti"]
    assert abs(c2["iat"] - time.time()) < 60
    assert h1["jwk"] == h2["jwk"]
    form = form_of(second)
    assert form["client_id"] == f"{BASE}/networks/bluesky/oauth/client-metadata.json"
    assert form["response_type"] == "code"
    assert form["redirect_uri"] == f"{BASE}/networks/bluesky/oauth/callback/"
    assert form["scope"] == "atproto transition:generic"
    assert form["code_challenge_method"] == "S256"
    assert form["login_hint"] == HANDLE
    assert len(form["state"]) >= 20
    return form["state"], form["code_challenge"]


def token_answer(sub: str = DID, **extra: Any) -> dict[str, Any]:
    return {
        "access_token": "at-1-secret-access",
        "token_type": "DPoP",
        "expires_in": 3600,
        "refresh_token": "rt-1-secret-refresh",
        "scope": "atproto transition:generic",
        "sub": sub,
        **extra,
    }


def stored_login(channel: Channel) -> BlueskyLogin:
    channel.refresh_from_db()
    assert channel.credentials is not None
    return BlueskyLogin.decode(vault.reveal(channel.credentials))


@pytest.mark.django_db
def test_client_metadata_is_served_at_its_client_id(channel: Channel, client: WebClient) -> None:
    response = client.get("/networks/bluesky/oauth/client-metadata.json")
    assert response.status_code == 200
    data = response.json()
    assert data["client_id"] == f"{BASE}/networks/bluesky/oauth/client-metadata.json"
    assert data["redirect_uris"] == [f"{BASE}/networks/bluesky/oauth/callback/"]
    assert data["scope"] == "atproto transition:generic"
    assert data["dpop_bound_access_tokens"] is True
    assert data["token_endpoint_auth_method"] == "none"
    assert data["grant_types"] == ["authorization_code", "refresh_token"]


def test_plain_http_base_url_uses_the_loopback_client_id(settings: Any) -> None:
    settings.BASE_URL = "http://localhost:8000"
    client_id = urlsplit(oauth.client_id())
    assert (client_id.scheme, client_id.netloc, client_id.path) == ("http", "localhost", "")
    query = parse_qs(client_id.query)
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/networks/bluesky/oauth/callback/"]
    assert query["scope"] == ["atproto transition:generic"]


@pytest.mark.django_db
def test_oauth_connects_the_channel_and_pds_calls_carry_dpop(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        state, challenge = start_flow(client, channel, router)
        token = router.post(TOKEN).respond(
            200, json=token_answer(), headers={"DPoP-Nonce": "as-nonce-3"}
        )
        response = client.get(
            "/networks/bluesky/oauth/callback/",
            {"state": state, "iss": ISSUER, "code": "code-1"},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("channel_detail", args=[channel.pk])
        assert token.call_count == 1
        sent = token.calls[0].request
        form = form_of(sent)
        assert form["grant_type"] == "authorization_code"
        assert form["code"] == "code-1"
        assert form["redirect_uri"] == f"{BASE}/networks/bluesky/oauth/callback/"
        digest = hashlib.sha256(form["code_verifier"].encode()).digest()
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
        _header, claims = proof_of(sent)
        assert claims["htm"] == "POST" and claims["htu"] == TOKEN
        assert claims["nonce"] == "as-nonce-2"  # the newest nonce the server gave

        login = stored_login(channel)
        assert login.is_oauth and login.did == DID and login.service == PDS
        assert login.access_jwt == "at-1-secret-access"
        assert login.refresh_jwt == "rt-1-secret-refresh"
        assert login.app_password == ""
        assert json.loads(login.dpop_key)["d"]
        assert channel.external_id == DID
        assert AuditEvent.objects.filter(action__contains="credential", actor=world.alice).exists()

        # A PDS call: DPoP authorization, a proof bound to the token, the PDS's nonce retried.
        listing = router.get(f"{PDS}/xrpc/com.atproto.repo.listRecords")
        listing.side_effect = [
            httpx.Response(
                401,
                json={"error": "use_dpop_nonce", "message": "DPoP nonce mismatch"},
                headers={
                    "WWW-Authenticate": 'DPoP error="use_dpop_nonce", error_description="nonce"',
                    "DPoP-Nonce": "pds-nonce-1",
                },
            ),
            httpx.Response(200, json={"records": []}),
        ]
        assert BlueskyConnector(channel).find_published("key-1") is None
        assert listing.call_count == 2
        first, second = (call.request for call in listing.calls)
        for request in (first, second):
            assert request.headers["Authorization"] == "DPoP at-1-secret-access"
        _h, pds_claims = proof_of(second)
        assert pds_claims["htm"] == "GET"
        assert pds_claims["htu"] == f"{PDS}/xrpc/com.atproto.repo.listRecords"
        assert pds_claims["nonce"] == "pds-nonce-1"
        expected_ath = hashlib.sha256(b"at-1-secret-access").digest()
        assert pds_claims["ath"] == base64.urlsafe_b64encode(expected_ath).rstrip(b"=").decode()
        assert "nonce" not in proof_of(first)[1]


@pytest.mark.django_db
def test_a_token_for_another_account_is_refused(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        state, _challenge = start_flow(client, channel, router)
        router.post(TOKEN).respond(200, json=token_answer(sub="did:plc:someoneelse0000000000000"))
        response = client.get(
            "/networks/bluesky/oauth/callback/", {"state": state, "iss": ISSUER, "code": "c"}
        )
    assert response.status_code == 302
    assert response["Location"] == f"/networks/bluesky/connect/{channel.pk}/"
    channel.refresh_from_db()
    assert channel.credentials is None
    page = client.get(response["Location"])
    assert "signed in another account" in page.content.decode()


@pytest.mark.django_db
def test_an_answer_from_another_issuer_is_refused(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        state, _challenge = start_flow(client, channel, router)
        token = router.post(TOKEN).respond(200, json=token_answer())
        response = client.get(
            "/networks/bluesky/oauth/callback/",
            {"state": state, "iss": "https://evil.example.com", "code": "c"},
        )
        assert token.call_count == 0
    assert response["Location"] == f"/networks/bluesky/connect/{channel.pk}/"
    channel.refresh_from_db()
    assert channel.credentials is None


@pytest.mark.django_db
def test_an_answer_with_another_state_is_refused(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        _state, _challenge = start_flow(client, channel, router)
        token = router.post(TOKEN).respond(200, json=token_answer())
        response = client.get(
            "/networks/bluesky/oauth/callback/",
            {"state": "forged-state", "iss": ISSUER, "code": "c"},
        )
        assert token.call_count == 0
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.credentials is None
    # And finish() itself refuses a state that is not the pending one.
    pending = oauth.PendingAuthorization(
        channel.pk, "right", "v", oauth.new_dpop_key(), "", DID, HANDLE, PDS, ISSUER, TOKEN
    )
    with pytest.raises(oauth.OAuthError):
        oauth.finish(pending, {"state": "wrong", "iss": ISSUER, "code": "c"})


@pytest.mark.django_db
def test_another_organisations_channel_is_a_404(world: World, channel: Channel) -> None:
    web = WebClient()
    web.force_login(world.gina)
    response = web.post(f"/networks/bluesky/oauth/start/{channel.pk}/", {"handle": HANDLE})
    assert response.status_code == 404


@pytest.mark.django_db
def test_expired_tokens_are_refreshed_with_dpop_and_stored(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        state, _challenge = start_flow(client, channel, router)
        router.post(TOKEN).respond(
            200, json=token_answer(expires_in=10), headers={"DPoP-Nonce": "as-nonce-3"}
        )
        client.get(
            "/networks/bluesky/oauth/callback/", {"state": state, "iss": ISSUER, "code": "c"}
        )
    key = json.loads(stored_login(channel).dpop_key)

    with respx.mock() as router:
        refresh = router.post(TOKEN)
        refresh.side_effect = [
            httpx.Response(
                400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "as-nonce-4"}
            ),
            httpx.Response(
                200,
                json=token_answer(access_token="at-2-secret-access", refresh_token="rt-2-secret"),
            ),
        ]
        tokens = BlueskyConnector(channel).refresh_token()
    assert tokens is not None and tokens.access_token == "at-2-secret-access"
    assert refresh.call_count == 2
    first, second = (call.request for call in refresh.calls)
    assert form_of(second) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-1-secret-refresh",
        "client_id": f"{BASE}/networks/bluesky/oauth/client-metadata.json",
    }
    header, claims = proof_of(second)
    assert proof_of(first)[1]["nonce"] == "as-nonce-3"
    assert claims["nonce"] == "as-nonce-4" and claims["htu"] == TOKEN
    # The same key as at connection time signs the refresh (the tokens are bound to it).
    assert header["jwk"]["x"] == key["x"] and header["jwk"]["y"] == key["y"]
    login = stored_login(channel)
    assert login.access_jwt == "at-2-secret-access" and login.refresh_jwt == "rt-2-secret"


@pytest.mark.django_db
def test_a_refresh_for_another_account_is_refused(channel: Channel) -> None:
    with respx.mock() as router:
        router.post(TOKEN).respond(200, json=token_answer(sub="did:plc:other"))
        with pytest.raises(oauth.OAuthError):
            oauth.refresh(
                token_endpoint=TOKEN,
                refresh_token="rt",
                dpop_key=oauth.new_dpop_key(),
                dpop_nonce="",
                did=DID,
            )


@pytest.mark.django_db
def test_the_connect_page_offers_oauth_in_english_and_korean(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    page = client.get(f"/networks/bluesky/connect/{channel.pk}/").content.decode()
    assert f'action="/networks/bluesky/oauth/start/{channel.pk}/"' in page
    assert "Sign in with Bluesky (OAuth)" in page
    assert "<script>" not in page  # strict CSP: no inline script
    User.objects.filter(pk=world.alice.pk).update(language="ko")
    page = client.get(
        f"/networks/bluesky/connect/{channel.pk}/", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "Bluesky로 로그인(OAuth)" in page


@pytest.mark.django_db
def test_a_pds_refusing_the_access_token_gets_a_refreshed_one(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        state, _challenge = start_flow(client, channel, router)
        router.post(TOKEN).respond(200, json=token_answer())
        client.get(
            "/networks/bluesky/oauth/callback/", {"state": state, "iss": ISSUER, "code": "c"}
        )
    assert stored_login(channel).access_jwt == "at-1-secret-access"

    with respx.mock() as router:
        listing = router.get(f"{PDS}/xrpc/com.atproto.repo.listRecords")
        listing.side_effect = [
            httpx.Response(
                401,
                json={"error": "InvalidToken", "message": "token expired"},
                headers={"WWW-Authenticate": 'DPoP error="invalid_token"'},
            ),
            httpx.Response(200, json={"records": []}),
        ]
        refresh = router.post(TOKEN).respond(
            200, json=token_answer(access_token="at-2-secret-access", refresh_token="rt-2")
        )
        assert BlueskyConnector(channel).find_published("key-1") is None
    assert refresh.call_count == 1
    assert form_of(refresh.calls[0].request)["refresh_token"] == "rt-1-secret-refresh"
    retried = listing.calls[1].request
    assert retried.headers["Authorization"] == "DPoP at-2-secret-access"
    expected_ath = hashlib.sha256(b"at-2-secret-access").digest()
    assert (
        proof_of(retried)[1]["ath"] == base64.urlsafe_b64encode(expected_ath).rstrip(b"=").decode()
    )
    assert stored_login(channel).refresh_jwt == "rt-2"


@pytest.mark.django_db
def test_a_handle_the_did_document_does_not_claim_is_refused(
    world: World, channel: Channel, client: WebClient
) -> None:
    client.force_login(world.alice)
    with respx.mock(assert_all_called=False) as router:
        router.get(f"https://{HANDLE}/.well-known/atproto-did").respond(200, text=DID)
        router.get(f"{PLC}/{DID}").respond(
            200,
            json={
                "id": DID,
                "alsoKnownAs": ["at://someone-else.example.com"],
                "service": [{"id": "#atproto_pds", "serviceEndpoint": PDS}],
            },
        )
        par = router.post(PAR).respond(201, json={"request_uri": "urn:x"})
        response = client.post(f"/networks/bluesky/oauth/start/{channel.pk}/", {"handle": HANDLE})
        assert par.call_count == 0
    assert response["Location"] == f"/networks/bluesky/connect/{channel.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "does not claim the handle" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "handle", ["localhost:8000/admin", "127.0.0.1", "evil.example.com/#", "did:plc:x"]
)
def test_what_is_not_a_handle_is_refused_before_any_request(
    world: World, channel: Channel, client: WebClient, handle: str
) -> None:
    client.force_login(world.alice)
    with respx.mock() as router:
        response = client.post(f"/networks/bluesky/oauth/start/{channel.pk}/", {"handle": handle})
        assert not router.calls
    assert response["Location"] == f"/networks/bluesky/connect/{channel.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "is not a Bluesky handle" in page
