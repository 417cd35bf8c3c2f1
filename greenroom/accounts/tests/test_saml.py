"""SAML 2.0 sign-in with assertions signed in the test by a generated identity-provider key.

The good assertion signs in and maps groups to roles; a bad signature, a changed assertion, the
wrong audience, expired conditions, an unsolicited or replayed response are all refused.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from greenroom.accounts import actions, saml
from greenroom.accounts.models import UserSession
from greenroom.conftest import World
from greenroom.core.models import AuditEvent, Membership, User

IDP_ENTITY = "https://idp.example.test/saml/metadata"
IDP_SSO = "https://idp.example.test/saml/sso"


def make_key_and_cert(common_name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def idp_keys() -> tuple[str, str]:
    return make_key_and_cert("idp.example.test")


@pytest.fixture(scope="module")
def attacker_keys() -> tuple[str, str]:
    return make_key_and_cert("idp.example.test")


@pytest.fixture
def provider(world: World, idp_keys: tuple[str, str]) -> Any:
    provider = actions.do_save_sso_provider(
        world.acme,
        protocol="saml",
        enabled=True,
        saml_idp_entity_id=IDP_ENTITY,
        saml_idp_sso_url=IDP_SSO,
        saml_idp_certificate=idp_keys[1],
        groups_claim="memberOf",
        acting_user=world.alice,
    )
    actions.do_add_sso_mapping(
        provider,
        group="Social Agents",
        role="community_agent",
        brands=[world.tea],
        acting_user=world.alice,
    )
    actions.do_add_sso_mapping(
        provider, group="Social Admins", role="admin", acting_user=world.alice
    )
    return provider


def _t(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def assertion_xml(
    provider: Any,
    request_id: str | None,
    *,
    audience: str | None = None,
    not_on_or_after: dt.datetime | None = None,
    groups: tuple[str, ...] = ("Everyone", "Social Agents"),
    assertion_id: str = "_a1b2c3d4e5f6",
) -> str:
    now = dt.datetime.now(dt.UTC)
    acs = saml.acs_url(provider)
    irt = f' InResponseTo="{request_id}"' if request_id else ""
    values = "".join(
        f'<saml:AttributeValue xsi:type="xs:string">{g}</saml:AttributeValue>' for g in groups
    )
    return (
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'ID="{assertion_id}" Version="2.0" IssueInstant="{_t(now)}">'
        f"<saml:Issuer>{IDP_ENTITY}</saml:Issuer>"
        "<saml:Subject>"
        '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">'
        "mina@acme.example</saml:NameID>"
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData NotOnOrAfter="{_t(now + dt.timedelta(minutes=5))}" '
        f'Recipient="{acs}"{irt}/>'
        "</saml:SubjectConfirmation>"
        "</saml:Subject>"
        f'<saml:Conditions NotBefore="{_t(now - dt.timedelta(minutes=1))}" '
        f'NotOnOrAfter="{_t(not_on_or_after or now + dt.timedelta(minutes=5))}">'
        "<saml:AudienceRestriction>"
        f"<saml:Audience>{audience or saml.sp_entity_id(provider)}</saml:Audience>"
        "</saml:AudienceRestriction>"
        "</saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{_t(now)}" SessionIndex="_session1">'
        "<saml:AuthnContext><saml:AuthnContextClassRef>"
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        "</saml:AuthnContextClassRef></saml:AuthnContext>"
        "</saml:AuthnStatement>"
        "<saml:AttributeStatement>"
        '<saml:Attribute Name="email"><saml:AttributeValue xsi:type="xs:string">'
        "mina@acme.example</saml:AttributeValue></saml:Attribute>"
        '<saml:Attribute Name="displayName"><saml:AttributeValue xsi:type="xs:string">'
        "Mina Cho</saml:AttributeValue></saml:Attribute>"
        f'<saml:Attribute Name="memberOf">{values}</saml:Attribute>'
        "</saml:AttributeStatement>"
        "</saml:Assertion>"
    )


def sign(xml: str, keys: tuple[str, str]) -> str:
    signed = OneLogin_Saml2_Utils.add_sign(
        xml,
        keys[0],
        keys[1],
        sign_algorithm=OneLogin_Saml2_Constants.RSA_SHA256,
        digest_algorithm=OneLogin_Saml2_Constants.SHA256,
    )
    text = signed.decode() if isinstance(signed, bytes) else signed
    # add_sign returns a document; the assertion goes inside the response without a declaration.
    return text.split("?>", 1)[1].strip() if text.startswith("<?xml") else text


def response_b64(provider: Any, assertion: str, request_id: str | None) -> str:
    now = dt.datetime.now(dt.UTC)
    irt = f' InResponseTo="{request_id}"' if request_id else ""
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="_r9f8e7d6c5b4" Version="2.0" IssueInstant="{_t(now)}" '
        f'Destination="{saml.acs_url(provider)}"{irt}>'
        f"<saml:Issuer>{IDP_ENTITY}</saml:Issuer>"
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
        "</samlp:Status>"
        f"{assertion}"
        "</samlp:Response>"
    )
    return base64.b64encode(xml.encode()).decode()


def start(client: Client) -> str:
    response = client.get("/sso/acme/start/?next=/inbox/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == IDP_SSO
    assert "SAMLRequest" in parse_qs(url.query)
    return str(client.session["greenroom_saml"]["request_id"])


def post_back(client: Client, b64: str) -> Any:
    """The identity provider's auto-submitted form, then our redirect to finish in-session."""
    response = client.post("/sso/acme/saml/acs/", {"SAMLResponse": b64})
    if response.status_code != 302:
        return response
    return client.get(response["Location"])


