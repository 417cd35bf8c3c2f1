"""OpenID Connect sign-in against a stand-in identity provider (respx), with real signed tokens.

The provider's key is generated in the test; ID tokens are signed with it (or, for the attacks,
with another key, for another audience, expired, or carrying another nonce).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.test import Client
from joserfc import jwt
from joserfc.jwk import RSAKey

from greenroom.accounts import actions
from greenroom.accounts.models import SsoIdentity, UserSession
from greenroom.conftest import World
from greenroom.core.models import AuditEvent, Membership, User

ISSUER = "https://idp.example.test"
CLIENT_ID = "greenroom-acme"
CLIENT_SECRET = "oidc-client-secret-7Hq2"
KID = "idp-key-1"


@pytest.fixture(scope="module")
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID})


@pytest.fixture(scope="module")
def attacker_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID})


@pytest.fixture
def provider(world: World) -> Any:
    provider = actions.do_save_sso_provider(
        world.acme,
        protocol="oidc",
        enabled=True,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        acting_user=world.alice,
    )
    actions.do_add_sso_mapping(
        provider,
        group="social-publishers",
        role="publisher",
        brands=[world.coffee],
        acting_user=world.alice,
    )
    actions.do_add_sso_mapping(
        provider, group="social-admins", role="admin", acting_user=world.alice
    )
    return provider


class Idp:
    """The identity provider's endpoints; `claims` and `key` decide the next ID token."""

    def __init__(self, key: RSAKey) -> None:
        self.key = key
        self.signing_key = key
        self.claims: dict[str, Any] = {}
        self.token_requests: list[httpx.Request] = []

    def id_token(self) -> str:
        return jwt.encode({"alg": "RS256", "kid": KID}, self.claims, self.signing_key)

    def token_endpoint(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        return httpx.Response(
            200, json={"id_token": self.id_token(), "access_token": "at-1", "token_type": "Bearer"}
        )


@pytest.fixture
def idp(idp_key: RSAKey) -> Iterator[Idp]:
    fake = Idp(idp_key)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{ISSUER}/.well-known/openid-configuration").respond(
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )
        mock.get(f"{ISSUER}/jwks").respond(json={"keys": [idp_key.as_dict(private=False)]})
        mock.post(f"{ISSUER}/token").mock(side_effect=fake.token_endpoint)
        yield fake


