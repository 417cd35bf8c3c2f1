"""The organisation's security page: who may open and change it, for every role, and another
organisation's ids are a 404."""

from __future__ import annotations

import pytest
from django.test import Client

from greenroom.accounts import actions
from greenroom.accounts.models import MfaDevice, SecurityPolicy, SsoGroupMapping, SsoProvider
from greenroom.accounts.tests.conftest import enrol
from greenroom.conftest import ROLE_OF, World
from greenroom.core import vault
from greenroom.core.models import AuditEvent, Membership

MANAGERS = {"alice", "adam"}
EVERYONE = ["alice", *ROLE_OF, "charlie"]
CLIENT_SECRET = "oidc-client-secret-Zx81kQ"


def as_person(world: World, name: str) -> Client:
    client = Client()
    client.force_login(world.people[name])
    return client


@pytest.mark.parametrize("name", EVERYONE)
def test_only_owners_and_admins_open_the_page(world: World, name: str) -> None:
    response = as_person(world, name).get("/organization/security/")
    assert response.status_code == (200 if name in MANAGERS else 404)


@pytest.mark.parametrize("name", EVERYONE)
def test_only_owners_and_admins_change_the_rules(world: World, name: str) -> None:
    client = as_person(world, name)
    response = client.post(
        "/organization/security/policy/", {"mfa_required": "on", "idle_timeout_minutes": "20"}
    )
    policy = SecurityPolicy.objects.filter(organization=world.acme).first()
    if name in MANAGERS:
        assert response.status_code == 302
        assert policy is not None and policy.mfa_required and policy.idle_timeout_minutes == 20
        event = AuditEvent.objects.get(action="security.policy_changed")
        assert event.before == {"mfa_required": False, "idle_timeout_minutes": None}
        assert event.after == {"mfa_required": True, "idle_timeout_minutes": 20}
    else:
        assert response.status_code == 404
        assert policy is None


@pytest.mark.parametrize("name", EVERYONE)
def test_member_actions_are_for_owners_and_admins(world: World, name: str) -> None:
    enrol(world.carl)
    carl = Membership.objects.get(organization=world.acme, user=world.carl)
    client = as_person(world, name)
    revoke = client.post(f"/organization/security/members/{carl.pk}/revoke-sessions/")
    reset = client.post(f"/organization/security/members/{carl.pk}/reset-mfa/")
    expected = 302 if name in MANAGERS else 404
    assert (revoke.status_code, reset.status_code) == (expected, expected)
    assert MfaDevice.objects.filter(user=world.carl).exists() == (name not in MANAGERS)


def test_another_organisations_ids_are_a_404(world: World) -> None:
    globex_provider = actions.do_save_sso_provider(
        world.globex,
        protocol="oidc",
        enabled=False,
        oidc_issuer="https://login.globex.test",
        oidc_client_id="gx",
        acting_user=world.gina,
    )
    mapping = actions.do_add_sso_mapping(
        globex_provider, group="staff", role="publisher", acting_user=world.gina
    )
    gina = Membership.objects.get(organization=world.globex, user=world.gina)
    alice = as_person(world, "alice")
    for path in (
        f"/organization/security/sso/mappings/{mapping.pk}/remove/",
        f"/organization/security/members/{gina.pk}/revoke-sessions/",
        f"/organization/security/members/{gina.pk}/reset-mfa/",
    ):
        assert alice.post(path).status_code == 404, path
    assert SsoGroupMapping.objects.filter(pk=mapping.pk).exists()
    # Globex's settings never show on Acme's page.
    assert b"login.globex.test" not in alice.get("/organization/security/").content


def test_setting_up_oidc_keeps_the_client_secret_in_the_vault(world: World) -> None:
    alice = as_person(world, "alice")
    response = alice.post(
        "/organization/security/sso/",
        {
            "protocol": "oidc",
            "enabled": "on",
            "oidc_issuer": "https://login.acme.test",
            "oidc_client_id": "greenroom",
            "oidc_client_secret": CLIENT_SECRET,
            "groups_claim": "groups",
            "default_role": "",
        },
    )
    assert response.status_code == 302
    provider = SsoProvider.objects.get(organization=world.acme)
    assert provider.enabled and provider.oidc_client_secret is not None
    assert vault.reveal(provider.oidc_client_secret) == CLIENT_SECRET
    page = alice.get("/organization/security/").content.decode()
    assert CLIENT_SECRET not in page
    assert "…Q" in page or "Stored in the vault" in page
    event = AuditEvent.objects.get(action="sso.provider_saved")
    assert CLIENT_SECRET not in str(event.after) and event.after["client_secret_changed"]

    # Saving again without a secret keeps the stored one.
    alice.post(
        "/organization/security/sso/",
        {
            "protocol": "oidc",
            "enabled": "on",
            "oidc_issuer": "https://login.acme.test",
            "oidc_client_id": "greenroom",
            "groups_claim": "groups",
        },
    )
    provider.refresh_from_db()
    assert provider.oidc_client_secret is not None
    assert vault.reveal(provider.oidc_client_secret) == CLIENT_SECRET


