"""The organisation's MFA rule binds API tokens as it binds sessions.

A token of a person who must enrol and has not is refused with a 403 naming the fix, for the
organisation that requires it; enrolling (or signing in through that organisation's single
sign-on, whose identity provider applies its own MFA) lets the same token work again. Another
organisation's rule does not touch a token bound elsewhere, and SCIM tokens (an identity
provider's integration credential, not a person) follow their own rule.
"""

from __future__ import annotations

from greenroom.accounts import actions as accounts
from greenroom.accounts.models import SsoIdentity
from greenroom.accounts.tests.conftest import enrol
from greenroom.conftest import World
from greenroom.core.models import AuditEvent, Organization
from greenroom.governance import actions as governance

from .conftest import bearer, make_token


def _require_mfa(world: World, org: Organization | None = None) -> None:
    org = org or world.acme
    owner = world.gina if org == world.globex else world.alice
    accounts.do_set_security_policy(
        org, mfa_required=True, idle_timeout_minutes=None, acting_user=owner
    )


def test_a_token_of_someone_who_must_enrol_is_refused_naming_the_fix(world: World) -> None:
    _token, plaintext = make_token(world, "paul")
    client = bearer(plaintext)
    assert client.get("/api/brands").status_code == 200
    _require_mfa(world)
    written = AuditEvent.objects.count()
    for method, path in (("get", "/api/brands"), ("post", "/api/brands")):
        response = getattr(client, method)(path, {}, content_type="application/json")
        assert response.status_code == 403, path
        detail = response.json()["detail"]
        assert "Acme" in detail and "two-factor" in detail
        assert "/settings/security/mfa/enrol/" in detail
    assert AuditEvent.objects.count() == written  # nothing happened

    enrol(world.paul)
    assert client.get("/api/brands").status_code == 200


def test_people_who_enrolled_keep_working(world: World) -> None:
    enrol(world.alice)
    _token, plaintext = make_token(world, "alice")
    _require_mfa(world)
    assert bearer(plaintext).get("/api/brands").status_code == 200


def test_another_organisations_rule_does_not_refuse_this_organisations_token(
    world: World,
) -> None:
    _token, plaintext = make_token(world, "gina")
    _require_mfa(world)  # Acme requires MFA; gina's token is for Globex
    assert bearer(plaintext).get("/api/brands").status_code == 200
    _require_mfa(world, world.globex)
    assert bearer(plaintext).get("/api/brands").status_code == 403


def test_people_who_sign_in_through_the_organisations_sso_are_not_asked(world: World) -> None:
    provider = accounts.do_save_sso_provider(
        world.acme,
        protocol="oidc",
        enabled=True,
        oidc_issuer="https://idp.example.test",
        oidc_client_id="greenroom",
        oidc_client_secret="s3cret",
        acting_user=world.alice,
    )
    SsoIdentity.objects.create(provider=provider, user=world.paul, subject="00u-paul")
    _token, plaintext = make_token(world, "paul")
    _require_mfa(world)
    assert bearer(plaintext).get("/api/brands").status_code == 200
    # Single sign-on switched off: the identity provider no longer vouches for the sign-in.
    provider.enabled = False
    provider.save(update_fields=["enabled"])
    assert bearer(plaintext).get("/api/brands").status_code == 403


def test_scim_tokens_follow_their_own_rule(world: World) -> None:
    _scim, plaintext = governance.do_create_scim_token(
        world.acme, name="Okta", acting_user=world.alice
    )
    _require_mfa(world)
    response = bearer(plaintext).get("/scim/v2/Users")
    assert response.status_code == 200