def test_a_signed_assertion_signs_in_and_maps_groups_to_roles(
    client: Client, world: World, provider: Any, idp_keys: tuple[str, str]
) -> None:
    request_id = start(client)
    assertion = sign(assertion_xml(provider, request_id), idp_keys)
    response = post_back(client, response_b64(provider, assertion, request_id))
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    mina = User.objects.get(email="mina@acme.example")
    assert mina.display_name == "Mina Cho"
    membership = Membership.objects.get(organization=world.acme, user=mina)
    assert membership.role == "community_agent"
    assert list(membership.brands.all()) == [world.tea]
    assert UserSession.objects.get(user=mina).method == "sso_saml"
    event = AuditEvent.objects.get(action="sso.sign_in")
    assert event.after["protocol"] == "saml" and event.organization == world.acme


@pytest.mark.parametrize(
    "attack",
    [
        "signed_by_another_key",
        "changed_after_signing",
        "unsigned",
        "wrong_audience",
        "expired_conditions",
        "unsolicited",
        "answers_another_request",
    ],
)
def test_a_bad_response_is_refused(
    client: Client,
    world: World,
    provider: Any,
    idp_keys: tuple[str, str],
    attacker_keys: tuple[str, str],
    attack: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    request_id = start(client)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    xml_request_id: str | None = request_id
    if attack == "unsolicited":
        xml_request_id = None
    elif attack == "answers_another_request":
        xml_request_id = "_a_request_greenroom_never_sent"
    by_attack: dict[str, dict[str, Any]] = {
        "wrong_audience": {"audience": "https://other-sp.example.test/metadata"},
        "expired_conditions": {"not_on_or_after": past},
    }
    options = by_attack.get(attack, {})
    xml = assertion_xml(provider, xml_request_id, **options)
    if attack == "unsigned":
        assertion = xml
    elif attack == "signed_by_another_key":
        assertion = sign(xml, attacker_keys)
    elif attack == "changed_after_signing":
        assertion = sign(xml, idp_keys).replace("Social Agents", "Social Admins")
    else:
        assertion = sign(xml, idp_keys)
    response = post_back(client, response_b64(provider, assertion, xml_request_id))
    assert response.status_code == 403
    assert b"could not be accepted" in response.content
    reason = {
        "signed_by_another_key": "Signature validation failed",
        "changed_after_signing": "Signature validation failed",
        "unsigned": "not signed",
        "wrong_audience": "is not a valid audience",
        "expired_conditions": "expired",
        "unsolicited": "answers no request of ours",
        "answers_another_request": "unknown, expired or used",
    }[attack]
    assert reason in caplog.text
    assert client.get("/").status_code == 302
    assert not User.objects.filter(email="mina@acme.example").exists()
    assert not AuditEvent.objects.filter(action="sso.sign_in").exists()


def test_a_response_cannot_be_replayed(
    client: Client, world: World, provider: Any, idp_keys: tuple[str, str]
) -> None:
    request_id = start(client)
    b64 = response_b64(provider, sign(assertion_xml(provider, request_id), idp_keys), request_id)
    assert post_back(client, b64).status_code == 302
    thief = Client()
    start(thief)
    assert post_back(thief, b64).status_code == 403
    assert thief.get("/").status_code == 302


def test_the_result_only_signs_in_the_browser_that_started(
    client: Client, world: World, provider: Any, idp_keys: tuple[str, str]
) -> None:
    request_id = start(client)
    b64 = response_b64(provider, sign(assertion_xml(provider, request_id), idp_keys), request_id)
    other = Client()  # never started a sign-in
    acs = other.post("/sso/acme/saml/acs/", {"SAMLResponse": b64})
    assert acs.status_code == 302
    assert other.get(acs["Location"]).status_code == 403
    assert other.get("/").status_code == 302


def test_garbage_is_refused_politely(client: Client, world: World, provider: Any) -> None:
    start(client)
    for junk in ("", "not base64!", base64.b64encode(b"<not-saml/>").decode()):
        assert client.post("/sso/acme/saml/acs/", {"SAMLResponse": junk}).status_code == 403


def test_metadata_names_our_entity_id_and_acs(client: Client, world: World, provider: Any) -> None:
    response = client.get("/sso/acme/saml/metadata/")
    assert response.status_code == 200
    body = response.content.decode()
    assert saml.sp_entity_id(provider) in body and saml.acs_url(provider) in body
