"""TOTP MFA: enrolment, sign-in with a code or a recovery code, replay, throttling, turning off,
the organisation's rule, and where the key is kept."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import Client

from greenroom.accounts import actions, mfa
from greenroom.accounts.models import MfaDevice, RecoveryCode, UserSession
from greenroom.accounts.tests.conftest import enrol, now_code, password_step
from greenroom.conftest import PASSWORD, World
from greenroom.core import vault
from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent


def test_enrolment_shows_a_qr_code_and_the_key_and_turns_on_with_a_right_code(
    client: Client, world: World
) -> None:
    client.force_login(world.carl)
    page = client.get("/settings/security/mfa/enrol/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and 'class="segno"' in body
    device = MfaDevice.objects.get(user=world.carl)
    secret = actions.device_secret(device)
    assert mfa.format_secret(secret) in body
    assert device.confirmed_at is None

    wrong = client.post("/settings/security/mfa/enrol/", {"code": "000000"})
    assert wrong.status_code == 400
    assert b"That code is not right" in wrong.content
    # The same key is shown again while the person retries.
    assert mfa.format_secret(secret).encode() in wrong.content

    done = client.post("/settings/security/mfa/enrol/", {"code": now_code(secret)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert code in done.content.decode()
    assert MfaDevice.objects.get(user=world.carl).confirmed_at is not None
    assert AuditEvent.objects.filter(action="mfa.enrolled", actor=world.carl).exists()
    # Shown once: the security page never shows them again.
    page = client.get("/settings/security/")
    assert codes[0] not in page.content.decode()
    assert b"10 recovery codes left" in page.content


def test_the_key_is_sealed_in_the_vault_and_recovery_codes_are_hashed(world: World) -> None:
    secret, codes = enrol(world.carl)
    device = MfaDevice.objects.get(user=world.carl)
    raw = bytes(device.secret_ciphertext)
    assert secret.encode() not in raw
    assert vault.unseal(raw, name="test") == secret
    stored = list(RecoveryCode.objects.filter(user=world.carl).values_list("code_hash", "salt"))
    assert len(stored) == 10
    for code in codes:
        normal = mfa.normalise_code(code)
        assert all(normal not in h and normal not in s for h, s in stored)


def test_vault_rotation_re_encrypts_authenticator_keys(world: World, settings) -> None:
    secret, _codes = enrol(world.carl)
    old_key = settings.VAULT_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.VAULT_KEYS = [new_key, old_key]
    call_command("vault", "rotate", stdout=io.StringIO())
    settings.VAULT_KEYS = [new_key]
    device = MfaDevice.objects.get(user=world.carl)
    assert actions.device_secret(device) == secret


def test_sign_in_asks_for_the_code_before_the_session_is_authenticated(
    client: Client, world: World
) -> None:
    secret, _codes = enrol(world.alice)
    response = password_step(client, "alice", next="/team/")
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    # Not signed in yet: the home page sends back to sign-in.
    assert client.get("/").status_code == 302
    assert not AuditEvent.objects.filter(action="auth.login", actor=world.alice).exists()

    wrong = client.post("/login/verify/", {"code": "123456"})
    assert wrong.status_code == 400
    assert client.get("/").status_code == 302

    right = client.post("/login/verify/", {"code": now_code(secret)})
    assert right.status_code == 302 and right["Location"] == "/team/"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", actor=world.alice).exists()
    row = UserSession.objects.get(user=world.alice)
    assert row.method == "password_mfa"


def test_a_code_cannot_be_used_twice(client: Client, world: World) -> None:
    secret, _codes = enrol(world.alice)
    code = now_code(secret)
    password_step(client, "alice")
    assert client.post("/login/verify/", {"code": code}).status_code == 302

    other = Client()
    password_step(other, "alice", ip="10.1.0.2")
    replay = other.post("/login/verify/", {"code": code})
    assert replay.status_code == 400
    assert b"used already" in replay.content
    assert other.get("/").status_code == 302
    # An older code (the previous step, still inside the window) is refused too.
    assert actions.do_verify_second_factor(world.alice, code=now_code(secret, -1)) is None
    assert AuditEvent.objects.filter(action="mfa.code_rejected").exists()


def test_codes_one_step_either_side_are_accepted_but_not_two(world: World) -> None:
    secret, _codes = enrol(world.alice)
    step = mfa.current_step()
    at = step * mfa.STEP_S + 1
    assert mfa.matching_step(secret, mfa.code_at(secret, step + 2), after_step=0, now=at) is None
    assert mfa.matching_step(secret, mfa.code_at(secret, step - 2), after_step=0, now=at) is None
    assert mfa.matching_step(secret, mfa.code_at(secret, step + 1), after_step=0, now=at) == (
        step + 1
    )
    assert mfa.matching_step(secret, mfa.code_at(secret, step - 1), after_step=0, now=at) == (
        step - 1
    )


def test_a_recovery_code_signs_in_once(client: Client, world: World) -> None:
    _secret, codes = enrol(world.alice)
    password_step(client, "alice")
    # Typed in lower case with spaces: still the code.
    typed = codes[3].lower().replace("-", " ")
    response = client.post("/login/verify/", {"code": typed}, follow=True)
    assert response.status_code == 200
    assert b"9 are left" in response.content
    assert UserSession.objects.get(user=world.alice).method == "recovery_code"
    assert AuditEvent.objects.filter(action="mfa.recovery_code_used", actor=world.alice).exists()

    again = Client()
    password_step(again, "alice", ip="10.1.0.3")
    assert again.post("/login/verify/", {"code": codes[3]}).status_code == 400
    assert again.get("/").status_code == 302
    assert RecoveryCode.objects.filter(user=world.alice, used_at__isnull=True).count() == 9


def test_wrong_codes_are_throttled_and_a_new_password_step_does_not_reset_them(
    client: Client, world: World, settings
) -> None:
    secret, _codes = enrol(world.alice)
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        fresh = Client()
        password_step(fresh, "alice", ip=f"10.2.0.{n}")
        fresh.post("/login/verify/", {"code": "000000"}, REMOTE_ADDR=f"10.2.0.{n}")
    password_step(client, "alice", ip="10.2.1.1")
    response = client.post("/login/verify/", {"code": now_code(secret)}, REMOTE_ADDR="10.2.1.1")
    assert response.status_code == 429
    assert b"Too many wrong codes" in response.content
    assert client.get("/").status_code == 302


def test_the_second_step_expires(client: Client, world: World, monkeypatch) -> None:
    secret, _codes = enrol(world.alice)
    password_step(client, "alice")
    session = client.session
    pending = session["greenroom_mfa_pending"]
    pending["at"] -= 301
    session["greenroom_mfa_pending"] = pending
    session.save()
    response = client.post("/login/verify/", {"code": now_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_turning_mfa_off_needs_the_password_and_a_code(client: Client, world: World) -> None:
    secret, _codes = enrol(world.carl)
    client.force_login(world.carl)
    refused = client.post(
        "/settings/security/mfa/disable/", {"password": "wrong", "code": now_code(secret)}
    )
    assert refused.status_code == 400 and b"That is not your password" in refused.content
    refused = client.post("/settings/security/mfa/disable/", {"password": PASSWORD, "code": "1"})
    assert refused.status_code == 400
    assert MfaDevice.objects.filter(user=world.carl).exists()
    done = client.post(
        "/settings/security/mfa/disable/", {"password": PASSWORD, "code": now_code(secret)}
    )
    assert done.status_code == 302
    assert not MfaDevice.objects.filter(user=world.carl).exists()
    assert not RecoveryCode.objects.filter(user=world.carl).exists()
    assert AuditEvent.objects.filter(action="mfa.disabled", actor=world.carl).exists()


def test_new_recovery_codes_replace_the_old_ones(client: Client, world: World) -> None:
    secret, old = enrol(world.carl)
    client.force_login(world.carl)
    response = client.post(
        "/settings/security/mfa/recovery-codes/", {"password": PASSWORD, "code": now_code(secret)}
    )
    assert response.status_code == 200
    new = response.context["codes"]
    assert set(new).isdisjoint(old)
    assert actions.do_verify_second_factor(world.carl, code=old[0]) is None
    assert actions.do_verify_second_factor(world.carl, code=new[0]) == "recovery_code"
    assert AuditEvent.objects.filter(action="mfa.recovery_codes_regenerated").exists()


def test_the_organisation_rule_sends_people_without_mfa_to_enrol_on_every_page(
    client: Client, world: World
) -> None:
    actions.do_set_security_policy(
        world.acme, mfa_required=True, idle_timeout_minutes=None, acting_user=world.alice
    )
    assert AuditEvent.objects.filter(action="security.policy_changed", actor=world.alice).exists()
    password_step(client, "paul")
    for path in ("/", "/publishing/", "/team/", "/settings/preferences/", "/audit/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/settings/security/mfa/enrol/", path
    htmx = client.get("/publishing/", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx["HX-Redirect"] == "/settings/security/mfa/enrol/"
    api = client.get("/api/channels")
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    page = client.get("/settings/security/mfa/enrol/")
    assert page.status_code == 200
    assert b"Your organisation requires two-factor authentication" in page.content

    secret = actions.device_secret(MfaDevice.objects.get(user=world.paul))
    assert (
        client.post("/settings/security/mfa/enrol/", {"code": now_code(secret)}).status_code == 200
    )
    assert client.get("/").status_code == 200


def test_the_rule_reaches_sessions_already_signed_in(client: Client, world: World) -> None:
    password_step(client, "paul")
    assert client.get("/").status_code == 200
    actions.do_set_security_policy(
        world.acme, mfa_required=True, idle_timeout_minutes=None, acting_user=world.alice
    )
    session = client.session
    session["greenroom_last_activity"] -= 61  # a minute later
    session.save()
    assert client.get("/")["Location"] == "/settings/security/mfa/enrol/"


def test_another_organisations_rule_does_not_apply(client: Client, world: World) -> None:
    actions.do_set_security_policy(
        world.globex, mfa_required=True, idle_timeout_minutes=None, acting_user=world.gina
    )
    password_step(client, "paul")
    assert client.get("/").status_code == 200


def test_only_owners_and_admins_set_the_rule(world: World) -> None:
    for person in (world.bianca, world.paul, world.otto, world.gina):
        with pytest.raises(ActionError):
            actions.do_set_security_policy(
                world.acme, mfa_required=True, idle_timeout_minutes=None, acting_user=person
            )
    actions.do_set_security_policy(
        world.acme, mfa_required=True, idle_timeout_minutes=15, acting_user=world.adam
    )


def test_an_admin_resets_a_members_lost_authenticator(world: World) -> None:
    enrol(world.carl)
    with pytest.raises(ActionError):
        actions.do_reset_member_mfa(world.acme, world.carl, acting_user=world.bianca)
    with pytest.raises(ActionError):  # not Globex's member
        actions.do_reset_member_mfa(world.globex, world.carl, acting_user=world.gina)
    actions.do_reset_member_mfa(world.acme, world.carl, acting_user=world.adam)
    assert not MfaDevice.objects.filter(user=world.carl).exists()
    event = AuditEvent.objects.get(action="mfa.reset_by_admin")
    assert event.actor == world.adam and event.organization == world.acme


def test_the_operator_admin_refuses_a_password_alone_for_people_with_mfa(
    client: Client, world: World
) -> None:
    world.alice.is_staff = True
    world.alice.save()
    enrol(world.alice)
    response = client.post("/ops/admin/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert b"two-factor authentication" in response.content
    assert client.get("/ops/admin/").status_code == 302


def test_a_right_code_alone_does_not_turn_mfa_off_for_someone_with_a_password(
    client: Client, world: World
) -> None:
    secret, _codes = enrol(world.carl)
    client.force_login(world.carl)
    refused = client.post("/settings/security/mfa/disable/", {"code": now_code(secret)})
    assert refused.status_code == 400
    assert MfaDevice.objects.filter(user=world.carl).exists()


def test_someone_without_a_password_turns_mfa_off_with_a_code(client: Client, world: World) -> None:
    world.carl.set_unusable_password()
    world.carl.save()
    secret, _codes = enrol(world.carl)
    client.force_login(world.carl)
    page = client.get("/settings/security/")
    assert b'name="password"' not in page.content
    done = client.post("/settings/security/mfa/disable/", {"code": now_code(secret)})
    assert done.status_code == 302
    assert not MfaDevice.objects.filter(user=world.carl).exists()
