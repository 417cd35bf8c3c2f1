"""Sign-in, throttling, sign-out, password reset and change."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from greenroom.conftest import PASSWORD, World
from greenroom.core.actions import AuditAction
from greenroom.core.models import AuditEvent

WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    # Failure counters live in the cache, which outlives a test's database transaction.
    cache.clear()


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_sign_in_page_renders(client: Client, db: None) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in to Greenroom" in response.content
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_a_right_password_signs_in_and_is_audited(client: Client, world: World) -> None:
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=world.alice).exists()


def test_a_wrong_password_is_refused_with_a_message(client: Client, world: World) -> None:
    response = sign_in(client, "alice", WRONG)
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 1


def test_the_sixth_attempt_is_refused_even_with_the_right_password(
    client: Client, world: World, settings
) -> None:
    assert settings.LOGIN_FAILURE_LIMIT == 5
    for n in range(5):
        # Different addresses: this is the per-account counter at work.
        assert sign_in(client, "alice", WRONG, ip=f"10.0.1.{n}").status_code == 200
    response = sign_in(client, "alice", PASSWORD, ip="10.0.1.99")
    assert response.status_code == 429
    assert (
        b"Too many failed sign-ins for this account. Try again in 15 minutes or reset your "
        b"password." in response.content
    )
    assert "_auth_user_id" not in client.session
    throttled = AuditEvent.objects.get(action=AuditAction.LOGIN_THROTTLED)
    assert throttled.after == {"username": "alice"}
    # Refused without checking the password: no further failure was recorded.
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 5


def test_one_address_failing_on_many_accounts_is_throttled(client: Client, world: World) -> None:
    for name in ["adam", "bianca", "paul", "carl", "april"]:
        sign_in(client, name, WRONG, ip="192.0.2.7")
    response = sign_in(client, "otto", PASSWORD, ip="192.0.2.7")
    assert response.status_code == 429
    assert b"Too many failed sign-ins from your network" in response.content
    # Another address is not affected.
    assert sign_in(Client(), "otto", PASSWORD, ip="192.0.2.8").status_code == 302


def test_a_successful_sign_in_clears_the_account_counter(client: Client, world: World) -> None:
    for n in range(4):
        sign_in(client, "alice", WRONG, ip=f"10.0.2.{n}")
    assert sign_in(client, "alice", PASSWORD, ip="10.0.2.50").status_code == 302
    other = Client()
    for n in range(4):
        sign_in(other, "alice", WRONG, ip=f"10.0.3.{n}")
    # Four new failures after the clear: still under the limit of five.
    assert sign_in(other, "alice", PASSWORD, ip="10.0.3.50").status_code == 302


def test_the_throttle_message_is_translated(client: Client, world: World) -> None:
    for n in range(5):
        sign_in(client, "alice", WRONG, ip=f"10.0.4.{n}")
    client.cookies["django_language"] = "ko"
    response = sign_in(client, "alice", PASSWORD, ip="10.0.4.9")
    assert response.status_code == 429
    assert "로그인 실패가 너무 많습니다" in response.content.decode()


def test_the_admin_sign_in_is_throttled_too(client: Client, world: World) -> None:
    for n in range(5):
        client.post(
            "/ops/admin/login/", {"username": "alice", "password": WRONG}, REMOTE_ADDR=f"10.0.5.{n}"
        )
    response = client.post(
        "/ops/admin/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.5.9"
    )
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_sign_out_is_post_only(client: Client, world: World) -> None:
    client.force_login(world.alice)
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=world.alice).exists()


def test_password_reset_sends_a_link_that_sets_a_new_password(client: Client, world: World) -> None:
    response = client.post("/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/sent/"
    assert client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Reset your Greenroom password"
    assert "Hello alice," in message.body
    link = re.search(r"http://testserver(/password/reset/\S+/\S+/)", str(message.body))
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form_page.content
    new_password = "a brand new passphrase 42"
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/complete/"
    world.alice.refresh_from_db()
    assert world.alice.check_password(new_password)
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert event.after == {"how": "reset"}
    assert new_password not in str(event.after)


def test_password_reset_for_an_unknown_address_says_the_same(client: Client, world: World) -> None:
    response = client.post("/password/reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/password/reset/sent/"
    assert mail.outbox == []


def test_a_bad_reset_link_explains_itself(client: Client, world: World) -> None:
    response = client.get("/password/reset/MQ/not-a-token/")
    assert response.status_code == 200
    assert b"This link no longer works" in response.content


def test_password_change_requires_sign_in(client: Client, world: World) -> None:
    response = client.get("/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_password_change_goes_through_an_action(client: Client, world: World) -> None:
    client.force_login(world.alice)
    new_password = "another long passphrase 7"
    response = client.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert response["Location"] == "/password/change/done/"
    world.alice.refresh_from_db()
    assert world.alice.check_password(new_password)
    assert AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED).after == {"how": "changed"}
    # Still signed in in this browser.
    assert client.get("/").status_code == 200
