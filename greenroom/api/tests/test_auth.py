"""Tokens and sessions: who gets in, as whom, in which organisation, and with which scope."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.core import actions
from greenroom.core.models import ApiToken, AuditEvent
from greenroom.core.permissions import Role

from .conftest import bearer, call, make_token


def test_it_requires_credentials(db):
    response = Client().get("/api/brands")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_rejects_an_unknown_token(world):
    response = bearer("grn_" + "x" * 43).get("/api/brands")
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_it_rejects_something_that_is_not_a_greenroom_token(world):
    for header in ["Bearer", "Bearer ", "Bearer ghp_abcdef", "Bearer " + "grn_" * 5000]:
        response = Client(HTTP_AUTHORIZATION=header).get("/api/brands")
        assert response.status_code == 401, header
        assert response.json()["detail"]


def test_another_scheme_is_not_authentication(world):
    response = Client(HTTP_AUTHORIZATION="Basic YWxpY2U6cGFzc3dvcmQ=").get("/api/brands")
    assert response.status_code == 401


def test_a_revoked_token_stops_working(world):
    token, plaintext = make_token(world, "alice")
    client = bearer(plaintext)
    assert client.get("/api/brands").status_code == 200
    actions.do_revoke_api_token(token, acting_user=world.alice)
    response = client.get("/api/brands")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_an_expired_token_stops_working(world):
    token, plaintext = make_token(world, "alice", expires_at=timezone.now() + timedelta(hours=1))
    client = bearer(plaintext)
    assert client.get("/api/brands").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/brands")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_deactivated_members_token_stops_working(world):
    _, plaintext = make_token(world, "paul")
    membership = world.paul.memberships.get(organization=world.acme)
    actions.do_deactivate_membership(membership, acting_user=world.alice)
    response = bearer(plaintext).get("/api/channels")
    assert response.status_code == 401
    assert "no longer an active member" in response.json()["detail"]


def test_a_disabled_accounts_token_stops_working(world):
    _, plaintext = make_token(world, "paul")
    world.paul.is_active = False
    world.paul.save()
    assert bearer(plaintext).get("/api/channels").status_code == 401


def test_a_read_token_cannot_write(world):
    _, plaintext = make_token(world, "alice", scopes=("read",))
    client = bearer(plaintext)
    assert client.get("/api/brands").status_code == 200
    before = AuditEvent.objects.count()
    for method, path, body in [
        ("POST", "/api/brands", {"name": "Juice"}),
        ("PATCH", f"/api/channels/{world.coffee_x.pk}", {"region": "KR"}),
        ("POST", "/api/tokens", {"name": "more", "scopes": ["read"]}),
        ("DELETE", f"/api/channels/{world.coffee_x.pk}/grants/1", None),
    ]:
        response = call(client, method, path, body)
        assert response.status_code == 403, (method, path)
        assert response.json() == {
            "detail": "This token has the read scope only; create a token with the write scope."
        }
    assert AuditEvent.objects.count() == before


def test_a_write_only_token_cannot_read(world):
    _, plaintext = make_token(world, "alice", scopes=("write",))
    client = bearer(plaintext)
    response = client.get("/api/brands")
    assert response.status_code == 403
    assert "write scope only" in response.json()["detail"]
    response = call(client, "POST", "/api/brands", {"name": "Juice"})
    assert response.status_code == 201


def test_last_used_is_written_at_most_once_a_minute(world):
    token, plaintext = make_token(world, "alice")
    client = bearer(plaintext)
    client.get("/api/brands")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/brands")
    token.refresh_from_db()
    assert token.last_used_at == first

    a_while_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=a_while_ago)
    client.get("/api/brands")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > a_while_ago


def test_a_token_is_bound_to_its_organisation(world):
    # alice also joins Globex; her Acme token still sees Acme only.
    actions.do_add_member(world.globex, world.alice, Role.ADMIN, acting_user=world.gina)
    _, plaintext = make_token(world, "alice")
    client = bearer(plaintext)
    assert client.get("/api/organization").json()["name"] == "Acme"
    assert client.get(f"/api/channels/{world.globex_x.pk}").status_code == 404
    handles = {c["handle"] for c in client.get("/api/channels").json()["items"]}
    assert "@globex" not in handles
    response = call(client, "PATCH", f"/api/channels/{world.globex_x.pk}", {"region": "KR"})
    assert response.status_code == 404

    _, globex_plaintext = make_token(world, "alice", org=world.globex)
    globex = bearer(globex_plaintext)
    assert globex.get("/api/organization").json()["name"] == "Globex"
    assert globex.get(f"/api/channels/{world.globex_x.pk}").status_code == 200
    assert globex.get(f"/api/channels/{world.coffee_x.pk}").status_code == 404


def test_a_signed_in_session_works_in_the_current_organisation(world):
    client = Client()
    client.force_login(world.bianca)
    assert client.get("/api/organization").json()["your_role"] == Role.BRAND_MANAGER
    handles = {c["handle"] for c in client.get("/api/channels").json()["items"]}
    assert handles == {"@acmecoffee", "acme.coffee"}


def test_a_session_write_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    response = call(client, "POST", "/api/brands", {"name": "Juice"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]

    csrf = "k" * 32  # a CSRF secret, as the cookie a page set would hold
    client.cookies["csrftoken"] = csrf
    response = client.post(
        "/api/brands",
        {"name": "Juice"},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.actor, event.after["name"]) == (
        "brand.created",
        world.alice,
        "Juice",
    )


def test_a_session_without_an_organisation_is_refused(world):
    client = Client()
    client.force_login(world.charlie)
    response = client.get("/api/brands")
    assert response.status_code == 403
    assert "no organisation" in response.json()["detail"]


def test_a_token_wins_over_a_session(world):
    _, plaintext = make_token(world, "gina")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    client.force_login(world.alice)
    assert client.get("/api/organization").json()["name"] == "Globex"


def test_a_bad_token_is_not_rescued_by_a_session(world):
    client = Client(HTTP_AUTHORIZATION="Bearer grn_nope")
    client.force_login(world.alice)
    assert client.get("/api/organization").status_code == 401
