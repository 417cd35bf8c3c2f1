"""SAML 2.0 sign-in (service-provider initiated, HTTP-Redirect out, HTTP-POST back).

python3-saml checks the XML signature against the certificate the organisation's admin entered,
the issuer, audience, destination, the assertion's time conditions and its subject confirmation.
On top of it Greenroom insists that the response answers a request it sent (InResponseTo of a
pending request, each usable once), that the assertion itself is signed, that it names our
audience, and that no assertion is accepted twice.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from greenroom.accounts.models import SignInMethod, SsoProvider

PENDING_S = 600
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
NAME_ATTRIBUTES = (
    "name",
    "displayName",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "urn:oid:2.16.840.1.113730.3.1.241",
)


class SamlError(Exception):
    """The response cannot be trusted; the message is for the log, not the person."""


@dataclass(frozen=True)
class PendingRequest:
    request_id: str
    org_id: int


def sp_entity_id(provider: SsoProvider) -> str:
    return settings.BASE_URL + reverse("sso_saml_metadata", args=[provider.organization.slug])


def acs_url(provider: SsoProvider) -> str:
    return settings.BASE_URL + reverse("sso_saml_acs", args=[provider.organization.slug])


def _settings(provider: SsoProvider, *, sp_only: bool = False) -> OneLogin_Saml2_Settings:
    data = {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp_entity_id(provider),
            "assertionConsumerService": {
                "url": acs_url(provider),
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            },
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        },
        "idp": {
            "entityId": provider.saml_idp_entity_id,
            "singleSignOnService": {
                "url": provider.saml_idp_sso_url,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            },
            "x509cert": provider.saml_idp_certificate,
        },
        "security": {
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "wantAttributeStatement": False,
            "wantNameId": True,
            "rejectDeprecatedAlgorithm": True,
            "requestedAuthnContext": False,
        },
    }
    try:
        return OneLogin_Saml2_Settings(data, sp_validation_only=sp_only)
    except OneLogin_Saml2_Error as exc:
        raise SamlError(f"the SAML settings are incomplete: {exc}") from exc


def _request_data(provider: SsoProvider, post: dict[str, str] | None = None) -> dict[str, Any]:
    """What python3-saml calls "the current request": our configured address, so that the
    response's Destination and Recipient are compared with the ACS URL we gave the provider."""
    base = urlsplit(settings.BASE_URL)
    acs = urlsplit(acs_url(provider))
    return {
        "https": "on" if base.scheme == "https" else "off",
        "http_host": base.netloc,
        "script_name": acs.path,
        "get_data": {},
        "post_data": post or {},
    }


def login_url(provider: SsoProvider) -> tuple[str, str]:
    """The identity provider's sign-in URL with our AuthnRequest, and that request's id.

    The id is remembered (in the cache: the answer arrives as a cross-site POST, which carries
    no session cookie) until the response comes back or ten minutes pass.
    """
    auth = OneLogin_Saml2_Auth(_request_data(provider), old_settings=_settings(provider))
    url = auth.login()
    request_id = auth.get_last_request_id()
    cache.set(_pending_key(request_id), provider.organization_id, PENDING_S)
    return url, request_id


def _pending_key(request_id: str) -> str:
    return f"greenroom:saml-pending:{request_id}"


def _seen_key(provider: SsoProvider, assertion_id: str) -> str:
    return f"greenroom:saml-assertion:{provider.pk}:{assertion_id}"


@dataclass(frozen=True)
class SamlResult:
    request_id: str
    subject: str
    email: str
    name: str
    groups: tuple[str, ...]
    method: str = SignInMethod.SSO_SAML


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> str:
    for name in names:
        values = attributes.get(name)
        if values:
            return str(values[0])
    return ""


def consume_response(provider: SsoProvider, saml_response: str) -> SamlResult:
    """Check a SAMLResponse posted to our ACS; the person it vouches for, or SamlError."""
    if not saml_response:
        raise SamlError("no SAMLResponse was posted")
    try:
        base64.b64decode(saml_response, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlError("the SAMLResponse is not base64") from exc
    saml_settings = _settings(provider)
    try:
        parsed = OneLogin_Saml2_Response(saml_settings, saml_response)
        in_response_to = parsed.get_in_response_to()
    except Exception as exc:  # malformed XML raises many kinds of errors
        raise SamlError(f"the SAMLResponse cannot be read: {exc}") from exc
    if not in_response_to:
        raise SamlError("the response answers no request of ours (identity-provider initiated)")
    # Each request may be answered once: deleting the pending id is the claim.
    if cache.get(_pending_key(in_response_to)) != provider.organization_id or not cache.delete(
        _pending_key(in_response_to)
    ):
        raise SamlError("the response answers a request that is unknown, expired or used")
    auth = OneLogin_Saml2_Auth(
        _request_data(provider, {"SAMLResponse": saml_response}), old_settings=saml_settings
    )
    try:
        auth.process_response(request_id=in_response_to)
    except (OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError) as exc:
        raise SamlError(str(exc)) from exc
    if auth.get_errors() or not auth.is_authenticated():
        raise SamlError(auth.get_last_error_reason() or ", ".join(auth.get_errors()))
    audiences = parsed.get_audiences()
    if sp_entity_id(provider) not in audiences:
        raise SamlError(f"the assertion is meant for {audiences!r}, not {sp_entity_id(provider)}")
    assertion_id = auth.get_last_assertion_id() or ""
    not_on_or_after = auth.get_last_assertion_not_on_or_after()
    remaining = (
        int(not_on_or_after - datetime.now(UTC).timestamp()) + 300 if not_on_or_after else 3600
    )
    if not assertion_id or not cache.add(_seen_key(provider, assertion_id), 1, max(60, remaining)):
        raise SamlError("this assertion has been used already")
    subject = auth.get_nameid() or ""
    if not subject:
        raise SamlError("the assertion names no subject")
    attributes = auth.get_attributes()
    return SamlResult(
        request_id=in_response_to,
        subject=subject,
        email=_first(attributes, EMAIL_ATTRIBUTES),
        name=_first(attributes, NAME_ATTRIBUTES),
        groups=tuple(str(g) for g in attributes.get(provider.groups_claim, [])),
    )


def metadata_xml(provider: SsoProvider) -> str:
    """Our service-provider metadata, for the organisation's admin to give their provider."""
    sp = _settings(provider, sp_only=True).get_sp_data()
    xml = OneLogin_Saml2_Metadata.builder(sp, authnsign=False, wsign=False)
    return xml if isinstance(xml, str) else xml.decode()