def test_an_incomplete_provider_cannot_be_switched_on(world: World) -> None:
    alice = as_person(world, "alice")
    response = alice.post(
        "/organization/security/sso/",
        {"protocol": "saml", "enabled": "on", "groups_claim": "groups"},
    )
    assert response.status_code == 400
    assert b"SAML needs the identity provider" in response.content
    assert not SsoProvider.objects.filter(organization=world.acme).exists()
    bad_cert = alice.post(
        "/organization/security/sso/",
        {"protocol": "saml", "saml_idp_certificate": "hello", "groups_claim": "groups"},
    )
    assert bad_cert.status_code == 400 and b"not a PEM certificate" in bad_cert.content


def test_group_mappings_are_added_and_removed_with_audit(world: World) -> None:
    actions.do_save_sso_provider(
        world.acme,
        protocol="oidc",
        enabled=False,
        oidc_issuer="https://login.acme.test",
        oidc_client_id="greenroom",
        acting_user=world.alice,
    )
    adam = as_person(world, "adam")
    response = adam.post(
        "/organization/security/sso/mappings/",
        {"group": "coffee-team", "role": "brand_manager", "brands": [world.coffee.pk]},
    )
    assert response.status_code == 302
    mapping = SsoGroupMapping.objects.get(group="coffee-team")
    assert list(mapping.brands.all()) == [world.coffee]
    # Nobody becomes an owner through single sign-on.
    owner = adam.post("/organization/security/sso/mappings/", {"group": "x", "role": "owner"})
    assert owner.status_code == 400
    # Another organisation's brand is not a choice.
    foreign = world.globex.brands.first()
    assert foreign is not None
    bad = adam.post(
        "/organization/security/sso/mappings/",
        {"group": "y", "role": "publisher", "brands": [foreign.pk]},
    )
    assert bad.status_code == 400
    assert adam.post(f"/organization/security/sso/mappings/{mapping.pk}/remove/").status_code == 302
    assert not SsoGroupMapping.objects.exists()
    assert AuditEvent.objects.filter(action="sso.mapping_added").count() == 1
    assert AuditEvent.objects.filter(action="sso.mapping_removed").count() == 1


def test_the_preferences_page_links_to_security_and_admins_see_the_org_page(
    world: World,
) -> None:
    alice = as_person(world, "alice").get("/settings/preferences/").content.decode()
    assert 'href="/settings/security/"' in alice and 'href="/organization/security/"' in alice
    carl = as_person(world, "carl").get("/settings/preferences/").content.decode()
    assert 'href="/settings/security/"' in carl and 'href="/organization/security/"' not in carl


def test_the_security_pages_speak_korean(world: World) -> None:
    from greenroom.core import actions as core_actions

    core_actions.do_update_preferences(
        world.adam, language="ko", timezone_name="Asia/Seoul", acting_user=world.adam
    )
    adam = as_person(world, "adam")
    mine = adam.get("/settings/security/").content.decode()
    assert "로그인 및 보안" in mine and "로그인된 곳" in mine
    org = adam.get("/organization/security/").content.decode()
    assert "조직 보안" in org and "싱글 사인온" in org and "2단계 인증 필수" in org
    enrol_page = adam.get("/settings/security/mfa/enrol/").content.decode()
    assert "2단계 인증 설정" in enrol_page


PERSONAL_PAGES = ["/settings/security/", "/settings/security/mfa/enrol/"]
PERSONAL_POSTS = [
    "/settings/security/mfa/disable/",
    "/settings/security/mfa/recovery-codes/",
    "/settings/security/sessions/revoke-others/",
    "/settings/security/sessions/1/revoke/",
]


@pytest.mark.parametrize("name", [*EVERYONE, "gina"])
def test_everyone_signed_in_has_their_own_security_page(world: World, name: str) -> None:
    client = as_person(world, name)
    for path in PERSONAL_PAGES:
        assert client.get(path).status_code == 200, path


def test_the_security_pages_need_a_signed_in_person(client: Client, world: World) -> None:
    for path in [*PERSONAL_PAGES, "/organization/security/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    for path in [
        *PERSONAL_POSTS,
        "/organization/security/policy/",
        "/organization/security/sso/",
        "/organization/security/sso/mappings/",
    ]:
        response = client.post(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    # The code step without a password step first goes back to the password.
    assert client.get("/login/verify/")["Location"] == "/login/"