def start(client: Client, next_url: str = "") -> dict[str, str]:
    response = client.get("/sso/acme/start/" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/authorize"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def good_claims(params: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "00u-nadia",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": params["nonce"],
        "email": "nadia@acme.example",
        "email_verified": True,
        "name": "Nadia Park",
        "groups": ["everyone", "social-publishers"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def callback(client: Client, params: dict[str, str], state: str | None = None) -> Any:
    return client.get(
        "/sso/acme/oidc/callback/", {"code": "auth-code-1", "state": state or params["state"]}
    )


def test_a_good_id_token_signs_in_provisions_the_person_and_maps_groups_to_roles(
    client: Client, world: World, provider: Any, idp: Idp
) -> None:
    params = start(client, next_url="/publishing/")
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["code_challenge_method"] == "S256"
    idp.claims = good_claims(params)
    response = callback(client, params)
    assert response.status_code == 302 and response["Location"] == "/publishing/"

    # PKCE: the verifier sent to the token endpoint hashes to the challenge sent to the browser.
    sent = parse_qs(idp.token_requests[0].content.decode())
    digest = hashlib.sha256(sent["code_verifier"][0].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == params["code_challenge"]
    basic = base64.b64decode(idp.token_requests[0].headers["Authorization"].split()[1]).decode()
    assert basic == f"{CLIENT_ID}:{CLIENT_SECRET}"

    nadia = User.objects.get(email="nadia@acme.example")
    assert not nadia.has_usable_password()
    membership = Membership.objects.get(organization=world.acme, user=nadia)
    assert membership.role == "publisher"
    assert list(membership.brands.all()) == [world.coffee]
    assert SsoIdentity.objects.get(user=nadia).subject == "00u-nadia"
    assert UserSession.objects.get(user=nadia).method == "sso_oidc"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(
        action="sso.user_provisioned", organization=world.acme
    ).exists()
    event = AuditEvent.objects.get(action="sso.sign_in")
    assert event.actor == nadia and event.after["role"] == "publisher"


def test_a_group_change_at_the_provider_changes_the_role_at_next_sign_in(
    client: Client, world: World, provider: Any, idp: Idp
) -> None:
    params = start(client)
    idp.claims = good_claims(params)
    callback(client, params)
    other = Client()
    params = start(other)
    idp.claims = good_claims(params, groups=["social-admins"])
    assert callback(other, params).status_code == 302
    nadia = User.objects.get(email="nadia@acme.example")
    membership = Membership.objects.get(organization=world.acme, user=nadia)
    assert membership.role == "admin" and not membership.brands.exists()
    assert User.objects.filter(email="nadia@acme.example").count() == 1
    # In both groups: the first mapping in the list decides.
    assert actions.role_for_groups(provider, ["social-admins", "social-publishers"]) == (
        "publisher",
        [world.coffee],
    )


@pytest.mark.parametrize(
    "attack",
    ["bad_signature", "wrong_audience", "expired", "wrong_nonce", "wrong_issuer", "no_subject"],
)
def test_a_forged_or_stale_id_token_is_refused(
    client: Client, world: World, provider: Any, idp: Idp, attacker_key: RSAKey, attack: str
) -> None:
    params = start(client)
    now = int(time.time())
    by_attack: dict[str, dict[str, Any]] = {
        "bad_signature": {},
        "wrong_audience": {"aud": "someone-elses-client"},
        "expired": {"exp": now - 600, "iat": now - 1200},
        "wrong_nonce": {"nonce": "a-nonce-from-another-browser"},
        "wrong_issuer": {"iss": "https://evil.example.test"},
        "no_subject": {"sub": None},
    }
    idp.claims = good_claims(params, **by_attack[attack])
    if attack == "bad_signature":
        idp.signing_key = attacker_key
    response = callback(client, params)
    assert response.status_code == 403
    assert b"could not be accepted" in response.content
    assert client.get("/").status_code == 302
    assert not User.objects.filter(email="nadia@acme.example").exists()
    assert not AuditEvent.objects.filter(action="sso.sign_in").exists()


def test_a_callback_with_another_browsers_state_is_refused(
    client: Client, world: World, provider: Any, idp: Idp
) -> None:
    params = start(client)
    idp.claims = good_claims(params)
    assert callback(client, params, state="forged-state").status_code == 403
    assert not idp.token_requests  # the code was never even exchanged
    # And the real state is spent: it cannot be tried again.
    assert callback(client, params).status_code == 403


def test_nobody_is_let_in_without_a_mapped_group(
    client: Client, world: World, provider: Any, idp: Idp
) -> None:
    params = start(client)
    idp.claims = good_claims(params, groups=["everyone"])
    response = callback(client, params)
    assert response.status_code == 403
    assert b"none of your groups gives a role" in response.content
    assert not User.objects.filter(email="nadia@acme.example").exists()
    assert AuditEvent.objects.filter(action="sso.sign_in_refused").exists()


def test_an_address_of_someone_in_another_organisation_is_not_taken_over(
    client: Client, world: World, provider: Any, idp: Idp
) -> None:
    params = start(client)
    # gina belongs to Globex: Acme's identity provider must not sign in as her.
    idp.claims = good_claims(params, email=world.gina.email, sub="00u-gina")
    response = callback(client, params)
    assert response.status_code == 403
    assert b"already exists" in response.content
    assert not Membership.objects.filter(organization=world.acme, user=world.gina).exists()


def test_sso_sign_ins_satisfy_the_organisations_mfa_rule(
    client: Client, world: World, provider: Any, idp: Idp
) -> None:
    actions.do_set_security_policy(
        world.acme, mfa_required=True, idle_timeout_minutes=None, acting_user=world.alice
    )
    params = start(client)
    idp.claims = good_claims(params)
    callback(client, params)
    assert client.get("/").status_code == 200


def test_an_organisation_without_sso_is_a_404(client: Client, world: World) -> None:
    assert client.get("/sso/acme/start/").status_code == 404
    assert client.get("/sso/globex/start/").status_code == 404
    assert client.get("/sso/no-such-org/start/").status_code == 404


def test_the_sign_in_page_leads_to_the_organisations_provider(
    client: Client, world: World, provider: Any
) -> None:
    login = client.get("/login/?next=/inbox/")
    assert b'href="/login/sso/?next=/inbox/"' in login.content
    page = client.get("/login/sso/", {"organization": "acme", "next": "/inbox/"})
    assert page.status_code == 200
    # A page that moves on by itself, not a redirect: the form's CSP (form-action 'self') would
    # stop a redirect chain that leaves Greenroom.
    assert b'http-equiv="refresh" content="0; url=/sso/acme/start/?next=%2Finbox%2F"' in (
        page.content
    )
    unknown = client.get("/login/sso/", {"organization": "globex"})
    assert unknown.status_code == 404
    assert b"No organisation with that sign-in name uses single sign-on" in unknown.content
